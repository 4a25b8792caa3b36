import { Init1763800000000 } from './1763800000000-Init';
import { Exchanges1764000000000 } from './1764000000000-Exchanges';

/** In order of application. */
export const migrations = [Init1763800000000, Exchanges1764000000000];
