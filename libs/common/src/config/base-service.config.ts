import { Transform, Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, IsUrl, Matches, Max, Min } from 'class-validator';

const toInt = ({ value }: { value: unknown }) => (typeof value === 'string' ? Number(value) : value);

/** Settings every service shares. Each service extends it with its own keys. */
export class BaseServiceConfig {
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT!: number;

  @IsString()
  @IsOptional()
  HOST: string = '0.0.0.0';

  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL: string = 'postgres://postgres@127.0.0.1:5432/lienthong';

  /** PostgreSQL schema owned by this service (tests give each file its own). */
  @Matches(/^[a-z_][a-z0-9_]{0,62}$/, { message: 'DB_SCHEMA must be a lowercase SQL identifier' })
  DB_SCHEMA!: string;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(200)
  DB_POOL_SIZE: number = 10;

  @Matches(/^(nats|tls|ws|wss):\/\/.+/, { message: 'NATS_URL must be a nats:// URL' })
  NATS_URL: string = 'nats://127.0.0.1:4222';

  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(120000)
  NATS_REQUEST_TIMEOUT_MS: number = 5000;

  @Matches(/^[a-z0-9][a-z0-9-]{0,31}$/, { message: 'NODE_ID must be lowercase letters, digits and dashes' })
  NODE_ID: string = 'central';

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL: string = 'info';

  /** Where the identity service publishes its keys. */
  @IsUrl({ require_tld: false, protocols: ['http', 'https'] })
  JWKS_URL: string = 'http://127.0.0.1:3001/.well-known/jwks.json';

  @IsString()
  @IsOptional()
  JWT_ISSUER?: string;

  @IsString()
  JWT_AUDIENCE: string = 'lienthong';

  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(60000)
  OUTBOX_POLL_MS: number = 500;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(5000)
  OUTBOX_BATCH_SIZE: number = 500;

  @Transform(toInt)
  @IsInt()
  @Min(1024)
  @Max(1024 * 1024 * 1024)
  HTTP_BODY_LIMIT_BYTES: number = 1024 * 1024;

  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(600000)
  SHUTDOWN_TIMEOUT_MS: number = 15000;

  /** `production` refuses development fallbacks: see `productionSecretProblems`. */
  @IsOptional()
  @IsIn(['development', 'test', 'production'])
  NODE_ENV?: string;

  /** Issuer expected in tokens: `lienthong/<NODE_ID>` unless set. */
  get jwtIssuer(): string {
    return this.JWT_ISSUER ?? `lienthong/${this.NODE_ID}`;
  }
}
