import { BaseServiceConfig } from '@lienthong/common';
import { ORGANIZATION_CODE_PATTERN } from '@lienthong/contracts';
import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';

const toInt = ({ value }: { value: unknown }) => (typeof value === 'string' ? Number(value) : value);

/** Environment of the identity service (API.md, Configuration). Validated once at boot. */
export class IdentityConfig extends BaseServiceConfig {
  override PORT = 3001;
  override DB_SCHEMA = 'identity';

  /** Password of the bootstrap `admin`; generated and printed once when unset. */
  @IsOptional() @IsString() @MinLength(12)
  ADMIN_PASSWORD?: string;

  @Matches(ORGANIZATION_CODE_PATTERN) @MaxLength(35)
  ROOT_ORG_CODE = '000.00.00.A01';

  @IsString() @MinLength(1)
  ROOT_ORG_NAME = 'Văn phòng Trung ương Đảng';

  /** Public base URL announced in openid-configuration (default http://127.0.0.1:<PORT>). */
  @IsOptional() @IsString()
  PUBLIC_URL?: string;

  /** 32 bytes (base64 or hex, or any passphrase ≥ 32 chars) that encrypts signing keys at rest. */
  @IsOptional() @IsString() @MinLength(32)
  KEY_ENCRYPTION_KEY?: string;

  @IsIn(['RS256', 'PS256', 'ES256'])
  SIGNING_ALG = 'RS256';

  @Transform(toInt) @IsInt() @Min(60) @Max(86400)
  ACCESS_TOKEN_TTL_SECONDS = 900;

  @Transform(toInt) @IsInt() @Min(300) @Max(90 * 86400)
  REFRESH_TOKEN_TTL_SECONDS = 8 * 3600;

  @Transform(toInt) @IsInt() @Min(1) @Max(365)
  KEY_ROTATION_DAYS = 30;

  @Transform(toInt) @IsInt() @Min(2) @Max(100)
  LOCKOUT_MAX_FAILURES = 5;

  @Transform(toInt) @IsInt() @Min(10) @Max(86400)
  LOCKOUT_WINDOW_SECONDS = 900;

  /** First lock lasts this long; each further lock doubles it (capped at a day). */
  @Transform(toInt) @IsInt() @Min(1) @Max(86400)
  LOCKOUT_BASE_SECONDS = 900;

  @Transform(toInt) @IsInt() @Min(1) @Max(100000)
  TOKEN_RATE_LIMIT_PER_IP = 120;

  @Transform(toInt) @IsInt() @Min(1) @Max(100000)
  TOKEN_RATE_LIMIT_PER_USERNAME = 30;

  @Transform(toInt) @IsInt() @Min(1) @Max(3600)
  TOKEN_RATE_LIMIT_WINDOW_SECONDS = 60;

  @Transform(toInt) @IsInt() @Min(0) @Max(30 * 86400)
  CLIENT_SECRET_GRACE_SECONDS = 86400;

  /** argon2id cost (memory KiB, passes); lower only in tests. */
  @Transform(toInt) @IsInt() @Min(1024) @Max(1024 * 1024)
  ARGON2_MEMORY_KIB = 19456;

  @Transform(toInt) @IsInt() @Min(1) @Max(10)
  ARGON2_PASSES = 2;
}
