import { Init1763800000000 } from './1763800000000-Init';

/** In order of application. */
export const migrations = [Init1763800000000];
