import { Init1763800000000 } from './1763800000000-Init';
import { AuditLog1763900000000 } from './1763900000000-AuditLog';
import { Witness1764400000000 } from './1764400000000-Witness';
import { ProtectKeysAndHead1764600000000 } from './1764600000000-ProtectKeysAndHead';
import { AppendCost1766600000000 } from './1766600000000-AppendCost';
import { OutboxEnvelopeText1766600000004 } from './1766600000004-OutboxEnvelopeText';
import { ScopeHashes1766700000000 } from './1766700000000-ScopeHashes';

/** In order of application. */
export const migrations = [
  Init1763800000000,
  AuditLog1763900000000,
  Witness1764400000000,
  ProtectKeysAndHead1764600000000,
  AppendCost1766600000000,
  OutboxEnvelopeText1766600000004,
  ScopeHashes1766700000000,
];
