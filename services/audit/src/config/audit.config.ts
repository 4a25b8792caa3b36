import { BaseServiceConfig } from '@lienthong/common';

/** Environment of the audit service (API.md, Configuration). Validated once at boot. */
export class AuditConfig extends BaseServiceConfig {
  override PORT = 3004;
  override DB_SCHEMA = 'audit';
}
