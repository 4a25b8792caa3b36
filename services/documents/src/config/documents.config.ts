import { BaseServiceConfig } from '@lienthong/common';
import { Transform } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsString, Max, Min, MinLength, ValidateIf } from 'class-validator';

const emptyIsUnset = ({ value }: { value: unknown }) => (value === '' ? undefined : value);
const toInt = ({ value }: { value: unknown }) => (typeof value === 'string' ? Number(value) : value);
const toBool = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? ['1', 'true', 'yes'].includes(value.toLowerCase()) : value;

/** Environment of the documents service (API.md, Configuration). Validated once at boot. */
export class DocumentsConfig extends BaseServiceConfig {
  override PORT = 3002;
  override DB_SCHEMA = 'documents';

  /** PEM file of CA certificates trusted for document signatures; unset = nothing is trusted. */
  @IsOptional()
  @IsString()
  @MinLength(1)
  TRUST_ANCHORS?: string;

  /**
   * Comma-separated paths of CRL files (PEM `X509 CRL` blocks or one DER CRL each). A certificate listed by
   * a CRL its issuer signed is not trusted. Read at boot; a file without a CRL stops the boot.
   */
  @IsOptional()
  @IsString()
  TRUST_CRLS?: string;

  /** Wall-clock limit of one file's signature verification (in a worker thread). */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(600_000)
  SIGNATURE_TIME_LIMIT_MS: number = 10_000;

  /** A PDF with more signature dictionaries than this is reported with a problem, none verified. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  SIGNATURE_MAX_COUNT: number = 20;

  /** Worker threads verifying signatures (each holds at most one file at a time). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(16)
  SIGNATURE_WORKERS: number = 1;

  /** Root of the filesystem attachment store (content-addressed by SHA-256). */
  @IsString()
  @MinLength(1)
  ATTACHMENTS_DIR: string = '.data/attachments';

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(4 * 1024 * 1024 * 1024)
  ATTACHMENT_MAX_BYTES: number = 50 * 1024 * 1024;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  GRPC_PORT: number = 50052;

  /**
   * TLS for gRPC: the server certificate chain and its private key (PEM text or a file path). Both or none;
   * required with NODE_ENV=production (tokens travel in gRPC metadata).
   */
  @Transform(emptyIsUnset)
  @ValidateIf((c: DocumentsConfig) => c.NODE_ENV === 'production' || c.GRPC_TLS_KEY !== undefined)
  @IsString({ message: 'GRPC_TLS_CERT is required with GRPC_TLS_KEY and with NODE_ENV=production' })
  @MinLength(1)
  GRPC_TLS_CERT?: string;

  @Transform(emptyIsUnset)
  @ValidateIf((c: DocumentsConfig) => c.NODE_ENV === 'production' || c.GRPC_TLS_CERT !== undefined)
  @IsString({ message: 'GRPC_TLS_KEY is required with GRPC_TLS_CERT and with NODE_ENV=production' })
  @MinLength(1)
  GRPC_TLS_KEY?: string;

  /**
   * Webhook URLs must be https with NODE_ENV=production; `true` allows http there too (e.g. receivers on a
   * private network). Outside production http is always allowed.
   */
  @Transform(toBool)
  @IsBoolean()
  SUBSCRIPTIONS_ALLOW_HTTP: boolean = false;

  /**
   * Key that encrypts webhook secrets at rest (AES-256-GCM; any string of at least 32 characters, hashed to
   * the key). Unset = secrets are stored as they are. Changing it makes stored secrets unreadable.
   */
  @Transform(emptyIsUnset)
  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'SUBSCRIPTIONS_SECRET_KEY must have at least 32 characters' })
  SUBSCRIPTIONS_SECRET_KEY?: string;

  /** Whether this process delivers webhooks (every replica may; they share the work). */
  @Transform(toBool)
  @IsBoolean()
  SUBSCRIPTIONS_DISPATCHER: boolean = true;

  /** Subscriptions delivered at once by this process (each one in order, one request at a time). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(256)
  SUBSCRIPTIONS_CONCURRENCY: number = 8;

  /** Time limit of one webhook request (connect, answer). */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(120_000)
  SUBSCRIPTIONS_TIMEOUT_MS: number = 10_000;

  /** First retry delay after a failed delivery; doubled each failure (with jitter) up to the cap. */
  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(3_600_000)
  SUBSCRIPTIONS_RETRY_BASE_MS: number = 1000;

  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(86_400_000)
  SUBSCRIPTIONS_RETRY_MAX_MS: number = 600_000;

  /** Fallback poll of the feed (a commit that writes feed rows wakes the dispatchers at once). */
  @Transform(toInt)
  @IsInt()
  @Min(50)
  @Max(60_000)
  SUBSCRIPTIONS_POLL_MS: number = 1000;

  /** Feed events and delivery attempts older than this are pruned (a subscriber further behind misses them). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(3650)
  FEED_RETENTION_DAYS: number = 30;
}
