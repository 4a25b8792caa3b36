import { BaseServiceConfig } from '@lienthong/common';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, IsString, IsUrl, Matches, Max, MaxLength, Min } from 'class-validator';

const toInt = ({ value }: { value: unknown }) => (typeof value === 'string' ? Number(value) : value);

/** Environment of the integration-bus service (API.md, Configuration). Validated once at boot. */
export class IntegrationBusConfig extends BaseServiceConfig {
  override PORT = 3003;
  override DB_SCHEMA = 'bus';

  /** The national axis (NATIONAL-AXIS.md); unset = no national route. */
  @IsOptional() @IsUrl({ require_tld: false, protocols: ['http', 'https'] })
  NATIONAL_AXIS_URL?: string;

  @IsOptional() @Matches(/^[0-9A-Z]+(\.[0-9A-Z]+)*$/, { message: 'NATIONAL_AXIS_SYSTEM_ID must be an organization code' })
  @MaxLength(35)
  NATIONAL_AXIS_SYSTEM_ID?: string;

  @IsOptional() @IsString() @MaxLength(512)
  NATIONAL_AXIS_SECRET?: string;

  @Transform(toInt) @IsInt() @Min(100) @Max(3_600_000)
  NATIONAL_AXIS_POLL_MS: number = 10_000;

  @Transform(toInt) @IsInt() @Min(100) @Max(120_000)
  NATIONAL_AXIS_TIMEOUT_MS: number = 15_000;

  /** Node certificate and key (PEM text or a file path); generated when unset. */
  @IsOptional() @IsString() NODE_CERT_PEM?: string;
  @IsOptional() @IsString() NODE_CERT_PEM_FILE?: string;
  @IsOptional() @IsString() NODE_KEY_PEM?: string;
  @IsOptional() @IsString() NODE_KEY_PEM_FILE?: string;

  /** PEM file of the node certificates trusted for federation packages (or the PEM text itself). */
  @IsOptional() @IsString()
  TRUSTED_NODE_CERTS?: string;

  @Transform(toInt) @IsInt() @Min(1024) @Max(512 * 1024 * 1024)
  EDXML_MAX_BYTES: number = 64 * 1024 * 1024;

  @Transform(toInt) @IsInt() @Min(1) @Max(100)
  EXCHANGE_MAX_ATTEMPTS: number = 10;

  @Transform(toInt) @IsInt() @Min(1000) @Max(90 * 24 * 3_600_000)
  EXCHANGE_TTL_MS: number = 3 * 24 * 3_600_000;

  /** First retry delay; doubles per attempt (with jitter) up to EXCHANGE_RETRY_MAX_MS. */
  @Transform(toInt) @IsInt() @Min(10) @Max(3_600_000)
  EXCHANGE_RETRY_BASE_MS: number = 5_000;

  @Transform(toInt) @IsInt() @Min(10) @Max(24 * 3_600_000)
  EXCHANGE_RETRY_MAX_MS: number = 15 * 60_000;

  @Transform(toInt) @IsInt() @Min(10) @Max(60_000)
  EXCHANGE_SCHEDULER_MS: number = 1_000;

  get nationalAxisEnabled(): boolean {
    return !!(this.NATIONAL_AXIS_URL && this.NATIONAL_AXIS_SYSTEM_ID && this.NATIONAL_AXIS_SECRET);
  }
}
