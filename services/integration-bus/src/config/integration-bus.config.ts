import { BaseServiceConfig } from '@lienthong/common';

/** Environment of the integration-bus service (API.md, Configuration). Validated once at boot. */
export class IntegrationBusConfig extends BaseServiceConfig {
  override PORT = 3003;
  override DB_SCHEMA = 'bus';
}
