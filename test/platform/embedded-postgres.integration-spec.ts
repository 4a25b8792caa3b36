import { freePort } from '@lienthong/testing';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

jest.setTimeout(180_000);

const ROOT = join(__dirname, '..', '..');

/**
 * `npm start` on a machine with no PostgreSQL reachable starts an embedded one (scripts/platform.mjs). As
 * root (CI containers, fresh VMs) postgres refuses to run; the script must run it as an unprivileged user.
 * "No PostgreSQL reachable" is simulated by LOCAL_POSTGRES_PORT pointing at a free port; the shared server
 * is never touched.
 */
describe('npm start with no PostgreSQL reachable', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lienthong-embedded-pg-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function run(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
    const script = `
      const m = await import(${JSON.stringify(join(ROOT, 'scripts', 'platform.mjs'))});
      const pg = await m.providePostgres('embedded_probe');
      const { default: P } = await import('pg');
      const c = new P.Client({ connectionString: pg.url });
      await c.connect();
      const r = await c.query("select current_database() as db, current_setting('is_superuser') as su, (select usename from pg_user where usesysid = (select datdba from pg_database where datname = current_database())) as owner");
      console.log('RESULT ' + JSON.stringify({ ...r.rows[0], source: pg.source }));
      await c.end();
      await pg.stop();
    `;
    return new Promise((resolve) => {
      const { DATABASE_URL: _drop, ...rest } = process.env;
      const p = spawn(process.execPath, ['--input-type=module', '-e', script], {
        cwd: ROOT,
        env: { ...rest, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      p.stdout.on('data', (d) => (out += d.toString()));
      p.stderr.on('data', (d) => (out += d.toString()));
      p.on('exit', (code) => resolve({ code, out }));
    });
  }

  it('starts an embedded PostgreSQL (as an unprivileged user when run as root), twice on the same data', async () => {
    const env = {
      LOCAL_POSTGRES_PORT: String(await freePort()),
      EMBEDDED_POSTGRES_PORT: String(await freePort()),
      EMBEDDED_POSTGRES_DIR: join(dir, 'pg'),
    };
    for (const round of ['first start (initdb)', 'second start (existing data)']) {
      const { code, out } = await run(env);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || !line) throw new Error(`${round} failed (exit ${code}):\n${out.slice(-3000)}`);
      const result = JSON.parse(line.slice('RESULT '.length));
      expect(result).toMatchObject({ db: 'embedded_probe', su: 'on' });
      expect(result.source).toMatch(/^embedded/);
      if (process.getuid?.() === 0) expect(result.source).not.toMatch(/as root/);
    }
  });
});
