import { BaseServiceConfig } from '@lienthong/common';
import { Transform } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';

const toInt = ({ value }: { value: unknown }) => (typeof value === 'string' ? Number(value) : value);
const toBool = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? value === 'true' || value === '1' : value;

/** Environment of the audit service (API.md, Configuration). Validated once at boot. */
export class AuditConfig extends BaseServiceConfig {
  /** Production never generates the checkpoint signing key (see loadConfig). */
  static readonly PRODUCTION_SECRETS = [['AUDIT_SIGNING_KEY_FILE', 'AUDIT_SIGNING_KEY']];
  override PORT = 3004;
  override DB_SCHEMA = 'audit';

  /** Origin line of signed checkpoints; `lienthong/<NODE_ID>` unless set. */
  @IsOptional()
  @IsString()
  @MaxLength(200)
  @Matches(/^[^\n]+$/, { message: 'AUDIT_LOG_ORIGIN must be one line' })
  AUDIT_LOG_ORIGIN?: string;

  /** Sign a checkpoint once this many entries were appended since the last one. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(10_000_000)
  AUDIT_CHECKPOINT_EVERY: number = 1000;

  /** …or after this long when anything was appended. */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(86_400_000)
  AUDIT_CHECKPOINT_INTERVAL_MS: number = 60_000;

  /** Ed25519 private key (PKCS#8 PEM) in a file, or inline; unset = generated once and kept in the database. */
  @IsOptional()
  @IsString()
  AUDIT_SIGNING_KEY_FILE?: string;

  @IsOptional()
  @IsString()
  AUDIT_SIGNING_KEY?: string;

  /** Events appended per transaction at most. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(5000)
  AUDIT_BATCH_SIZE: number = 500;

  /** Off for read-only replicas (they still serve queries and proofs). */
  @Transform(toBool)
  @IsBoolean()
  AUDIT_INTAKE_ENABLED: boolean = true;

  /** Witness other nodes' checkpoints (`Subjects.witnessSubmitted()`); meaningful on the central node. */
  @Transform(toBool)
  @IsBoolean()
  AUDIT_WITNESS_ENABLED: boolean = true;

  /** Name this witness signs as (`witness` of the cosigned events); the audit origin unless set. */
  @IsOptional()
  @IsString()
  @MaxLength(200)
  @Matches(/^[^\n=,]+$/, { message: 'AUDIT_WITNESS_NAME must be one line without "=" or ","' })
  AUDIT_WITNESS_NAME?: string;

  /** Witnesses' public keys to verify their cosignatures: `name=<base64 raw Ed25519 key>,…` (a name may repeat). */
  @IsOptional()
  @Matches(/^([^\n=,]+=[A-Za-z0-9+/]{43}=)(,[^\n=,]+=[A-Za-z0-9+/]{43}=)*$/, {
    message: 'AUDIT_WITNESS_PUBLIC_KEYS must be name=<base64 raw Ed25519 key>[,…]',
  })
  AUDIT_WITNESS_PUBLIC_KEYS?: string;

  get witnessName(): string {
    return this.AUDIT_WITNESS_NAME ?? this.auditOrigin;
  }

  /** AUDIT_WITNESS_PUBLIC_KEYS as name → raw keys (base64). */
  get witnessPublicKeys(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const entry of (this.AUDIT_WITNESS_PUBLIC_KEYS ?? '').split(',').filter(Boolean)) {
      const i = entry.indexOf('=');
      const name = entry.slice(0, i).trim();
      out.set(name, [...(out.get(name) ?? []), entry.slice(i + 1).trim()]);
    }
    return out;
  }

  get auditOrigin(): string {
    return this.AUDIT_LOG_ORIGIN ?? `lienthong/${this.NODE_ID}`;
  }
}
