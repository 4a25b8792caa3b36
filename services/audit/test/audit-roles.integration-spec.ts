import { eventually, runtimeRoleEnv, testDatabaseUrl, withPg } from '@lienthong/testing';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditHarness, auditEvent } from './harness';

jest.setTimeout(120_000);

/**
 * The audit service as it runs in production: migrations as the owner role, the service on a runtime role
 * of its own (created at boot), the checkpoint key from a file. The log keeps working; the role that writes
 * it cannot rewrite it.
 */
describe('audit on its own runtime role with a key file (real PostgreSQL + NATS)', () => {
  const h = new AuditHarness();
  const dir = mkdtempSync(join(tmpdir(), 'lt-audit-key-'));
  const keyFile = join(dir, 'ed25519.pem');

  beforeAll(async () => {
    const owner = await testDatabaseUrl();
    writeFileSync(
      keyFile,
      generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      { mode: 0o600 },
    );
    await h.start({
      ...runtimeRoleEnv(owner, `audit_rt_${randomBytes(4).toString('hex')}`),
      NODE_ENV: 'production',
      AUDIT_SIGNING_KEY_FILE: keyFile,
    });
  });
  afterAll(async () => {
    await h.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('appends events and signs checkpoints as the runtime role; no private key is stored', async () => {
    for (let i = 0; i < 60; i++) await h.publish(auditEvent());
    const admin = await h.token('ROOT', ['system-admin']);
    await eventually(async () => {
      const r = await h.http.get('/api/v1/audit/checkpoint').set({ Authorization: `Bearer ${admin}` });
      return r.status === 200 && r.body.treeSize === 60;
    }, 20_000);
    const [{ user }] = (await h.pg.query('SELECT current_user AS user')).rows;
    expect(user).toBe(decodeURIComponent(new URL(h.env.DATABASE_URL!).username));
    const keys = await h.pg.query(
      'SELECT count(*)::int AS n FROM signing_keys WHERE private_key IS NOT NULL',
    );
    expect(keys.rows[0].n).toBe(0);
  });

  it('the connection the service writes with cannot rewrite, truncate or unprotect the log', async () => {
    const attempts = [
      `UPDATE leaves SET action = 'x' WHERE leaf_index = 0`,
      `DELETE FROM leaves WHERE leaf_index = 0`,
      `TRUNCATE leaves`,
      `ALTER TABLE leaves DISABLE TRIGGER ALL`,
      `UPDATE tree_state SET size = size - 1 WHERE id = 1`,
      `DELETE FROM signing_keys`,
    ];
    for (const sql of attempts) {
      const code = await h.pg.query(sql).then(
        () => 'allowed',
        (e: { code?: string }) => e.code,
      );
      expect({ sql, code }).toEqual({ sql, code: '42501' });
    }
    expect(await h.count()).toBe(60);
  });

  it('refuses to start in production without a configured signing key (none is generated into the database)', async () => {
    const schema = `audit_nokey_${randomBytes(3).toString('hex')}`;
    const env = {
      ...h.env,
      DB_SCHEMA: schema,
      AUDIT_SIGNING_KEY_FILE: undefined,
      AUDIT_SIGNING_KEY: undefined,
    };
    await expect(h.addInstance(env)).rejects.toThrow(/AUDIT_SIGNING_KEY_FILE/);
    const owner = h.env.MIGRATION_DATABASE_URL!;
    await withPg(owner, async (c) => {
      // Refused at configuration (before any migration) or at key loading: either way no key was generated.
      const table = await c.query(`SELECT to_regclass($1) AS t`, [`"${schema}".signing_keys`]);
      if (table.rows[0].t) {
        const r = await c.query(`SELECT count(*)::int AS n FROM "${schema}".signing_keys`);
        expect(r.rows[0].n).toBe(0);
      }
      await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    });
  });
});
