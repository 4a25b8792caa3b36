import { BaseServiceConfig } from '@lienthong/common';

/** Environment of the documents service (API.md, Configuration). Validated once at boot. */
export class DocumentsConfig extends BaseServiceConfig {
  override PORT = 3002;
  override DB_SCHEMA = 'documents';
}
