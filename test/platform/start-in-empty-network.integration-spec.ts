import { spawnSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';

jest.setTimeout(300_000);

const ROOT = join(__dirname, '..', '..');

/** True when this machine lets us make a network namespace (root, or unprivileged user namespaces). */
function canUnshare(): boolean {
  return spawnSync('unshare', ['-n', 'true']).status === 0;
}

/**
 * Issue 14.7: a newcomer's machine with no PostgreSQL and no NATS (a network namespace where nothing listens),
 * as root as in a container: `npm start` starts an embedded PostgreSQL (as an unprivileged user) and nats-server
 * from PATH, and the four services become ready.
 */
describe('npm start on a machine where nothing listens', () => {
  const dataDir = mkdtempSync(join('/tmp', 'lienthong-empty-net-'));
  chmodSync(dataDir, 0o755); // the embedded PostgreSQL's unprivileged user must reach its data directory
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const run = (): Promise<{ code: number | null; out: string }> =>
    new Promise((resolve) => {
      const p = spawn(
        'unshare',
        ['-n', process.execPath, join(__dirname, 'fixtures', 'start-in-empty-network.mjs'), ROOT],
        {
          cwd: ROOT,
          env: { ...process.env, LIENTHONG_DATA_DIR: dataDir, EMBEDDED_POSTGRES_PORT: '55432' },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      p.stdout.on('data', (d) => (out += d.toString()));
      p.stderr.on('data', (d) => (out += d.toString()));
      p.on('exit', (code) => resolve({ code, out }));
    });

  const itCan = canUnshare() ? it : it.skip;
  if (!canUnshare())
    console.warn(
      'skipped: this machine cannot create a network namespace (unshare -n needs root or user namespaces)',
    );

  itCan('starts the embedded PostgreSQL and nats-server and gets all four services ready', async () => {
    const { out } = await run();
    const line = out.split('\n').find((l) => l.startsWith('RESULT '));
    if (!line) throw new Error(`no result from the namespace:\n${out.slice(-4000)}`);
    const result = JSON.parse(line.slice('RESULT '.length));
    if (Object.keys(result.ready ?? {}).length !== 4) throw new Error(`not ready: ${JSON.stringify(result)}`);
    expect(result.ready).toEqual({ identity: true, documents: true, 'integration-bus': true, audit: true });
    expect(result.up).toBe(true);
    expect(result.postgres).toMatch(/^embedded/);
    expect(result.nats).toBe('spawned');
    expect(result.exit).toBe(0);
  });
});
