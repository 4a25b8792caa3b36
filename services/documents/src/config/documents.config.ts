import { BaseServiceConfig } from '@lienthong/common';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, Min, MinLength, ValidateIf } from 'class-validator';

const emptyIsUnset = ({ value }: { value: unknown }) => (value === '' ? undefined : value);
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
}
