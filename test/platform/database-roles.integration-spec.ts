import { loadConfig, migrateAsOwner, type RuntimeGrants } from '@lienthong/common';
import { dropRole, dropSchema, mayCreateRoles, testDatabaseUrl, urlAsRole, withPg } from '@lienthong/testing';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { AuditRuntimeGrants } from '../../services/audit/src/app.module';
import { AuditConfig } from '../../services/audit/src/config/audit.config';
import { migrations as auditMigrations } from '../../services/audit/src/migrations';
import { migrations as documentsMigrations } from '../../services/documents/src/migrations';
import { migrations as identityMigrations } from '../../services/identity/src/migrations';
import { migrations as busMigrations } from '../../services/integration-bus/src/migrations';

jest.setTimeout(120_000);

const SERVICES: { name: string; migrations: unknown[]; grants?: RuntimeGrants }[] = [
  { name: 'identity', migrations: identityMigrations },
  { name: 'documents', migrations: documentsMigrations },
  { name: 'bus', migrations: busMigrations },
  { name: 'audit', migrations: auditMigrations, grants: AuditRuntimeGrants },
];

/** SQLSTATE of a failed statement (42501 = insufficient_privilege). */
async function refusal(c: Client, sql: string): Promise<string> {
  await c.query('SAVEPOINT attempt');
  try {
    await c.query(sql);
  } catch (e) {
    await c.query('ROLLBACK TO SAVEPOINT attempt');
    return (e as { code?: string }).code ?? 'error';
  }
  await c.query('ROLLBACK TO SAVEPOINT attempt');
  return 'allowed';
}

/**
 * Migrations as the owner, each service's runtime on a role of its own (libs/common database-roles.ts), on
 * the real PostgreSQL: the roles are created by migrateAsOwner exactly as a service does at boot.
 */
describe('database roles: owner migrates, each service runs as its own role (real PostgreSQL)', () => {
  const tag = randomBytes(3).toString('hex');
  let owner = '';
  const runtime: Record<string, { schema: string; role: string; url: string }> = {};
  const clients: Record<string, Client> = {};

  beforeAll(async () => {
    owner = await testDatabaseUrl();
    if (!(await mayCreateRoles(owner)))
      throw new Error('the test database user must be allowed to create roles');
    for (const s of SERVICES) {
      const schema = `roles_${tag}_${s.name}`;
      const role = `roles_${tag}_${s.name}_rt`;
      const url = urlAsRole(owner, role, randomBytes(12).toString('hex'));
      runtime[s.name] = { schema, role, url };
      await withPg(owner, (c) => c.query(`CREATE SCHEMA "${schema}"`));
      const config = loadConfig(AuditConfig, {
        DATABASE_URL: url,
        MIGRATION_DATABASE_URL: owner,
        DB_SCHEMA: schema,
      });
      await migrateAsOwner(config, s.migrations as never, s.grants);
      // Running it again (a restart, another replica) changes nothing and fails nothing.
      await migrateAsOwner(config, s.migrations as never, s.grants);
      const c = new Client({ connectionString: url });
      await c.connect();
      await c.query(`SET search_path = "${schema}"`);
      await c.query('BEGIN');
      clients[s.name] = c;
    }
    // Something in the log to attack.
    const audit = clients.audit;
    await audit.query(
      `INSERT INTO leaves (leaf_index, event_id, event, leaf_hash, time, action, actor_sub, resource_type, resource_id, service)
       VALUES (0, gen_random_uuid(), '{}', sha256('x'), now(), 'a', 's', 'r', 'i', 'documents')`,
    );
    await audit.query(`UPDATE tree_state SET size = 1, root = sha256('x') WHERE id = 1`);
    await audit.query(`INSERT INTO signing_keys (key_id, public_key) VALUES ('k1', 'pem')`);
  });

  afterAll(async () => {
    for (const c of Object.values(clients)) await c.end().catch(() => undefined);
    for (const r of Object.values(runtime)) {
      await dropSchema(owner, r.schema);
      await dropRole(owner, r.role);
    }
  });

  it('the runtime roles exist, log in, own nothing and are not superusers', async () => {
    await withPg(owner, async (c) => {
      const roles = Object.values(runtime).map((r) => r.role);
      const r = await c.query(
        `SELECT rolname, rolsuper, rolcreaterole, rolcreatedb,
                (SELECT count(*)::int FROM pg_class WHERE relowner = pg_roles.oid) AS owns
           FROM pg_roles WHERE rolname = ANY($1) ORDER BY rolname`,
        [roles],
      );
      expect(r.rows).toHaveLength(4);
      for (const row of r.rows)
        expect(row).toMatchObject({ rolsuper: false, rolcreaterole: false, rolcreatedb: false, owns: 0 });
    });
  });

  it.each([
    ['UPDATE a leaf', `UPDATE leaves SET action = 'x'`],
    ['DELETE a leaf', `DELETE FROM leaves`],
    ['TRUNCATE the log', `TRUNCATE leaves`],
    ['UPDATE a checkpoint', `UPDATE checkpoints SET signature = 'x'`],
    ['DELETE node hashes', `DELETE FROM nodes`],
    ['disable the append-only trigger', `ALTER TABLE leaves DISABLE TRIGGER leaves_append_only`],
    ['disable every trigger', `ALTER TABLE leaves DISABLE TRIGGER ALL`],
    ['drop the trigger', `DROP TRIGGER leaves_append_only ON leaves`],
    [
      'replace the trigger function',
      `CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$`,
    ],
    ['ALTER the log', `ALTER TABLE leaves ADD COLUMN note text`],
    ['skip triggers for the session', `SET session_replication_role = replica`],
    ['rewrite a signing key', `UPDATE signing_keys SET public_key = 'forged'`],
    ['remove a signing key', `DELETE FROM signing_keys`],
    ['TRUNCATE the keys', `TRUNCATE signing_keys`],
    ['insert a second tree head', `INSERT INTO tree_state (id, size, root) VALUES (1, 0, sha256(''))`],
    ['delete the tree head', `DELETE FROM tree_state`],
    ['move the tree head to another id', `UPDATE tree_state SET id = 1`],
    ['read the migrations table', `SELECT * FROM migrations`],
    ['create a table in the schema', `CREATE TABLE shadow (x int)`],
    ['delete a witness verdict', `DELETE FROM witnessed_checkpoints`],
  ])('the audit runtime role cannot %s', async (_what, sql) => {
    expect(await refusal(clients.audit, sql)).toBe('42501');
  });

  it('the audit runtime role may append, read, and move the tree head forward but never back', async () => {
    const c = clients.audit;
    expect(await refusal(c, `SELECT count(*) FROM leaves`)).toBe('allowed');
    expect(
      await refusal(
        c,
        `INSERT INTO leaves (leaf_index, event_id, event, leaf_hash, time, action, actor_sub, resource_type, resource_id, service)
         VALUES (1, gen_random_uuid(), '{}', sha256('y'), now(), 'a', 's', 'r', 'i', 'documents')`,
      ),
    ).toBe('allowed');
    expect(await refusal(c, `UPDATE tree_state SET size = 2, root = sha256('y') WHERE id = 1`)).toBe(
      'allowed',
    );
    // Rewinding the head would let new leaves overwrite the story told by the old ones.
    expect(await refusal(c, `UPDATE tree_state SET size = 0, root = sha256('') WHERE id = 1`)).toBe('42501');
  });

  it('no service role can read or write another service’s schema', async () => {
    for (const s of SERVICES) {
      for (const other of SERVICES) {
        if (other.name === s.name) continue;
        const code = await refusal(
          clients[s.name],
          `SELECT 1 FROM "${runtime[other.name].schema}".outbox LIMIT 1`,
        );
        expect({ role: s.name, reads: other.name, code }).toEqual({
          role: s.name,
          reads: other.name,
          code: '42501',
        });
        const write = await refusal(
          clients[s.name],
          `INSERT INTO "${runtime[other.name].schema}".processed_messages (consumer, message_id) VALUES ('x', 'y')`,
        );
        expect({ role: s.name, writes: other.name, code: write }).toEqual({
          role: s.name,
          writes: other.name,
          code: '42501',
        });
      }
      // Its own messaging tables are fully usable.
      expect(await refusal(clients[s.name], `DELETE FROM processed_messages WHERE consumer = 'none'`)).toBe(
        'allowed',
      );
    }
  });
});
