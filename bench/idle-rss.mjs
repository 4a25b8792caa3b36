// Idle RSS of the four services (issue 12: ≤ 150 MB each), the way `npm run bench` reads its idleRssMb: each
// service started from its build output as bench/run.mjs starts it (same environment: own nats-server, the
// simulated national axis, LOG_LEVEL=warn), VmRSS read once every service answers /health/ready and then
// --settle-seconds (default 10) have passed. Repeated --starts times (default 3); prints the median per service
// and the split anonymous / file-backed.
//
//   node bench/idle-rss.mjs [--starts 3] [--settle-seconds 10] [--probe] [--no-build]
//
// --probe: each service also writes process.memoryUsage() and the modules it loaded, by package, to
// bench/results/idle-rss-probe-<service>.json (bench/idle-rss-probe.cjs, preloaded with --require).
// PostgreSQL: DATABASE_URL, else the local server (database lienthong_idle_rss), as scripts/platform.mjs finds it.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { build, providePostgres, ROOT, startService, waitReady } from '../scripts/platform.mjs';
import { arg, benchServiceEnv, percentile, procMemory, sleep } from './lib.mjs';

const has = (name) => process.argv.includes(`--${name}`);
const STARTS = arg('starts', 3);
const SETTLE_MS = arg('settle-seconds', 10) * 1000;
const LOGINS = arg('logins', 0);
const nameAt = process.argv.indexOf('--name');
const SUFFIX = nameAt > 0 ? `-${process.argv[nameAt + 1]}` : '';
const SERVICES = ['identity', 'documents', 'integration-bus', 'audit'];
const ROOT_ORG = '000.00.00.G01';

if (!has('no-build')) build();
const require = createRequire(import.meta.url);
const { makeCa, NatsServerProcess, freePort } = require('@lienthong/testing');

const home = mkdtempSync(join(tmpdir(), 'lt-idle-rss-'));
writeFileSync(join(home, 'ca.pem'), makeCa('Idle RSS CA').pem);
// Kept across runs (the services' schemas keep the admin and the signing keys sealed with this KEK).
const stateFile = join(ROOT, '.data', 'idle-rss', 'state.json');
mkdirSync(dirname(stateFile), { recursive: true });
const fresh = !existsSync(stateFile);
const state = !fresh
  ? JSON.parse(readFileSync(stateFile, 'utf8'))
  : {
      secret: randomBytes(24).toString('hex'),
      adminPassword: `Idle-${randomBytes(12).toString('hex')}`,
      kek: randomBytes(32).toString('base64'),
    };
writeFileSync(stateFile, JSON.stringify(state, null, 2), { mode: 0o600 });
const { secret, adminPassword, kek } = state;
const databaseUrl = (await providePostgres('lienthong_idle_rss')).url;
if (fresh) {
  // New secrets: the schemas of an earlier state (signing keys sealed with another KEK) are dropped.
  const { default: pg } = await import('pg');
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  for (const s of SERVICES) await c.query(`DROP SCHEMA IF EXISTS idle_${s.replace('-', '_')} CASCADE`);
  await c.end();
}
// --root <dir>: start the services of another checkout's build (a before/after in one window).
const rootAt = process.argv.indexOf('--root');
const SERVICE_ROOT = rootAt > 0 ? process.argv[rootAt + 1] : ROOT;
const loadBefore = loadavg();

async function once(n) {
  const nats = new NatsServerProcess({ dir: join(home, `nats-${n}`), serverName: 'idle' });
  await nats.start();
  const axis = spawn(process.execPath, [join(ROOT, 'bench', 'axis-agency.mjs')], {
    env: { ...process.env, AXIS_SYSTEM_ID: ROOT_ORG, AXIS_SECRET: secret, AXIS_AGENCIES: 'IDLE.A01' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const axisUrl = await new Promise((resolve) =>
    axis.stdout.once('data', (d) => resolve(JSON.parse(d.toString().split('\n')[0]).url)),
  );
  const ports = {};
  for (const s of SERVICES) ports[s] = await freePort();
  const procs = {};
  for (const s of SERVICES) {
    procs[s] = startService(
      { name: s, color: 36 },
      benchServiceEnv(
        s,
        {
          databaseUrl,
          natsUrl: nats.url,
          namespace: 'idle',
          ports,
          adminPassword,
          rootOrg: ROOT_ORG,
          kek,
          attachmentsDir: join(home, 'attachments'),
          axisUrl,
          axisSecret: secret,
        },
        {
          TRUST_ANCHORS: join(home, 'ca.pem'),
          ...(has('probe')
            ? {
                IDLE_RSS_PROBE_FILE: join(ROOT, 'bench', 'results', `idle-rss-probe-${s}${SUFFIX}.json`),
                IDLE_RSS_PROBE_MS: String(SETTLE_MS + 5000),
                ...(arg('probe-gc-ms', 0) ? { IDLE_RSS_PROBE_GC_MS: String(arg('probe-gc-ms', 0)) } : {}),
              }
            : {}),
        },
      ),
      {
        execArgv: has('probe') ? ['--require', join(ROOT, 'bench', 'idle-rss-probe.cjs')] : [],
        silent: true,
        root: SERVICE_ROOT,
        onLine: (line) =>
          (line.startsWith('PROBE') || /"level":(50|60)/.test(line)) && console.log(`  ${s}: ${line}`),
      },
    );
  }
  let mem;
  try {
    for (const s of SERVICES)
      if (!(await waitReady(`http://127.0.0.1:${ports[s]}/health/ready`, 120_000)))
        throw new Error(`${s} did not become ready`);
    // --logins N: N password logins (4 at a time) first, as the bench's seeding does before its idle reading.
    let logins = LOGINS;
    await Promise.all(
      Array.from({ length: Math.min(4, LOGINS) }, async () => {
        while (logins-- > 0) {
          const r = await fetch(`http://127.0.0.1:${ports.identity}/api/v1/auth/token`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ grant_type: 'password', username: 'admin', password: adminPassword }),
          });
          if (r.status !== 200) throw new Error(`login: ${r.status} ${await r.text()}`);
        }
      }),
    );
    await sleep(SETTLE_MS);
    mem = Object.fromEntries(SERVICES.map((s) => [s, procMemory(procs[s].pid)]));
  } finally {
    // Also when a start fails: no service, simulator or nats-server is left behind.
    if (has('probe')) await sleep(7000); // the probe writes its file a few seconds after this reading
    await Promise.all(
      Object.values(procs).map(
        (p) =>
          new Promise((r) => {
            if (p.exitCode !== null) return r();
            p.once('exit', r);
            p.kill('SIGTERM');
            setTimeout(() => p.kill('SIGKILL'), 15_000).unref();
          }),
      ),
    );
    axis.kill('SIGTERM');
    await nats.stop();
  }
  console.log(
    `  start ${n + 1}: ${SERVICES.map((s) => `${s} ${mem[s].rssMb} (anon ${mem[s].anonMb} + file ${mem[s].fileMb})`).join(', ')}`,
  );
  return mem;
}

const runs = [];
for (let n = 0; n < STARTS; n++) runs.push(await once(n));
const loadAfter = loadavg();
const median = (xs) => percentile(xs, 50);
const result = {
  date: new Date().toISOString(),
  starts: STARTS,
  logins: LOGINS,
  settleSeconds: SETTLE_MS / 1000,
  loadAverage: [loadBefore, loadAfter].map((l) => l.map((x) => +x.toFixed(2))),
  medianRssMb: Object.fromEntries(SERVICES.map((s) => [s, median(runs.map((r) => r[s].rssMb))])),
  medianAnonMb: Object.fromEntries(SERVICES.map((s) => [s, median(runs.map((r) => r[s].anonMb))])),
  runs,
};
console.log(
  `idle RSS (median of ${STARTS}, ready + ${SETTLE_MS / 1000} s): ${SERVICES.map((s) => `${s} ${result.medianRssMb[s]} MB`).join(', ')}; load ${result.loadAverage.map((l) => l[0]).join(' → ')}`,
);
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(
  join(ROOT, 'bench', 'results', `idle-rss-${result.date.replace(/[:.]/g, '-')}${SUFFIX}.json`),
  JSON.stringify(result, null, 2),
);
rmSync(home, { recursive: true, force: true });
process.exit(0);
