import { Init1763800000000 } from './1763800000000-Init';
import { IdentityTables1763900000000 } from './1763900000000-IdentityTables';
import { DirectoryReplication1764000000000 } from './1764000000000-DirectoryReplication';
import { SessionAccessTokens1764500000000 } from './1764500000000-SessionAccessTokens';
import { TotpLastStep1766400000000 } from './1766400000000-TotpLastStep';
import { OutboxEnvelopeText1766600000003 } from './1766600000003-OutboxEnvelopeText';

/** In order of application. */
export const migrations = [
  Init1763800000000,
  IdentityTables1763900000000,
  DirectoryReplication1764000000000,
  SessionAccessTokens1764500000000,
  TotpLastStep1766400000000,
  OutboxEnvelopeText1766600000003,
];
