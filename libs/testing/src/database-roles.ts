import { randomBytes } from 'node:crypto';
import { withPg } from './test-infra';

/** The same server and database as `url`, logging in as `role` (with `password` when given). */
export function urlAsRole(url: string, role: string, password?: string): string {
  const u = new URL(url);
  u.username = encodeURIComponent(role);
  u.password = password ? encodeURIComponent(password) : '';
  return u.toString();
}

/**
 * Environment for a service whose migrations run as the test database's (owner) user while its runtime
 * connections use a role of its own, which the service creates at boot (the test user may create roles).
 */
export function runtimeRoleEnv(
  ownerUrl: string,
  role: string,
): { MIGRATION_DATABASE_URL: string; DATABASE_URL: string } {
  return {
    MIGRATION_DATABASE_URL: ownerUrl,
    DATABASE_URL: urlAsRole(ownerUrl, role, randomBytes(12).toString('hex')),
  };
}

/** Drops a test role and whatever it was granted in this database (roles are cluster-wide). */
export async function dropRole(ownerUrl: string, role: string): Promise<void> {
  await withPg(ownerUrl, async (c) => {
    const exists = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
    if (!exists.rowCount) return;
    const quoted = `"${role.replace(/"/g, '""')}"`;
    await c.query(`DROP OWNED BY ${quoted}`);
    await c.query(`DROP ROLE ${quoted}`);
  });
}

/** Whether the user of `url` may create roles (superuser or CREATEROLE). */
export async function mayCreateRoles(url: string): Promise<boolean> {
  return withPg(url, async (c) => {
    const r = await c.query(
      'SELECT rolsuper OR rolcreaterole AS may FROM pg_roles WHERE rolname = current_user',
    );
    return r.rows[0]?.may === true;
  });
}

/** The role a test database URL logs in as. */
export function roleOfTestUrl(url: string): string {
  return decodeURIComponent(new URL(url).username);
}
