import { BaseServiceConfig } from '@lienthong/common';
import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateBy,
  ValidateIf,
} from 'class-validator';
import { AddressAllowList } from '../subscriptions/webhook-address';

const emptyIsUnset = ({ value }: { value: unknown }) => (value === '' ? undefined : value);
const toBool = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? ['1', 'true', 'yes'].includes(value.toLowerCase()) : value;
const toInt = ({ value }: { value: unknown }) => (typeof value === 'string' ? Number(value) : value);

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

  /**
   * Where attachment bytes are kept: `file` (the default: a directory, ATTACHMENTS_DIR) or an S3-compatible
   * bucket `s3://bucket[/prefix]` (S3_ENDPOINT, S3_REGION, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY).
   */
  @Transform(emptyIsUnset)
  @Matches(/^(file|s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?)$/, {
    message: 'ATTACHMENTS_STORE must be "file" or s3://bucket[/prefix]',
  })
  ATTACHMENTS_STORE: string = 'file';

  /** Root of the filesystem attachment store (content-addressed by SHA-256). */
  @IsString()
  @MinLength(1)
  ATTACHMENTS_DIR: string = '.data/attachments';

  /** S3 API endpoint, e.g. http://minio:9000 (unset: AWS S3 of S3_REGION). */
  @Transform(emptyIsUnset)
  @IsOptional()
  @Matches(/^https?:\/\/[^/\s]+\/?$/, { message: 'S3_ENDPOINT must be http(s)://host[:port]' })
  S3_ENDPOINT?: string;

  @IsString()
  @MinLength(1)
  S3_REGION: string = 'us-east-1';

  @Transform(emptyIsUnset)
  @ValidateIf((c: DocumentsConfig) => c.ATTACHMENTS_STORE.startsWith('s3://'))
  @IsString({ message: 'S3_ACCESS_KEY_ID is required with an s3:// ATTACHMENTS_STORE' })
  @MinLength(1)
  S3_ACCESS_KEY_ID?: string;

  @Transform(emptyIsUnset)
  @ValidateIf((c: DocumentsConfig) => c.ATTACHMENTS_STORE.startsWith('s3://'))
  @IsString({ message: 'S3_SECRET_ACCESS_KEY is required with an s3:// ATTACHMENTS_STORE' })
  @MinLength(1)
  S3_SECRET_ACCESS_KEY?: string;

  /** Path-style URLs (http://host/bucket/key), as MinIO expects; false = virtual-hosted (bucket.host). */
  @Transform(toBool)
  @IsBoolean()
  S3_FORCE_PATH_STYLE: boolean = true;

  /** Bodies above this go up as a multipart upload of parts this size (one part in memory at a time). */
  @Transform(toInt)
  @IsInt()
  @Min(5 * 1024 * 1024)
  @Max(512 * 1024 * 1024)
  S3_PART_SIZE: number = 16 * 1024 * 1024;

  /** Where uploads to the S3 store are staged while they are hashed (default: <tmpdir>/lienthong-staging). */
  @Transform(emptyIsUnset)
  @IsOptional()
  @IsString()
  @MinLength(1)
  ATTACHMENTS_STAGING_DIR?: string;

  /**
   * Largest attachment accepted, in bytes (413 ATTACHMENT_TOO_LARGE above it). The default is 50 MiB;
   * uploads are streamed end to end, so larger limits (e.g. 268435456 for 256 MiB) cost disk, not memory.
   */
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
   * Webhooks go only to public addresses (SSRF guard, `webhook-address.ts`). This lets an operator allow
   * more: `true` = any address, or comma-separated networks (`10.20.0.0/16,fd00:1::/64`, a bare address = one
   * host). Unset / `false` = public addresses only.
   */
  @Transform(emptyIsUnset)
  @IsOptional()
  @IsString()
  @ValidateBy({
    name: 'isAllowList',
    validator: {
      validate: (value: unknown) => {
        try {
          AddressAllowList.parse(value as string);
          return true;
        } catch {
          return false;
        }
      },
      defaultMessage: () =>
        'SUBSCRIPTIONS_ALLOW_PRIVATE must be true, false or comma-separated IP networks (e.g. 10.20.0.0/16,fd00::/8)',
    },
  })
  SUBSCRIPTIONS_ALLOW_PRIVATE?: string;

  /**
   * CA certificates (PEM text or a file path) trusted for webhook receivers' TLS certificates besides the
   * system's (e.g. receivers on a private network with an internal CA).
   */
  @Transform(emptyIsUnset)
  @IsOptional()
  @IsString()
  @MinLength(1)
  SUBSCRIPTIONS_TLS_CA?: string;

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
