import type { TypeOrmModuleOptions } from '@nestjs/typeorm';
import { Client } from 'pg';
import { BaseServiceConfig } from '../config/base-service.config';
import { PipeliningClient } from './pipelining-client';

/**
 * Each service owns one schema; the connection's search_path points at it so migrations write unqualified
 * names. Migrations run at start, `synchronize` never.
 */
export function databaseOptions(
  config: BaseServiceConfig,
  entities: NonNullable<TypeOrmModuleOptions['entities']>,
  migrations: NonNullable<TypeOrmModuleOptions['migrations']>,
  { lz4 = false }: { lz4?: boolean } = {},
): TypeOrmModuleOptions {
  return {
    type: 'postgres',
    url: config.DATABASE_URL,
    schema: config.DB_SCHEMA,
    entities,
    migrations,
    // With an owner role the migrations already ran as that role (migrateAsOwner); the runtime role may not.
    migrationsRun: !config.MIGRATION_DATABASE_URL,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: ['error'],
    extra: {
      // BEGIN with the first statement, the last outbox/relay statement with the COMMIT (one write each).
      Client: PipeliningClient,
      max: config.DB_POOL_SIZE,
      options: `-c search_path=${config.DB_SCHEMA},public${lz4 ? ' -c default_toast_compression=lz4' : ''}`,
      application_name: config.DB_SCHEMA,
    },
  };
}

/**
 * The schema must exist before TypeORM creates its migrations table in it. Pass the owner's URL
 * (MIGRATION_DATABASE_URL when set): the runtime role may not create schemas.
 */
export async function ensureSchema(databaseUrl: string, schema: string): Promise<void> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  } catch (e) {
    // Two services booting at once may race on the catalog; the schema exists either way.
    if ((e as { code?: string }).code !== '23505') throw e;
  } finally {
    await client.end();
  }
}

/**
 * Whether the server can compress large values (TOAST) with lz4 instead of pglz. Values over ~2 kB are
 * compressed when written: outbox envelopes above all (a transaction's audit events are one message), which
 * are written once, read once and deleted. pglz_compress was ~4 % of PostgreSQL's CPU in the bench (perf);
 * lz4 does the same several times faster. Servers built without lz4 keep their default.
 */
export async function serverHasLz4(databaseUrl: string): Promise<boolean> {
  const client = new Client({ connectionString: databaseUrl });
  try {
    await client.connect();
    const r = await client.query<{ ok: boolean }>(
      `SELECT 'lz4' = ANY(enumvals) AS ok FROM pg_settings WHERE name = 'default_toast_compression'`,
    );
    return r.rows[0]?.ok === true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}
