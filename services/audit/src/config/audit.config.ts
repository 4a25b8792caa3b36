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

  /**
   * Ed25519 private key (PKCS#8 PEM) in a file, or inline; unset = generated once and kept in the database
   * (development only: refused with NODE_ENV=production).
   */
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

  /** SOC feed: `tcp://host:port` or `tls://host:port` of an RFC 5424 syslog collector; unset = no feed. */
  @IsOptional()
  @Matches(/^(tcp|tls):\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, {
    message: 'SOC_SYSLOG_URL must be tcp://host:port or tls://host:port',
  })
  SOC_SYSLOG_URL?: string;

  /** PEM file of the CA(s) that sign the collector's certificate (tls://); the system's CAs when unset. */
  @IsOptional()
  @IsString()
  SOC_SYSLOG_CA_FILE?: string;

  /** HOSTNAME field of the syslog messages; the machine's host name when unset. */
  @IsOptional()
  @Matches(/^[!-~]{1,255}$/, { message: 'SOC_SYSLOG_HOSTNAME must be printable ASCII without spaces' })
  SOC_SYSLOG_HOSTNAME?: string;

  /** Syslog facility (RFC 5424 §6.2.1); 13 = log audit. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(23)
  SOC_SYSLOG_FACILITY: number = 13;

  /** Longest wait between reconnection attempts while the collector is down. */
  @Transform(toInt)
  @IsInt()
  @Min(50)
  @Max(300_000)
  SOC_SYSLOG_RETRY_MAX_MS: number = 30_000;

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
