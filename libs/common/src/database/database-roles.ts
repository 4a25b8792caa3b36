import { Logger } from '@nestjs/common';
import type { TypeOrmModuleOptions } from '@nestjs/typeorm';
import { DataSource, type EntityManager } from 'typeorm';
import { BaseServiceConfig } from '../config/base-service.config';

/**
 * Privileges of a service's runtime role on the tables that get less than the default (SELECT, INSERT,
 * UPDATE, DELETE), by table name: e.g. `{ leaves: 'SELECT, INSERT', tree_state: 'SELECT, UPDATE (size, root)' }`.
 * A table listed with '' gets nothing.
 */
export type RuntimeGrants = Record<string, string>;

const PRIVILEGES = /^(SELECT|INSERT|UPDATE|DELETE|REFERENCES)( \([a-z_][a-z0-9_]*(, [a-z_][a-z0-9_]*)*\))?$/;
const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

/** The role a postgres:// URL logs in as (its user part), or undefined when the URL names none. */
export function roleOfUrl(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.username ? decodeURIComponent(u.username) : undefined;
  } catch {
    return undefined;
  }
}

function passwordOfUrl(url: string): string | undefined {
  const u = new URL(url);
  return u.password ? decodeURIComponent(u.password) : undefined;
}

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Checks a grants map before any of it reaches SQL (it comes from code, but a typo must fail loudly). */
export function validateRuntimeGrants(grants: RuntimeGrants): void {
  for (const [table, privs] of Object.entries(grants)) {
    if (!IDENT.test(table)) throw new Error(`runtime grants: bad table name ${table}`);
    for (const p of privs.split(/,(?![^(]*\))/).map((x) => x.trim())) {
      if (p && !PRIVILEGES.test(p)) throw new Error(`runtime grants: bad privilege "${p}" on ${table}`);
    }
  }
}

/**
 * The runtime role's privileges on the service's schema, applied by the owner after every migration run
 * (so new tables are covered): USAGE on the schema (never CREATE), SELECT/INSERT/UPDATE/DELETE on every
 * table unless `grants` narrows it, the sequences, nothing on the migrations table. The runtime role owns
 * nothing, so it cannot ALTER, DROP, TRUNCATE or disable a trigger anywhere.
 */
export async function applyRuntimeGrants(
  m: Pick<EntityManager, 'query'>,
  schema: string,
  role: string,
  grants: RuntimeGrants = {},
): Promise<void> {
  validateRuntimeGrants(grants);
  const s = quoteIdent(schema);
  const r = quoteIdent(role);
  await m.query(`GRANT USAGE ON SCHEMA ${s} TO ${r}`);
  await m.query(`REVOKE CREATE ON SCHEMA ${s} FROM ${r}`);
  await m.query(`REVOKE ALL ON ALL TABLES IN SCHEMA ${s} FROM ${r}`);
  await m.query(`REVOKE ALL ON ALL SEQUENCES IN SCHEMA ${s} FROM ${r}`);
  await m.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${s} TO ${r}`);
  await m.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${s} TO ${r}`);
  await m.query(`REVOKE ALL ON TABLE ${s}."migrations" FROM ${r}`);
  for (const [table, privs] of Object.entries(grants)) {
    await m.query(`REVOKE ALL ON TABLE ${s}.${quoteIdent(table)} FROM ${r}`);
    if (privs.trim()) await m.query(`GRANT ${privs} ON TABLE ${s}.${quoteIdent(table)} TO ${r}`);
  }
}

/**
 * Creates the runtime role when it is missing and the owner may (CREATEROLE or superuser), with the
 * password of DATABASE_URL; an existing role keeps its attributes except the password, which follows
 * DATABASE_URL when the owner may change it (so a rotated secret takes effect at the next start).
 */
async function ensureRuntimeRole(
  m: EntityManager,
  role: string,
  password: string | undefined,
): Promise<void> {
  const [me] = (await m.query(
    `SELECT rolsuper OR rolcreaterole AS may FROM pg_roles WHERE rolname = current_user`,
  )) as { may: boolean }[];
  const [existing] = (await m.query(`SELECT rolsuper FROM pg_roles WHERE rolname = $1`, [role])) as {
    rolsuper: boolean;
  }[];
  if (existing?.rolsuper)
    throw new Error(`the runtime role ${role} is a superuser: give the service a role of its own`);
  if (!me?.may) {
    if (!existing)
      throw new Error(
        `the runtime role ${role} does not exist and the migration role may not create it (CREATEROLE)`,
      );
    return;
  }
  if (existing && password === undefined) return;
  // format() quotes the name and the password literal; the password never appears in a log line of ours.
  const [{ sql }] = (await m.query(
    existing
      ? `SELECT format('ALTER ROLE %I LOGIN PASSWORD %L', $1::text, $2::text) AS sql`
      : password === undefined
        ? `SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS', $1::text) AS sql`
        : `SELECT format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD %L', $1::text, $2::text) AS sql`,
    password === undefined ? [role] : [role, password],
  )) as { sql: string }[];
  try {
    await m.query(sql);
  } catch (e) {
    const code = (e as { code?: string }).code;
    // Another service created it meanwhile (roles are cluster-wide, the advisory lock is per database).
    if (code === '42710' || code === '23505') return;
    // PostgreSQL 16 needs ADMIN on a role to alter it; a role made by someone else stays as it is.
    if (existing && code === '42501') return;
    throw e;
  }
}

/**
 * With MIGRATION_DATABASE_URL set, the service's migrations run as that (owner) role before the runtime
 * connection pool opens, and the runtime role of DATABASE_URL gets only what `grants` allow on the
 * service's schema. Without it nothing happens here (one role does both, as in development).
 */
export async function migrateAsOwner(
  config: BaseServiceConfig,
  migrations: NonNullable<TypeOrmModuleOptions['migrations']>,
  grants: RuntimeGrants = {},
): Promise<void> {
  const ownerUrl = config.MIGRATION_DATABASE_URL;
  if (!ownerUrl) return;
  const role = roleOfUrl(config.DATABASE_URL);
  if (!role) throw new Error('DATABASE_URL must name the runtime role when MIGRATION_DATABASE_URL is set');
  const logger = new Logger('Database');
  const ds = new DataSource({
    type: 'postgres',
    url: ownerUrl,
    schema: config.DB_SCHEMA,
    migrations: migrations as never,
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    logging: ['error'],
    extra: {
      max: 1,
      options: `-c search_path=${config.DB_SCHEMA},public`,
      application_name: `${config.DB_SCHEMA}-migrations`,
    },
  });
  await ds.initialize();
  try {
    await ds.runMigrations({ transaction: 'each' });
    const [{ owner }] = (await ds.query(`SELECT current_user AS owner`)) as { owner: string }[];
    if (owner === role) {
      logger.warn(`DATABASE_URL and MIGRATION_DATABASE_URL use the same role ${role}: no separation`);
      return;
    }
    await ds.transaction(async (m) => {
      // Replicas and services starting together: one of them at a time changes roles and grants.
      await m.query(`SELECT pg_advisory_xact_lock(hashtext('lienthong.runtime-roles'))`);
      await ensureRuntimeRole(m, role, passwordOfUrl(config.DATABASE_URL));
      await applyRuntimeGrants(m, config.DB_SCHEMA, role, grants);
    });
    logger.log(`schema ${config.DB_SCHEMA} migrated as ${owner}; runtime role ${role} granted`);
  } finally {
    await ds.destroy();
  }
}
