import { Init1763800000000 } from './1763800000000-Init';
import { Documents1763900000000 } from './1763900000000-Documents';
import { DocumentNumberUnique1764500000000 } from './1764500000000-DocumentNumberUnique';

/** In order of application. */
export const migrations = [Init1763800000000, Documents1763900000000, DocumentNumberUnique1764500000000];
