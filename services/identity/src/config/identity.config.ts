import { BaseServiceConfig } from '@lienthong/common';

/** Environment of the identity service (API.md, Configuration). Validated once at boot. */
export class IdentityConfig extends BaseServiceConfig {
  override PORT = 3001;
  override DB_SCHEMA = 'identity';
}
