// Federation benchmark: two nodes of the platform on this machine, each with its own nats-server and JetStream
// domain (hub `central`, leaf `p01` dialling the hub as a leaf node), its own PostgreSQL cluster (its CPU is
// then that node's alone; `--shared-pg` or DATABASE_URL: one shared server, other schemas), its own ports.
//   node bench/federation.mjs [--latency 100] [--backlog 10000] [--cut-seconds 300] [--concurrency 48]
//        [--clerks 8] [--base-port 4300] [--cpu-prof] [--shared-pg] [--root <other checkout>] [--out <file>]
//   node bench/federation.mjs --large-mb 200   (only the large-file run below: bench/federation-large.mjs)
// 1. Cross-node delivery latency: documents sent one at a time (paced) from a provincial district (node p01)
//    to the central office; latency = send accepted (202) → the document is in the central office's incoming
//    register. Prints p50/p95/p99.
// 2. Drain: the leaf server is stopped (the link is cut), the central office's clerks (--clerks users, each
//    with its own token, --concurrency requests at a time) create and send --backlog documents to the
//    district through the public API while it is down (the sending node signs a package for each into its
//    FEDOUT stream), the cut lasts at least --cut-seconds, then the leaf is restarted and the time until every
//    one is in the district's register is measured. Then until every sender's row shows the district's 01
//    (the statuses travel back across the link) and the outboxes are empty ("settled").
// 3. Checks: every document arrived once (count = distinct subjects = backlog, none twice), the district's
//    incoming register numbered 1..n without gaps or repeats, every sender's row at 01, outboxes and both
//    dead-letter streams empty.
// CPU of every process (/proc: the four services of each node, each nats-server, each PostgreSQL cluster
// with all its backends) is reported per package for the backlog's creation, the drain, and restore→settled.
// `--root <dir>` runs the services from another checkout's build (a before/after on one machine in one
// session; the same bench, options and load generator). Numbers are printed and written to
// bench/results/federation-<time>.json (or --out), never asserted.
// --large-mb N: instead of 1. and 2., one signed PDF of N MiB uploaded by the central office's clerk and sent
//    to the district served by p01, with the peak RSS of every process of both nodes sampled while it passes
//    (bench/federation-large.mjs; results in bench/results/federation-large-<time>.json).
import { randomBytes, randomUUID } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
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
const CONCURRENCY = arg('concurrency', 48);
const CLERKS = Math.max(1, arg('clerks', 8));
/** --cpu-prof: V8 CPU profiles of every service in bench/results/profiles/fed-<node>-<service>/. */
const CPU_PROF = process.argv.includes('--cpu-prof');
const argText = (name) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
/** --root: the services are run from this checkout's build (it must have been built). */
const SERVICE_ROOT = argText('root') ? resolve(argText('root')) : ROOT;
const OUT = argText('out');
/** --large-mb N: the large-file run only (0: the latency and drain runs). */
const LARGE_MB = arg('large-mb', 0);

ensureInstalled();
build();
if (
  SERVICE_ROOT !== ROOT &&
  !existsSync(join(SERVICE_ROOT, 'services', 'integration-bus', 'dist', 'main.js'))
)
  throw new Error(`--root ${SERVICE_ROOT}: no build there (npx tsc -b tsconfig.build.json in it first)`);
const require = createRequire(import.meta.url);
const {
  NatsServerProcess,
  PostgresClusterProcess,
  postgresBinDir,
  freePort,
  makeCa,
} = require('@lienthong/testing');
const { generateSelfSigned } = require('../services/integration-bus/dist/edxml/node-certificate.js');
const pgMod = require('pg');

// ── infrastructure ────────────────────────────────────────────────────────────────────────────────
const namespace = `fed${randomBytes(3).toString('hex')}`;
// One PostgreSQL cluster per node (as in a deployment, and so each node's database CPU can be told apart),
// unless --shared-pg / DATABASE_URL / no server binaries here.
const SHARED_PG = process.argv.includes('--shared-pg') || !!process.env.DATABASE_URL || !postgresBinDir();
const pgOf = {};
if (SHARED_PG) {
  const shared = await providePostgres('lienthong_bench');
  pgOf.central = { url: shared.url, stop: shared.stop };
  pgOf.p01 = { url: shared.url, stop: async () => {} };
} else {
  for (const node of ['central', 'p01']) {
    const cluster = new PostgresClusterProcess();
    await cluster.start();
    pgOf[node] = {
      url: cluster.url('postgres'),
      cluster,
      stop: async () => {
        await cluster.stop();
        rmSync(cluster.dir, { recursive: true, force: true });
      },
    };
  }
}
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
// --large-mb: a CA trusted for document signatures on both nodes, and the limits a package of that size needs
// (set explicitly: the documented defaults are a 50 MiB attachment and a 512 MiB edXML package). The PDF travels
// base64 in the package (4/3 of its size), in raw parts of FEDERATION_PART_BYTES under the hub's max_payload.
const largeCa = LARGE_MB ? makeCa('Bench federation CA') : undefined;
if (largeCa) writeFileSync(join(work, 'ca.pem'), largeCa.pem);
const largeMbBytes = LARGE_MB * 2 ** 20;
const largeEnv = LARGE_MB
  ? {
      documents: {
        TRUST_ANCHORS: join(work, 'ca.pem'),
        ATTACHMENT_MAX_BYTES: String(Math.max(50 * 2 ** 20, largeMbBytes + 2 ** 20)),
      },
      'integration-bus': {
        EDXML_MAX_BYTES: String(Math.max(512 * 2 ** 20, Math.ceil(largeMbBytes * 1.4) + 2 ** 20)),
        FEDERATION_PART_BYTES: String(512 * 1024),
      },
    }
  : {};
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
          DATABASE_URL: pgOf[node].url,
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
          ...(largeEnv[s] ?? {}),
        },
        {
          silent: true,
          root: SERVICE_ROOT,
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
  nodes[node] = { url, adminPassword, schemas, procs: procs.slice(-SERVICE_NAMES.length) };
  nodes[node].pids = Object.fromEntries(SERVICE_NAMES.map((s, i) => [s, nodes[node].procs[i].pid]));
  base += 10;
}

async function stopAll() {
  await Promise.all(
    procs.map(
      (p) => new Promise((r) => (p.exitCode !== null ? r() : (p.once('exit', r), p.kill('SIGTERM')))),
    ),
  );
  if (SHARED_PG) {
    const c = new pgMod.Client({ connectionString: pgOf.central.url });
    await c.connect();
    for (const n of Object.values(nodes))
      for (const s of n.schemas) await c.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    await c.end();
  }
  await leaf.destroy();
  await hub.destroy();
  await pgOf.central.stop();
  await pgOf.p01.stop();
}
process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));
// A failure at top level ends the process without stopAll: never leave the servers behind.
process.on('exit', () => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  for (const pid of [hub.pid, leaf.pid]) if (pid) process.kill(pid, 'SIGKILL');
  for (const n of ['central', 'p01']) if (pgOf[n]?.cluster?.pid) process.kill(pgOf[n].cluster.pid, 'SIGINT');
});
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
/** The central office's clerks sending the backlog, each with its own token (`--clerks`). */
const centralClerks = [];
for (const [node, username, org] of [
  ['central', 'clerk.central', CENTRAL_OFFICE],
  ...Array.from({ length: CLERKS - 1 }, (_, i) => ['central', `clerk.central.${i + 2}`, CENTRAL_OFFICE]),
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
  const token = await login(node, username, PASSWORD);
  clerk[node] ??= token;
  if (node === 'central') centralClerks.push(token);
}

/** Document numbers: unique per office and register year (a random one collided within a 10,000 backlog). */
let numbered = 0;
async function send(node, to, subject, token = clerk[node]) {
  const c = await api(node, 'documents', 'POST', '/api/v1/documents', token, {
    number: String(100_000 + ++numbered),
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
  const s = await api(node, 'documents', 'POST', `/api/v1/documents/${c.body.id}/send`, token);
  if (s.status !== 202) throw new Error(`send: ${s.status} ${JSON.stringify(s.body)}`);
  return c.body.id;
}
const pgc = {};
for (const node of ['central', 'p01']) {
  pgc[node] = new pgMod.Client({ connectionString: pgOf[node].url });
  await pgc[node].connect();
}
const schemaOf = (node, service) => nodes[node].schemas[SERVICE_NAMES.indexOf(service)];
const documentsSchema = (node) => schemaOf(node, 'documents');
/** Incoming documents of `org` at `node` whose subject starts with `prefix`: count and distinct subjects. */
async function arrived(node, org, prefix) {
  const r = await pgc[node].query(
    `SELECT count(*)::int AS n, count(DISTINCT subject)::int AS d FROM "${documentsSchema(node)}".documents WHERE organization_code = $1 AND direction = 'incoming' AND subject LIKE $2`,
    [org, `${prefix}%`],
  );
  return r.rows[0];
}

// ── CPU of every process, from /proc ────────────────────────────────────────────────────────────────
const TICKS = 100; // USER_HZ
function statFields(pid) {
  try {
    const raw = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return raw.slice(raw.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}
/** Own CPU ticks of a process (all its threads). */
function ownTicks(pid) {
  const f = pid ? statFields(pid) : null;
  return f ? Number(f[11]) + Number(f[12]) : 0;
}
/** A PostgreSQL cluster: the postmaster, its live children, and (cutime/cstime) the backends that exited. */
function treeTicks(rootPid) {
  if (!rootPid) return 0;
  const all = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const f = statFields(d);
    if (f)
      all.set(Number(d), { ppid: Number(f[1]), ticks: f.slice(11, 15).reduce((a, x) => a + Number(x), 0) });
  }
  let total = 0;
  const stack = [rootPid];
  while (stack.length) {
    const pid = stack.pop();
    const s = all.get(pid);
    if (!s) continue;
    total += s.ticks;
    for (const [child, cs] of all) if (cs.ppid === pid) stack.push(child);
  }
  return total;
}
function cpuSnapshot() {
  const ticks = {};
  for (const node of ['central', 'p01']) {
    nodes[node].procs.forEach((p, i) => (ticks[`${node} ${SERVICE_NAMES[i]}`] = ownTicks(p.pid)));
    ticks[`${node} nats-server`] = ownTicks((node === 'central' ? hub : leaf).pid);
    if (!SHARED_PG) ticks[`${node} postgresql`] = treeTicks(pgOf[node].cluster.pid);
  }
  ticks['load generator'] = ownTicks(process.pid);
  return { at: performance.now(), ticks };
}
/** CPU milliseconds per package per process between two snapshots, with the % of one core over the window. */
function cpuPer(a, b, n) {
  const seconds = (b.at - a.at) / 1000;
  const perPackageMs = {};
  const percentOfCore = {};
  for (const k of Object.keys(b.ticks)) {
    const ms = ((b.ticks[k] - (a.ticks[k] ?? 0)) / TICKS) * 1000;
    perPackageMs[k] = +(ms / n).toFixed(2);
    percentOfCore[k] = Math.round((ms / 1000 / seconds) * 100);
  }
  const sum = (pred) =>
    +Object.entries(perPackageMs)
      .filter(([k]) => pred(k))
      .reduce((x, [, v]) => x + v, 0)
      .toFixed(2);
  return {
    seconds: +seconds.toFixed(1),
    perPackageMs,
    totalMs: {
      central: sum((k) => k.startsWith('central ')),
      p01: sum((k) => k.startsWith('p01 ')),
      all: sum(() => true),
    },
    percentOfCore,
  };
}

if (LARGE_MB) {
  const { runFederationLarge } = await import('./federation-large.mjs');
  await runFederationLarge({
    mb: LARGE_MB,
    nodes,
    natsPids: { hub: hub.pid, leaf: leaf.pid },
    api,
    clerk,
    from: 'central',
    to: 'p01',
    sender: CENTRAL_OFFICE,
    recipient: DISTRICT,
    ca: largeCa,
    work,
    env: largeEnv,
  });
  for (const c of Object.values(pgc)) await c.end();
  await stopAll();
  // The two copies of the PDF (the logs stay in the work directory).
  for (const node of Object.keys(nodes)) rmSync(join(work, node), { recursive: true, force: true });
  process.exit(0);
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
async function closeAll() {
  await pgc.central.end();
  await pgc.p01.end();
  await stopAll();
}
if (BACKLOG <= 0) {
  console.log(
    `cross-node latency p50 ${pct(latencies, 50)} · p95 ${pct(latencies, 95)} · p99 ${pct(latencies, 99)} ms; slowest #${slowest.index} ${slowest.ms} ms`,
  );
  await closeAll();
  process.exit(0);
}

// ── 2. drain after a link cut ───────────────────────────────────────────────────────────────────────
const { connect } = require('@nats-io/transport-node');
const { jetstreamManager } = require('@nats-io/jetstream');
/** Messages in a stream of one server (0 when the stream does not exist). */
async function streamMessages(server, stream) {
  const nc = await connect({ servers: server.url });
  try {
    const jsm = await jetstreamManager(nc);
    return (await jsm.streams.info(stream)).state.messages;
  } catch (e) {
    if (/not found/i.test(String(e?.message))) return 0;
    throw e;
  } finally {
    await nc.close();
  }
}
// Messages to p01 in the hub's FEDOUT (the backlog is complete when the central bus has signed every package).
const fedoutSubject = `${namespace}.fed.p01.msg`;
async function fedoutBacklog() {
  const nc = await connect({ servers: hub.url });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(`${namespace.toUpperCase()}_FEDOUT`, {
      subjects_filter: fedoutSubject,
    });
    return info.state.subjects?.[fedoutSubject] ?? 0;
  } finally {
    await nc.close();
  }
}
// How many federation messages p01's FEDIN stream holds (read on the leaf server itself).
const fedinMessages = () => streamMessages(leaf, `${namespace.toUpperCase()}_FEDIN_P01`);
const fedinBefore = await fedinMessages();
const fedoutBefore = await fedoutBacklog();
await leaf.stop();
const cpuCutAt = cpuSnapshot();
const cutAt = performance.now();
const prefix = `DRAIN-${randomBytes(3).toString('hex')}-`;
let sent = 0;
let next = 0;
await Promise.all(
  Array.from({ length: CONCURRENCY }, async (_, worker) => {
    const token = centralClerks[worker % centralClerks.length];
    while (next < BACKLOG) {
      const i = next++;
      await send('central', DISTRICT, `${prefix}${i}`, token);
      sent++;
      if (sent % 100 === 0 || sent === BACKLOG) progress('backlog sent (link cut)', sent, BACKLOG);
    }
  }),
);
const sendSeconds = (performance.now() - cutAt) / 1000;
for (;;) {
  const n = await fedoutBacklog();
  progress('packages in FEDOUT', Math.min(n - fedoutBefore, BACKLOG), BACKLOG);
  if (n - fedoutBefore >= BACKLOG && !(await outboxes())['central integration-bus']) break;
  if (performance.now() - cutAt > 3_600_000) throw new Error('the backlog never reached FEDOUT');
  await sleep(500);
}
const backlogReadySeconds = (performance.now() - cutAt) / 1000;
const cpuBacklogReady = cpuSnapshot();
const remaining = CUT_SECONDS * 1000 - (performance.now() - cutAt);
if (remaining > 0) {
  process.stderr.write(`  link stays cut for another ${Math.round(remaining / 1000)} s\n`);
  await sleep(remaining);
}
const cutSeconds = (performance.now() - cutAt) / 1000;
const loadAtRestore = loadavg();
await leaf.start();
const restoredAt = performance.now();
const cpuRestored = cpuSnapshot();
let linkCaughtUpSeconds = null;
let stopWatching = false;
void (async () => {
  // Until the sourced stream has the backlog (statuses and witness answers travel on it too: a lower bound).
  while (!stopWatching) {
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
let firstArrivalSeconds = null;
const curve = [];
for (;;) {
  last = await arrived('p01', DISTRICT, prefix);
  const t = (performance.now() - restoredAt) / 1000;
  if (last.n > 0 && firstArrivalSeconds === null) firstArrivalSeconds = Math.round(t * 10) / 10;
  if (!curve.length || t - curve[curve.length - 1][0] >= 1 || last.n >= BACKLOG)
    curve.push([Math.round(t * 10) / 10, last.n]);
  progress('backlog drained at p01', last.n, BACKLOG);
  if (last.n >= BACKLOG) break;
  if (t > 3600) break;
  await sleep(200);
}
const drainSeconds = (performance.now() - restoredAt) / 1000;
const cpuDrained = cpuSnapshot();
stopWatching = true;

// ── 3. settled: every sender's row at the district's 01, every outbox empty ─────────────────────────
async function senderRowsAt01() {
  const s = documentsSchema('central');
  const r = await pgc.central.query(
    `SELECT count(*)::int AS n FROM "${s}".document_recipients r JOIN "${s}".documents d ON d.id = r.document_id
      WHERE d.direction = 'outgoing' AND d.subject LIKE $1 AND r.organization_code = $2 AND r.status_code = '01'`,
    [`${prefix}%`, DISTRICT],
  );
  return r.rows[0].n;
}
async function outboxes() {
  const out = {};
  for (const node of ['central', 'p01'])
    for (const service of SERVICE_NAMES) {
      const schema = schemaOf(node, service);
      const c = pgc[node];
      const t = (await c.query('SELECT to_regclass($1) AS t', [`"${schema}".outbox`])).rows[0].t;
      out[`${node} ${service}`] = t
        ? (await c.query(`SELECT count(*)::int AS n FROM "${schema}".outbox`)).rows[0].n
        : null;
    }
  return out;
}
let at01 = 0;
let outbox = {};
for (;;) {
  at01 = await senderRowsAt01();
  outbox = await outboxes();
  progress("sender's rows at 01", at01, BACKLOG);
  if (at01 >= BACKLOG && Object.values(outbox).every((n) => !n)) break;
  if (performance.now() - restoredAt > 3_600_000) break;
  await sleep(500);
}
const settledSeconds = (performance.now() - restoredAt) / 1000;
const cpuSettled = cpuSnapshot();

// ── checks ──────────────────────────────────────────────────────────────────────────────────────────
await sleep(3000); // a late duplicate would show up here
const final = await arrived('p01', DISTRICT, prefix);
const doubled = (
  await pgc.p01.query(
    `SELECT count(*)::int AS n FROM (SELECT subject FROM "${documentsSchema('p01')}".documents
      WHERE organization_code = $1 AND direction = 'incoming' AND subject LIKE $2 GROUP BY subject HAVING count(*) > 1) x`,
    [DISTRICT, `${prefix}%`],
  )
).rows[0].n;
// The district's incoming register of this year holds only this backlog: numbers 1..n, none twice.
const register = (
  await pgc.p01.query(
    `SELECT count(*)::int AS n, count(DISTINCT register_number)::int AS d, coalesce(min(register_number), 0)::int AS lo,
            coalesce(max(register_number), 0)::int AS hi
       FROM "${documentsSchema('p01')}".documents
      WHERE organization_code = $1 AND direction = 'incoming' AND register_year = $2`,
    [DISTRICT, Number(new Date().getFullYear())],
  )
).rows[0];
const registerGapFree = register.n === register.d && register.lo === 1 && register.hi === register.n;
// The district's bus: one exchange per package, each moved to delivered by the district's 01.
const receiverExchanges = (
  await pgc.p01.query(
    `SELECT count(*)::int AS n, count(*) FILTER (WHERE state = 'delivered')::int AS delivered
       FROM "${schemaOf('p01', 'integration-bus')}".exchanges WHERE to_code = $1 AND route = 'local'`,
    [DISTRICT],
  )
).rows[0];
const dlqName = `${namespace.toUpperCase()}_DLQ`;
const deadLetters = { central: await streamMessages(hub, dlqName), p01: await streamMessages(leaf, dlqName) };
outbox = await outboxes();
at01 = await senderRowsAt01();
const checks = {
  arrived: final.n,
  distinct: final.d,
  doubled,
  register,
  registerGapFree,
  senderRowsAt01: at01,
  receiverExchanges,
  outbox,
  deadLetters,
};
checks.ok =
  final.n === BACKLOG &&
  final.d === BACKLOG &&
  doubled === 0 &&
  registerGapFree &&
  at01 === BACKLOG &&
  receiverExchanges.n === BACKLOG &&
  receiverExchanges.delivered === BACKLOG &&
  Object.values(outbox).every((n) => !n) &&
  deadLetters.central === 0 &&
  deadLetters.p01 === 0;

const results = {
  date: new Date().toISOString(),
  serviceRoot: SERVICE_ROOT,
  options: {
    backlog: BACKLOG,
    concurrency: CONCURRENCY,
    clerks: CLERKS,
    cutSeconds: CUT_SECONDS,
    sharedPg: SHARED_PG,
  },
  machine: {
    loadavgAtRestore: loadAtRestore.map((x) => +x.toFixed(2)),
    loadavg: loadavg().map((x) => +x.toFixed(2)),
  },
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
  backlogInFedoutSeconds: Math.round(backlogReadySeconds),
  linkCutSeconds: Math.round(cutSeconds),
  drainSeconds: Math.round(drainSeconds * 10) / 10,
  backlogInFedinAfterSeconds: linkCaughtUpSeconds,
  firstArrivalSeconds,
  drainRatePerSecond: Math.round(final.n / drainSeconds),
  /** From the first arrival to the last: the receiving node's own rate, without the link's reconnection. */
  drainRateAfterFirstArrivalPerSecond:
    firstArrivalSeconds === null
      ? null
      : Math.round(final.n / Math.max(0.1, drainSeconds - firstArrivalSeconds)),
  settledSeconds: Math.round(settledSeconds * 10) / 10,
  arrived: final.n,
  distinct: final.d,
  checks,
  cpu: {
    backlogCreation: cpuPer(cpuCutAt, cpuBacklogReady, BACKLOG),
    drain: cpuPer(cpuRestored, cpuDrained, BACKLOG),
    restoreToSettled: cpuPer(cpuRestored, cpuSettled, BACKLOG),
  },
  drainCurve: curve,
};
const cpuLine = (c) =>
  Object.entries(c.perPackageMs)
    .filter(([, v]) => v >= 0.05)
    .map(([k, v]) => `${k} ${v}`)
    .join(' · ');
console.log(`
Federation (two nodes, hub + leaf nats-server, JetStream domains central / p01${SHARED_PG ? ', one shared PostgreSQL' : ', a PostgreSQL cluster each'})${SERVICE_ROOT !== ROOT ? `\n  services from ${SERVICE_ROOT}` : ''}
  cross-node delivery latency, p01 district → central office (${LATENCY_DOCS} docs, one at a time)
      p50 ${results.crossNodeLatencyMs.p50} ms · p95 ${results.crossNodeLatencyMs.p95} ms · p99 ${results.crossNodeLatencyMs.p99} ms
  backlog: ${BACKLOG} documents central office → district sent by ${CLERKS} clerks (${CONCURRENCY} at a time) in ${results.backlogSendSeconds} s (${results.backlogSendRatePerSecond}/s), all in FEDOUT after ${results.backlogInFedoutSeconds} s; link cut ${results.linkCutSeconds} s
      CPU ms per document sent: ${cpuLine(results.cpu.backlogCreation)}
  the backlog was in p01's FEDIN stream ${results.backlogInFedinAfterSeconds} s after the leaf server restarted; first arrival after ${firstArrivalSeconds} s
  drain after the link returned: ${results.drainSeconds} s (${results.drainRatePerSecond} documents/s; ${results.drainRateAfterFirstArrivalPerSecond}/s from the first arrival)
      CPU ms per package (drain): ${cpuLine(results.cpu.drain)}
      total ${results.cpu.drain.totalMs.all} (central ${results.cpu.drain.totalMs.central}, p01 ${results.cpu.drain.totalMs.p01})
  settled (every sender's row at 01, outboxes empty) ${results.settledSeconds} s after the restore
      CPU ms per package (restore → settled): ${cpuLine(results.cpu.restoreToSettled)}
      total ${results.cpu.restoreToSettled.totalMs.all} (central ${results.cpu.restoreToSettled.totalMs.central}, p01 ${results.cpu.restoreToSettled.totalMs.p01})
  checks: arrived ${final.n}, distinct ${final.d}, doubled ${doubled}, register ${register.n} numbers ${register.lo}..${register.hi} (${registerGapFree ? 'gap-free' : 'GAPS OR REPEATS'}), sender rows at 01 ${at01}, district exchanges ${receiverExchanges.delivered}/${receiverExchanges.n} delivered, outboxes ${JSON.stringify(outbox)}, dead letters ${JSON.stringify(deadLetters)} → ${checks.ok ? 'OK' : 'FAILED'}
  load average at the restore ${results.machine.loadavgAtRestore.join(' ')}, at the end ${results.machine.loadavg.join(' ')}
`);
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
const out =
  OUT ?? join(ROOT, 'bench', 'results', `federation-${results.date.slice(0, 16).replace(':', '')}.json`);
writeFileSync(out, JSON.stringify(results, null, 2));
console.log(`  → ${out}`);
await closeAll();
process.exit(checks.ok ? 0 : 2);
