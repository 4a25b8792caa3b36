// Documents CPU per created+sent document: the built documents service runs as its own process (main.js,
// LOG_LEVEL=warn as in bench/run.mjs) against real PostgreSQL and NATS; this process drives N create+send
// pairs (3 recipients each) at a fixed concurrency and reads the service's user+system CPU from
// /proc/<pid>/stat before and after (including a settle period for its NATS consumers and outbox relay).
// Identity's organization lookup is answered by a small NATS responder here.
// Usage: node bench/documents-cpu.mjs [--root <checkout with built dist>] [--docs 2000] [--warm 300]
//        [--concurrency 8] [--settle-ms 3000] [--cpu-prof <dir>]
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { arg, answerOrganizationResolve, documentBody } from './lib.mjs';

const ROOT = resolve(
  process.argv.includes('--root') ? process.argv[process.argv.indexOf('--root') + 1] : '.',
);
const DOCS = arg('docs', 2000);
const WARM = arg('warm', 300);
const CONCURRENCY = arg('concurrency', 8);
const SETTLE_MS = arg('settle-ms', 3000);
const namespace = `cpu${randomBytes(3).toString('hex')}`;
process.env.LT_NAMESPACE = namespace;
const require = createRequire(join(ROOT, 'package.json'));
require('reflect-metadata');
const { RpcSubjects } = require(join(ROOT, 'libs/contracts/dist/index.js'));
const { TestTokens, testServiceEnv, dropSchema, freePort } = require(
  join(ROOT, 'libs/testing/dist/index.js'),
);
const { connect } = require('@nats-io/transport-node');

const tokens = await TestTokens.start();
const attachments = mkdtempSync(join(tmpdir(), 'lt-bench-att-'));
const port = await freePort();
const env = await testServiceEnv('bench_doccpu', {
  LT_NAMESPACE: namespace,
  JWKS_URL: tokens.jwksUrl,
  ATTACHMENTS_DIR: attachments,
  LOG_LEVEL: 'warn',
  PORT: String(port),
  GRPC_PORT: '0',
  DB_POOL_SIZE: '10',
  OUTBOX_POLL_MS: '250',
});
const nc = await connect({ servers: env.NATS_URL });
answerOrganizationResolve(nc, RpcSubjects.organizationResolve);

const PROF = process.argv.includes('--cpu-prof')
  ? process.argv[process.argv.indexOf('--cpu-prof') + 1]
  : null;
const child = spawn(
  process.execPath,
  [...(PROF ? ['--cpu-prof', `--cpu-prof-dir=${PROF}`] : []), join(ROOT, 'services/documents/dist/main.js')],
  {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  },
);
let out = '';
child.stdout.on('data', (d) => (out = (out + d).slice(-4000)));
child.stderr.on('data', (d) => (out = (out + d).slice(-4000)));
const url = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  if (child.exitCode !== null) throw new Error(`documents exited: ${out}`);
  const ok = await fetch(`${url}/health/ready`).then(
    (r) => r.ok,
    () => false,
  );
  if (ok) break;
  if (i > 300) throw new Error(`documents not ready: ${out}`);
  await new Promise((r) => setTimeout(r, 100));
}
const clk = 100; // USER_HZ
const cpuMs = () => {
  const f = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / clk;
};
const sysMs = () =>
  (Number(readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ')[12]) * 1000) / clk;
const clerk = await tokens.mint({ org: 'B0', roles: ['clerk'] });
const headers = { Authorization: `Bearer ${clerk}`, 'Content-Type': 'application/json' };
const body = (i) => documentBody(i, ['B1', 'B2', 'B3']);
let seq = 0;
const run = async (n) => {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      const i = seq++;
      const c = await fetch(`${url}/api/v1/documents`, { method: 'POST', headers, body: body(i) });
      if (c.status !== 201) throw new Error(`create ${c.status} ${await c.text()}`);
      const { id } = await c.json();
      const s = await fetch(`${url}/api/v1/documents/${id}/send`, { method: 'POST', headers });
      if (s.status !== 202) throw new Error(`send ${s.status} ${await s.text()}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
};
// --probe <path>: GETs of one path instead (the HTTP plumbing's CPU per request, e.g. a 404 that reads nothing).
const PROBE = process.argv.includes('--probe') ? process.argv[process.argv.indexOf('--probe') + 1] : null;
if (PROBE) {
  const get = async (n) => {
    let next = 0;
    const worker = async () => {
      while (next++ < n) await (await fetch(`${url}${PROBE}`, { headers })).arrayBuffer();
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  };
  await get(WARM * 2);
  const c0 = cpuMs();
  await get(DOCS);
  const c1 = cpuMs();
  console.log(
    `${ROOT}: GET ${PROBE} ${((c1 - c0) / DOCS).toFixed(3)} CPU ms per request; load ${loadavg()[0].toFixed(2)}`,
  );
  child.kill('SIGTERM');
  process.exit(0);
}
await run(WARM);
await new Promise((r) => setTimeout(r, SETTLE_MS));
const c0 = cpuMs();
const s0 = sysMs();
const t0 = performance.now();
await run(DOCS);
const t1 = performance.now();
await new Promise((r) => setTimeout(r, SETTLE_MS));
const c1 = cpuMs();
const s1 = sysMs();
const idle0 = cpuMs();
await new Promise((r) => setTimeout(r, SETTLE_MS));
const idle = cpuMs() - idle0; // idle CPU over one settle period, subtracted
const cpu = c1 - c0 - idle;
console.log(
  `${ROOT}: ${DOCS} documents in ${((t1 - t0) / 1000).toFixed(1)} s (${(DOCS / ((t1 - t0) / 1000)).toFixed(0)}/s, concurrency ${CONCURRENCY}); ` +
    `documents CPU ${(cpu / DOCS).toFixed(3)} ms per document (system ${((s1 - s0) / DOCS).toFixed(3)}; idle ${idle.toFixed(0)} ms/settle subtracted); load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
);
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
await nc.drain();
await tokens.close();
await dropSchema(env.DATABASE_URL, env.DB_SCHEMA);
rmSync(attachments, { recursive: true, force: true });
process.exit(0);
