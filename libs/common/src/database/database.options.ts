import type { TypeOrmModuleOptions } from '@nestjs/typeorm';
import { Client } from 'pg';
import { BaseServiceConfig } from '../config/base-service.config';

/**
 * Each service owns one schema; the connection's search_path points at it so migrations write unqualified
 * names. Migrations run at start, `synchronize` never.
 */
export function databaseOptions(
  config: BaseServiceConfig,
  entities: NonNullable<TypeOrmModuleOptions['entities']>,
  migrations: NonNullable<TypeOrmModuleOptions['migrations']>,
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
      max: config.DB_POOL_SIZE,
      options: `-c search_path=${config.DB_SCHEMA},public`,
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
