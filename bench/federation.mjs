// Federation benchmark: two nodes of the platform on this machine, each with its own nats-server and JetStream
// domain (hub `central`, leaf `p01` dialling the hub as a leaf node), its own schemas and ports.
//   node bench/federation.mjs [--latency 100] [--backlog 10000] [--cut-seconds 300] [--concurrency 16] [--base-port 4300] [--cpu-prof]
// 1. Cross-node delivery latency: documents sent one at a time (paced) from a provincial district (node p01)
//    to the central office; latency = send accepted (202) → the document is in the central office's incoming
//    register. Prints p50/p95/p99.
// 2. Drain: the leaf server is stopped (the link is cut) for --cut-seconds, during which the central office
//    sends --backlog documents to the district; then the leaf is restarted and the time until every one is in
//    the district's register is measured (and that none arrived twice).
// Numbers are printed and written to bench/results/federation-<date>.json, never asserted.
import { randomBytes, randomUUID } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  build,
  ensureInstalled,
  providePostgres,
  ROOT,
  startService,
  waitReady,
} from '../scripts/platform.mjs';
import { arg, pct, progress, sleep } from './lib.mjs';

const LATENCY_DOCS = arg('latency', 100);
const BACKLOG = arg('backlog', 10_000);
const CUT_SECONDS = arg('cut-seconds', 300);
const CONCURRENCY = arg('concurrency', 16);
/** --cpu-prof: V8 CPU profiles of every service in bench/results/profiles/fed-<node>-<service>/. */
const CPU_PROF = process.argv.includes('--cpu-prof');

ensureInstalled();
build();
const require = createRequire(import.meta.url);
const { NatsServerProcess, freePort } = require('@lienthong/testing');
const { generateSelfSigned } = require('../services/integration-bus/dist/edxml/node-certificate.js');
const pgMod = require('pg');

// ── infrastructure ────────────────────────────────────────────────────────────────────────────────
const namespace = `fed${randomBytes(3).toString('hex')}`;
const pg = await providePostgres('lienthong_bench');
const leafPort = await freePort();
const hub = new NatsServerProcess({
  jetstreamDomain: 'central',
  serverName: 'hub',
  extraConfig: `leafnodes { listen: "127.0.0.1:${leafPort}" }\nmax_payload: 1MB`,
});
const leaf = new NatsServerProcess({
  jetstreamDomain: 'p01',
  serverName: 'leaf-p01',
  extraConfig: `leafnodes { remotes: [ { url: "nats-leaf://127.0.0.1:${leafPort}", deny_imports: ["${namespace}.>"], deny_exports: ["${namespace}.>"] } ] }`,
});
await hub.start();
await leaf.start();
const cred = {
  central: generateSelfSigned('lienthong-bus-central'),
  p01: generateSelfSigned('lienthong-bus-p01'),
};
const work = mkdtempSync(join(tmpdir(), 'lt-bench-fed-'));
const SERVICE_NAMES = ['identity', 'documents', 'integration-bus', 'audit'];
const nodes = {};
const procs = [];
// --base-port: the first of 20 HTTP ports (two nodes × four services); other runs on the machine may hold 4300.
let base = arg('base-port', 4300);
for (const [node, natsUrl, extra] of [
  [
    'central',
    hub.url,
    { 'integration-bus': { TRUSTED_NODE_CERTS: cred.p01.certPem, FEDERATION_PEERS: 'p01@p01' } },
  ],
  [
    'p01',
    leaf.url,
    {
      identity: { DIRECTORY_UPSTREAM_DOMAIN: 'central' },
      'integration-bus': {
        TRUSTED_NODE_CERTS: cred.central.certPem,
        FEDERATION_PEERS: 'central@central',
        FEDERATION_WITNESS_NODE: 'central',
      },
    },
  ],
]) {
  const tag = `${node.replace('-', '_')}_${randomBytes(2).toString('hex')}`;
  const url = Object.fromEntries(SERVICE_NAMES.map((s, i) => [s, `http://127.0.0.1:${base + i}`]));
  const adminPassword = `Bench-${randomBytes(12).toString('hex')}`;
  const schemas = [];
  for (const [i, s] of SERVICE_NAMES.entries()) {
    const schema = `benchfed_${tag}_${s.replace('-', '_')}`;
    schemas.push(schema);
    procs.push(
      startService(
        { name: s, port: base + i, color: 36 },
        {
          DATABASE_URL: pg.url,
          NATS_URL: natsUrl,
          LT_NAMESPACE: namespace,
          NODE_ID: node,
          LOG_LEVEL: 'warn',
          HOST: '127.0.0.1',
          PORT: String(base + i),
          GRPC_PORT: '0',
          DB_SCHEMA: schema,
          JWKS_URL: `${url.identity}/.well-known/jwks.json`,
          ADMIN_PASSWORD: adminPassword,
          KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
          TOKEN_RATE_LIMIT_PER_IP: '100000',
          ATTACHMENTS_DIR: join(work, node, 'attachments'),
          NODE_CERT_PEM: cred[node].certPem,
          NODE_KEY_PEM: cred[node].keyPem,
          ...(extra[s] ?? {}),
        },
        {
          silent: true,
          onLine: (line) => appendFileSync(join(work, `${node}-${s}.log`), `${line}\n`),
          execArgv: CPU_PROF
            ? [
                '--cpu-prof',
                `--cpu-prof-dir=${join(ROOT, 'bench', 'results', 'profiles', `fed-${node}-${s}`)}`,
              ]
            : [],
        },
      ),
    );
  }
  nodes[node] = { url, adminPassword, schemas };
  base += 10;
}

async function stopAll() {
  await Promise.all(
    procs.map(
      (p) => new Promise((r) => (p.exitCode !== null ? r() : (p.once('exit', r), p.kill('SIGTERM')))),
    ),
  );
  const c = new pgMod.Client({ connectionString: pg.url });
  await c.connect();
  for (const n of Object.values(nodes))
    for (const s of n.schemas) await c.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  await c.end();
  await leaf.destroy();
  await hub.destroy();
  await pg.stop();
}
process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));
process.on('unhandledRejection', (e) => {
  console.error(`\n✖ ${e instanceof Error ? e.message : e}\n  service logs: ${work}`);
  void stopAll().finally(() => process.exit(1));
});
for (const n of Object.values(nodes)) {
  for (const s of SERVICE_NAMES) {
    if (!(await waitReady(`${n.url[s]}/health/ready`, 90_000))) throw new Error(`${s} did not become ready`);
  }
}

async function api(node, service, method, path, token, body) {
  const r = await fetch(`${nodes[node].url[service]}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: r.status, body: json };
}
async function login(node, username, password) {
  const r = await api(node, 'identity', 'POST', '/api/v1/auth/token', undefined, {
    grant_type: 'password',
    username,
    password,
  });
  if (r.status !== 200) throw new Error(`login ${username}@${node}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.access_token;
}

// ── seed: organizations at the centre (replicated to p01), node-local users ─────────────────────────
const CENTRAL_OFFICE = '000.00.00.H01';
const DISTRICT = '000.21.31.H41';
const PASSWORD = `Bench-${randomBytes(8).toString('hex')}-Aa1!`;
const admin = {
  central: await login('central', 'admin', nodes.central.adminPassword),
  p01: await login('p01', 'admin', nodes.p01.adminPassword),
};
const root = (await api('central', 'identity', 'GET', '/api/v1/auth/me', admin.central)).body
  .organizationCode;
for (const [code, name, level, nodeId] of [
  [CENTRAL_OFFICE, 'Van phong Trung uong', 'central', 'central'],
  [DISTRICT, 'Huyen uy Dong Anh', 'district', 'p01'],
]) {
  const r = await api('central', 'identity', 'POST', '/api/v1/organizations', admin.central, {
    code,
    name,
    parentCode: root,
    level,
    sector: 'party',
    zone: 'party-wan',
    nodeId,
  });
  if (r.status !== 201) throw new Error(`organization ${code}: ${r.status} ${JSON.stringify(r.body)}`);
}
for (let i = 0; ; i++) {
  const r = await api('p01', 'identity', 'GET', `/api/v1/organizations/${DISTRICT}`, admin.p01);
  if (r.status === 200 && r.body.nodeId === 'p01') break;
  if (i > 240) throw new Error('the district never reached node p01 (directory replication)');
  await sleep(250);
}
const clerk = {};
for (const [node, username, org] of [
  ['central', 'clerk.central', CENTRAL_OFFICE],
  ['p01', 'clerk.district', DISTRICT],
]) {
  const r = await api(node, 'identity', 'POST', '/api/v1/users', admin[node], {
    username,
    fullName: username,
    password: PASSWORD,
    organizationCode: org,
    roles: ['clerk'],
  });
  if (r.status !== 201) throw new Error(`user ${username}: ${r.status} ${JSON.stringify(r.body)}`);
  clerk[node] = await login(node, username, PASSWORD);
}

async function send(node, to, subject) {
  const c = await api(node, 'documents', 'POST', '/api/v1/documents', clerk[node], {
    number: String(Math.floor(Math.random() * 1e9)),
    notation: 'CV/BENCH',
    type: 'CV',
    typeName: 'Cong van',
    subject,
    promulgationPlace: 'Ha Noi',
    promulgationDate: '2026-11-29',
    signer: { position: 'Bi thu', fullName: 'Nguyen Van A' },
    secrecy: 'none',
    urgency: 'normal',
    recipients: [to],
  });
  if (c.status !== 201) throw new Error(`create: ${c.status} ${JSON.stringify(c.body)}`);
  const s = await api(node, 'documents', 'POST', `/api/v1/documents/${c.body.id}/send`, clerk[node]);
  if (s.status !== 202) throw new Error(`send: ${s.status} ${JSON.stringify(s.body)}`);
  return c.body.id;
}
const pgc = new pgMod.Client({ connectionString: pg.url });
await pgc.connect();
const documentsSchema = (node) => nodes[node].schemas[1];
/** Incoming documents of `org` at `node` whose subject starts with `prefix`: count and distinct subjects. */
async function arrived(node, org, prefix) {
  const r = await pgc.query(
    `SELECT count(*)::int AS n, count(DISTINCT subject)::int AS d FROM "${documentsSchema(node)}".documents WHERE organization_code = $1 AND direction = 'incoming' AND subject LIKE $2`,
    [org, `${prefix}%`],
  );
  return r.rows[0];
}

// ── 1. latency: district (p01) → central office ─────────────────────────────────────────────────────
const latencies = [];
for (let i = 0; i < LATENCY_DOCS; i++) {
  const subject = `LAT-${i}-${randomUUID()}`;
  await send('p01', CENTRAL_OFFICE, subject);
  const t0 = performance.now();
  for (;;) {
    if ((await arrived('central', CENTRAL_OFFICE, subject)).n > 0) break;
    await sleep(5);
  }
  latencies.push(performance.now() - t0);
  progress('cross-node latency', i + 1, LATENCY_DOCS);
}

const slowest = latencies.reduce((a, ms, index) => (ms > a.ms ? { index, ms: Math.round(ms) } : a), {
  index: -1,
  ms: 0,
});
if (BACKLOG <= 0) {
  console.log(
    `cross-node latency p50 ${pct(latencies, 50)} · p95 ${pct(latencies, 95)} · p99 ${pct(latencies, 99)} ms; slowest #${slowest.index} ${slowest.ms} ms`,
  );
  await pgc.end();
  await stopAll();
  process.exit(0);
}

// ── 2. drain after a link cut ───────────────────────────────────────────────────────────────────────
// How many federation messages p01's FEDIN stream holds (read on the leaf server itself).
const { connect } = require('@nats-io/transport-node');
const { jetstreamManager } = require('@nats-io/jetstream');
async function fedinMessages() {
  const nc = await connect({ servers: leaf.url });
  try {
    const jsm = await jetstreamManager(nc);
    return (await jsm.streams.info(`${namespace.toUpperCase()}_FEDIN_P01`)).state.messages;
  } finally {
    await nc.close();
  }
}
const fedinBefore = await fedinMessages();
await leaf.stop();
const cutAt = performance.now();
const prefix = `DRAIN-${randomBytes(3).toString('hex')}-`;
let sent = 0;
let next = 0;
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (next < BACKLOG) {
      const i = next++;
      await send('central', DISTRICT, `${prefix}${i}`);
      sent++;
      if (sent % 100 === 0 || sent === BACKLOG) progress('backlog sent (link cut)', sent, BACKLOG);
    }
  }),
);
const sendSeconds = (performance.now() - cutAt) / 1000;
const remaining = CUT_SECONDS * 1000 - (performance.now() - cutAt);
if (remaining > 0) {
  process.stderr.write(`  link stays cut for another ${Math.round(remaining / 1000)} s\n`);
  await sleep(remaining);
}
const cutSeconds = (performance.now() - cutAt) / 1000;
await leaf.start();
const restoredAt = performance.now();
let linkCaughtUpSeconds = null;
void (async () => {
  // Until the sourced stream has the backlog (statuses and witness answers travel on it too: a lower bound).
  for (;;) {
    try {
      if ((await fedinMessages()) - fedinBefore >= BACKLOG) {
        linkCaughtUpSeconds = Math.round((performance.now() - restoredAt) / 100) / 10;
        return;
      }
    } catch {
      /* leaf still starting */
    }
    await sleep(250);
  }
})();
let last = { n: 0, d: 0 };
for (;;) {
  last = await arrived('p01', DISTRICT, prefix);
  progress('backlog drained at p01', last.n, BACKLOG);
  if (last.n >= BACKLOG) break;
  if (performance.now() - restoredAt > 3_600_000) break;
  await sleep(500);
}
const drainSeconds = (performance.now() - restoredAt) / 1000;
await sleep(5000);
const final = await arrived('p01', DISTRICT, prefix);

const results = {
  date: new Date().toISOString(),
  machine: { loadavg: (await import('node:os')).loadavg() },
  latencyDocuments: LATENCY_DOCS,
  crossNodeLatencyMs: {
    p50: pct(latencies, 50),
    p95: pct(latencies, 95),
    p99: pct(latencies, 99),
    max: pct(latencies, 100),
  },
  slowestLatencyDocument: slowest,
  backlog: BACKLOG,
  backlogSendSeconds: Math.round(sendSeconds),
  backlogSendRatePerSecond: Math.round(BACKLOG / sendSeconds),
  linkCutSeconds: Math.round(cutSeconds),
  drainSeconds: Math.round(drainSeconds * 10) / 10,
  backlogInFedinAfterSeconds: linkCaughtUpSeconds,
  drainRatePerSecond: Math.round(final.n / drainSeconds),
  arrived: final.n,
  distinct: final.d,
};
console.log(`
Federation (two nodes, hub + leaf nats-server, JetStream domains central / p01)
  cross-node delivery latency, p01 district → central office (${LATENCY_DOCS} docs, one at a time)
      p50 ${results.crossNodeLatencyMs.p50} ms · p95 ${results.crossNodeLatencyMs.p95} ms · p99 ${results.crossNodeLatencyMs.p99} ms
  backlog: ${BACKLOG} documents central office → district sent in ${results.backlogSendSeconds} s (${results.backlogSendRatePerSecond}/s) while the link was cut (${results.linkCutSeconds} s)
  the backlog was in p01's FEDIN stream ${results.backlogInFedinAfterSeconds} s after the leaf server restarted
  drain after the link returned: ${results.drainSeconds} s (${results.drainRatePerSecond} documents/s); arrived ${final.n}, distinct ${final.d}
  load average at the end: ${results.machine.loadavg.map((x) => x.toFixed(2)).join(' ')}
`);
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(
  join(ROOT, 'bench', 'results', `federation-${results.date.slice(0, 10)}.json`),
  JSON.stringify(results, null, 2),
);
await pgc.end();
await stopAll();
process.exit(0);
