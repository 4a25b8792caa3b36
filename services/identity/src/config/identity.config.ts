import { BaseServiceConfig } from '@lienthong/common';
import { ORGANIZATION_CODE_PATTERN } from '@lienthong/contracts';
import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';

const toInt = ({ value }: { value: unknown }) => (typeof value === 'string' ? Number(value) : value);

const PROXY_ENTRY = String.raw`(?:loopback|linklocal|uniquelocal|[0-9A-Fa-f.:]+(?:\/\d{1,3})?)`;
const TRUSTED_PROXIES_PATTERN = new RegExp(`^\\s*${PROXY_ENTRY}(?:\\s*,\\s*${PROXY_ENTRY})*\\s*$`);

/** Environment of the identity service (API.md, Configuration). Validated once at boot. */
export class IdentityConfig extends BaseServiceConfig {
  override PORT = 3001;
  override DB_SCHEMA = 'identity';

  static readonly PRODUCTION_SECRETS = [['KEY_ENCRYPTION_KEY']];
  /** Each may come from a file instead: KEY_ENCRYPTION_KEY_FILE, ADMIN_PASSWORD_FILE (loadConfig reads them). */
  static readonly FILE_SECRETS = ['KEY_ENCRYPTION_KEY', 'ADMIN_PASSWORD'];

  /** Password of the bootstrap `admin` (or from ADMIN_PASSWORD_FILE); generated and printed once when unset. */
  @IsOptional()
  @IsString()
  @MinLength(12)
  ADMIN_PASSWORD?: string;

  @Matches(ORGANIZATION_CODE_PATTERN)
  @MaxLength(35)
  ROOT_ORG_CODE: string = '000.00.00.G01';

  @IsString()
  @MinLength(1)
  @MaxLength(300)
  ROOT_ORG_NAME: string = 'Cơ quan gốc';

  /**
   * 32 bytes, base64 or hex (or in the file KEY_ENCRYPTION_KEY_FILE): encrypts signing keys and TOTP secrets at
   * rest (AES-256-GCM).
   */
  @IsOptional()
  @Matches(/^([0-9a-fA-F]{64}|[A-Za-z0-9+/_-]{43}=?)$/, {
    message: 'KEY_ENCRYPTION_KEY must be 32 bytes, hex or base64',
  })
  KEY_ENCRYPTION_KEY?: string;

  /** A file holding KEY_ENCRYPTION_KEY (read by loadConfig; KEY_ENCRYPTION_KEY itself wins when both are set). */
  @IsOptional()
  @IsString()
  KEY_ENCRYPTION_KEY_FILE?: string;

  /** A file holding ADMIN_PASSWORD (read by loadConfig; ADMIN_PASSWORD itself wins when both are set). */
  @IsOptional()
  @IsString()
  ADMIN_PASSWORD_FILE?: string;

  @IsIn(['RS256', 'PS256', 'ES256'])
  SIGNING_ALG: 'RS256' | 'PS256' | 'ES256' = 'RS256';

  @Transform(toInt)
  @IsInt()
  @Min(60)
  @Max(86400)
  ACCESS_TOKEN_TTL_SECONDS = 900;

  @Transform(toInt)
  @IsInt()
  @Min(300)
  @Max(90 * 86400)
  REFRESH_TOKEN_TTL_SECONDS = 8 * 3600;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(3650)
  KEY_ROTATION_DAYS = 30;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100)
  LOCKOUT_MAX_FAILURES = 5;

  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(86400)
  LOCKOUT_WINDOW_SECONDS = 900;

  /** First lock lasts this long; each further lock doubles it (capped at LOCKOUT_MAX_SECONDS). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(86400)
  LOCKOUT_BASE_SECONDS = 300;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(7 * 86400)
  LOCKOUT_MAX_SECONDS = 86400;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(3600)
  TOKEN_RATE_LIMIT_WINDOW_SECONDS = 60;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  TOKEN_RATE_LIMIT_PER_IP = 300;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  TOKEN_RATE_LIMIT_PER_USERNAME = 20;

  /**
   * Reverse proxies (the console on port 3000, an ingress) whose `X-Forwarded-For` names the client: comma-
   * separated IPs, CIDRs or `loopback`/`linklocal`/`uniquelocal`. The token throttle then counts per client
   * address instead of per proxy. Unset: the peer address is the client.
   */
  @IsOptional()
  @Matches(TRUSTED_PROXIES_PATTERN, {
    message: 'TRUSTED_PROXIES must be comma-separated IPs, CIDRs, loopback, linklocal or uniquelocal',
  })
  TRUSTED_PROXIES?: string;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(30 * 86400)
  CLIENT_SECRET_GRACE_SECONDS = 86400;

  /** argon2id cost (OWASP minimum: 19 MiB, 2 iterations); tests lower it. */
  @Transform(toInt)
  @IsInt()
  @Min(8)
  @Max(4 * 1024 * 1024)
  PASSWORD_HASH_MEMORY_KIB = 19456;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(20)
  PASSWORD_HASH_ITERATIONS = 2;

  /**
   * JetStream domain of the central (authoritative) node, e.g. `central`. Unset: this node is authoritative
   * for the organization directory. Set: this node replicates the directory from that domain and refuses
   * organization writes (README, "Directory replication").
   */
  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]{1,64}$/, { message: 'DIRECTORY_UPSTREAM_DOMAIN must be a JetStream domain name' })
  DIRECTORY_UPSTREAM_DOMAIN?: string;

  /** Express `trust proxy` value for TRUSTED_PROXIES (false: trust no proxy). */
  get trustProxy(): string[] | false {
    if (!this.TRUSTED_PROXIES) return false;
    return this.TRUSTED_PROXIES.split(',').map((s) => s.trim());
  }

  /** True when the organization directory is replicated from another node (read-only here). */
  get directoryReplica(): boolean {
    return !!this.DIRECTORY_UPSTREAM_DOMAIN;
  }
}
