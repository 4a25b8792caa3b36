import { Init1763800000000 } from './1763800000000-Init';
import { Identity1763900000000 } from './1763900000000-Identity';

/** In order of application. */
export const migrations = [Init1763800000000, Identity1763900000000];
