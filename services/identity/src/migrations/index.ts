import { Init1763800000000 } from './1763800000000-Init';
import { IdentityTables1763900000000 } from './1763900000000-IdentityTables';

/** In order of application. */
export const migrations = [Init1763800000000, IdentityTables1763900000000];
