// `npm run bench`: the platform end to end against the machine's own floor.
//   npm run bench -- [--documents 60] [--concurrency 8] [--paced 20]
// Starts the four services (own NATS namespace and schemas) and the SIMULATED national axis, seeds
// organizations, then sends documents with one signed ~100 KB PDF to three recipients (two local party
// organizations and one government agency through the simulator) and drives their acceptance (03).
// Prints a table and writes bench/results/<date>.json. Numbers are printed, never asserted.
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ensureInstalled,
  build,
  providePostgres,
  provideNats,
  ROOT,
  startService,
  waitReady,
} from '../scripts/platform.mjs';
import { measureFloor } from './floor.mjs';
import { arg, pct, progress, sleep } from './lib.mjs';

const DOCUMENTS = arg('documents', 60);
const CONCURRENCY = arg('concurrency', 8);
const PACED = arg('paced', 20);

ensureInstalled();
build();
const require = createRequire(import.meta.url);
const { makeCa, makeSigner, minimalPdf, signPdf } = require('@lienthong/testing');
const {
  NationalAxisSimulator,
} = require('../services/integration-bus/dist/national-axis-simulator/national-axis-simulator.js');
const { buildStatus, parsePackage } = require('../services/integration-bus/dist/edxml/index.js');

// ── infrastructure and processes ──────────────────────────────────────────────────────────────────
const pg = await providePostgres('lienthong_bench');
const nats = await provideNats();
const tag = randomBytes(3).toString('hex');
const ROOT_ORG = '000.00.00.G01';
const AGENCY = '000.00.00.B09';
const SECRET = randomBytes(24).toString('hex');
const ADMIN_PASSWORD = `Bench-${randomBytes(12).toString('hex')}`;
const sim = new NationalAxisSimulator({
  systems: { [ROOT_ORG]: SECRET },
  agencies: [{ code: AGENCY, name: 'Bộ Nội vụ (mô phỏng)' }],
});
const simUrl = await sim.start(0, '127.0.0.1');

const ca = makeCa('Bench CA');
// ASCII names: libs/testing's node-forge certificates do not encode non-ASCII names as UTF8String yet.
const signer = makeSigner('Van phong Tinh uy (bench)', ca);
const work = mkdtempSync(join(tmpdir(), 'lt-bench-'));
writeFileSync(join(work, 'ca.pem'), ca.pem);
const padding = Buffer.from(`%${'x'.repeat(98)}\n`.repeat(1000), 'latin1');
const pdf = signPdf(Buffer.concat([minimalPdf('Bench'), padding]), signer);

const SERVICES = [
  { name: 'identity', port: 4101, color: 36 },
  { name: 'documents', port: 4102, color: 32 },
  { name: 'integration-bus', port: 4103, color: 35 },
  { name: 'audit', port: 4104, color: 33 },
];
const url = Object.fromEntries(SERVICES.map((s) => [s.name, `http://127.0.0.1:${s.port}`]));
const shared = {
  DATABASE_URL: pg.url,
  NATS_URL: nats.url,
  LT_NAMESPACE: `bench${tag}`,
  LOG_LEVEL: 'warn',
  HOST: '127.0.0.1',
  JWKS_URL: `${url.identity}/.well-known/jwks.json`,
  ADMIN_PASSWORD,
  ROOT_ORG_CODE: ROOT_ORG,
  KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
  TOKEN_RATE_LIMIT_PER_IP: '100000',
  TRUST_ANCHORS: join(work, 'ca.pem'),
  ATTACHMENTS_DIR: join(work, 'attachments'),
  NATIONAL_AXIS_URL: simUrl,
  NATIONAL_AXIS_SYSTEM_ID: ROOT_ORG,
  NATIONAL_AXIS_SECRET: SECRET,
  NATIONAL_AXIS_POLL_MS: '250',
  GRPC_PORT: '0',
};
const procs = SERVICES.map((s) =>
  startService(
    s,
    {
      ...shared,
      PORT: String(s.port),
      DB_SCHEMA: `bench_${tag}_${s.name.replace('-', '_')}`,
    },
    {
      // --cpu-prof: V8 CPU profiles of every service, written on exit (read them with bench/profile-top.mjs).
      execArgv: process.argv.includes('--cpu-prof')
        ? ['--cpu-prof', `--cpu-prof-dir=${join(ROOT, 'bench', 'results', 'profiles', s.name)}`]
        : [],
      silent: true,
      onLine: (line) => appendFileSync(join(work, `${s.name}.log`), `${line}\n`),
    },
  ),
);
async function stopAll() {
  await Promise.all(
    procs.map(
      (p) => new Promise((r) => (p.exitCode !== null ? r() : (p.once('exit', r), p.kill('SIGTERM')))),
    ),
  );
  await sim.stop();
  const { default: pgMod } = await import('pg');
  const c = new pgMod.Client({ connectionString: pg.url });
  await c.connect();
  for (const s of SERVICES)
    await c.query(`DROP SCHEMA IF EXISTS "bench_${tag}_${s.name.replace('-', '_')}" CASCADE`);
  await c.end();
  await nats.stop();
  await pg.stop();
}
process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));
process.on('uncaughtException', (e) => {
  console.error(`\n✖ ${e.message}\n  service logs: ${work}`);
  if (process.env.BENCH_KEEP_ON_FAILURE) return; // leave everything running for inspection
  void stopAll().finally(() => process.exit(1));
});
process.on('unhandledRejection', (e) => {
  console.error(`\n✖ ${e instanceof Error ? e.message : e}`);
  void stopAll().finally(() => process.exit(1));
});
for (const s of SERVICES) {
  if (!(await waitReady(`${url[s.name]}/health/ready`, 90_000))) {
    console.error(`✖ ${s.name} did not become ready`);
    await stopAll();
    process.exit(1);
  }
}

const procStat = (pid) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return {
    cpuTicks: Number(stat[11]) + Number(stat[12]),
    rssMb: kb('VmRSS') / 1024,
    peakRssMb: kb('VmHWM') / 1024,
  };
};

// ── seed ──────────────────────────────────────────────────────────────────────────────────────────
async function api(service, method, path, token, body, raw) {
  const r = await fetch(`${url[service]}${path}`, {
    method,
    headers: {
      ...(raw ? {} : { 'Content-Type': 'application/json' }),
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
    body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
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
async function login(username, password) {
  const r = await api('identity', 'POST', '/api/v1/auth/token', undefined, {
    grant_type: 'password',
    username,
    password,
  });
  if (r.status !== 200) throw new Error(`login ${username}: ${r.status}`);
  return r.body.access_token;
}
const admin = await login('admin', ADMIN_PASSWORD);
const SENDER = '000.21.00.P21';
const LOCAL = ['000.22.00.P22', '000.23.00.P23'];
for (const [code, sector] of [[SENDER, 'party'], ...LOCAL.map((c) => [c, 'party']), [AGENCY, 'state']]) {
  await api('identity', 'POST', '/api/v1/organizations', admin, {
    code,
    name: `Bench ${code}`,
    ...(sector === 'party' ? { parentCode: ROOT_ORG } : {}),
    level: sector === 'party' ? 'province' : 'central',
    sector,
    zone: sector === 'party' ? 'party-wan' : 'internet',
  });
}
const userPassword = `Bench-user-${randomBytes(6).toString('hex')}`;
const tokens = {};
for (const [i, org] of [SENDER, ...LOCAL].entries()) {
  const u = await api('identity', 'POST', '/api/v1/users', admin, {
    username: `bench-clerk-${i}`,
    fullName: 'Văn thư',
    password: userPassword,
    organizationCode: org,
    roles: ['clerk'],
  });
  if (u.status !== 201) throw new Error(`user: ${u.status} ${JSON.stringify(u.body)}`);
  tokens[org] = await login(`bench-clerk-${i}`, userPassword);
}

// The government agency, played by this script through the simulator: answers 01 when a package
// arrives and 03 when asked to accept.
const answered = new Map();
let agencyRunning = true;
const agencyAccepts = new Set();
const agencyLoop = (async () => {
  while (agencyRunning) {
    for (const item of sim.received(AGENCY)) {
      if (item.messageType !== 'edoc') continue;
      let state = answered.get(item.docId);
      if (!state) {
        const { package: p } = parsePackage(item.content, { maxBytes: 64 * 1024 * 1024, maxDepth: 64 });
        state = { documentId: p.documentId, from: p.from.organId, sent: new Set() };
        answered.set(item.docId, state);
      }
      for (const code of ['01', ...(agencyAccepts.has(state.documentId) ? ['03'] : [])]) {
        if (state.sent.has(code)) continue;
        state.sent.add(code);
        sim.inject({
          from: AGENCY,
          to: [ROOT_ORG],
          messageType: 'status',
          content: Buffer.from(
            buildStatus({
              responseFor: { organId: state.from, documentId: state.documentId },
              from: { organId: AGENCY, organName: 'Bộ Nội vụ' },
              statusCode: code,
              timestamp: new Date().toISOString(),
            }),
          ),
        });
      }
    }
    await sleep(50);
  }
})();

// ── one document: create, attach, send, wait for 01 from all three recipients ──────────────────────
let seq = 0;
async function sendOne() {
  const n = ++seq;
  const created = await api('documents', 'POST', '/api/v1/documents', tokens[SENDER], {
    number: String(n),
    notation: `CV/BENCH-${tag}`,
    type: 'CV',
    subject: `Về việc kiểm thử hiệu năng số ${n}`,
    promulgationDate: new Date().toISOString().slice(0, 10),
    signer: { position: 'Chánh Văn phòng', fullName: 'Nguyễn Văn Bench' },
    secrecy: 'none',
    urgency: 'normal',
    recipients: [...LOCAL, AGENCY],
  });
  if (created.status !== 201) throw new Error(`create: ${created.status} ${JSON.stringify(created.body)}`);
  const id = created.body.id;
  const form = new FormData();
  form.append('file', new Blob([pdf], { type: 'application/pdf' }), 'quyet-dinh.pdf');
  const att = await api(
    'documents',
    'POST',
    `/api/v1/documents/${id}/attachments`,
    tokens[SENDER],
    undefined,
    form,
  );
  if (att.status !== 201) throw new Error(`attach: ${att.status} ${JSON.stringify(att.body)}`);
  const t0 = performance.now();
  const sent = await api('documents', 'POST', `/api/v1/documents/${id}/send`, tokens[SENDER]);
  if (sent.status !== 202) throw new Error(`send: ${sent.status} ${JSON.stringify(sent.body)}`);
  await waitStatus(id, '01');
  return {
    id,
    ms: performance.now() - t0,
    signed: att.body.signature?.valid === true && att.body.signature?.trusted === true,
    signature: att.body.signature,
  };
}
async function waitStatus(id, code, timeoutMs = 60_000) {
  const rank = { '01': 1, '03': 3, '04': 4, '05': 5, '06': 6 };
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const d = await api('documents', 'GET', `/api/v1/documents/${id}`, tokens[SENDER]);
    const rs = d.body.recipients ?? [];
    if (rs.length === 3 && rs.every((r) => (rank[r.statusCode] ?? 0) >= rank[code])) return;
    await sleep(25);
  }
  const last = await api('documents', 'GET', `/api/v1/documents/${id}`, tokens[SENDER]);
  throw new Error(
    `document ${id}: status ${code} not visible within ${timeoutMs} ms: ${JSON.stringify(last.body.recipients)}`,
  );
}
async function pool(total, concurrency, fn, label) {
  const results = [];
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        results.push(await fn());
        progress(label, ++done, total);
      }
    }),
  );
  return results;
}

// ── measurements ──────────────────────────────────────────────────────────────────────────────────
const idle = Object.fromEntries(SERVICES.map((s, i) => [s.name, procStat(procs[i].pid)]));
const auditBefore = (await api('audit', 'GET', '/api/v1/audit/checkpoint', admin)).body.treeSize ?? 0;
console.log(
  `\nLiên thông bench: ${DOCUMENTS} documents × 3 recipients, concurrency ${CONCURRENCY}, PDF ${Math.round(pdf.length / 1024)} KB (signed)`,
);

const satStart = performance.now();
const sat = await pool(DOCUMENTS, CONCURRENCY, sendOne, 'saturation');
const satSeconds = (performance.now() - satStart) / 1000;
const busy = Object.fromEntries(SERVICES.map((s, i) => [s.name, procStat(procs[i].pid)]));
const docsPerSec = DOCUMENTS / satSeconds;
const deliveriesPerSec = (DOCUMENTS * 3) / satSeconds;

// Half of saturation, paced: latency send → every recipient's 01 visible to the sender.
const pacedRate = docsPerSec / 2;
const pacedLat = [];
const pacedStart = performance.now();
await Promise.all(
  Array.from({ length: PACED }, async (_, i) => {
    await sleep((i / pacedRate) * 1000);
    const r = await sendOne();
    pacedLat.push(r.ms);
    progress('paced (50%)', pacedLat.length, PACED);
  }),
);
const pacedSeconds = (performance.now() - pacedStart) / 1000;

// Acceptance (03) of the paced documents by every recipient → 03 visible to the sender.
const incoming = {};
for (const org of LOCAL) {
  incoming[org] = [];
  let cursor;
  do {
    const r = await api(
      'documents',
      'GET',
      `/api/v1/documents?direction=incoming&limit=500${cursor ? `&cursor=${cursor}` : ''}`,
      tokens[org],
    );
    incoming[org].push(...r.body.items);
    cursor = r.body.nextCursor;
  } while (cursor);
}
const acceptLat = [];
const sample = sat.slice(0, Math.min(50, sat.length));
await Promise.all(
  sample.map(async (doc, i) => {
    await sleep((i / pacedRate) * 1000);
    const d = await api('documents', 'GET', `/api/v1/documents/${doc.id}`, tokens[SENDER]);
    const t0 = performance.now();
    for (const org of LOCAL) {
      const inc = incoming[org].find((x) => x.subject === d.body.subject);
      if (inc)
        await api('documents', 'POST', `/api/v1/documents/${inc.id}/status`, tokens[org], {
          status: 'accepted',
        });
    }
    const edxmlId = [...answered.values()].find(
      (a) => a.documentId.split(',')[2] === `${d.body.number}/${d.body.notation}`,
    )?.documentId;
    if (edxmlId) agencyAccepts.add(edxmlId);
    await waitStatus(doc.id, '03');
    acceptLat.push(performance.now() - t0);
    progress('acceptance (03)', acceptLat.length, sample.length);
  }),
);
const auditAfter = (await api('audit', 'GET', '/api/v1/audit/checkpoint', admin)).body.treeSize ?? 0;
const end = Object.fromEntries(SERVICES.map((s, i) => [s.name, procStat(procs[i].pid)]));
const totalSeconds = satSeconds + pacedSeconds;
agencyRunning = false;
await agencyLoop;

console.log('» measuring the floor (PostgreSQL, JetStream) at the same concurrency…');
const floor = await measureFloor({
  concurrency: CONCURRENCY,
  seconds: 5,
  databaseUrl: pg.url,
  natsUrl: nats.url,
});
await stopAll();

const ticks = 100; // USER_HZ on Linux
const perService = Object.fromEntries(
  SERVICES.map((s) => [
    s.name,
    {
      idleRssMb: Math.round(idle[s.name].rssMb),
      peakRssMb: Math.round(end[s.name].peakRssMb),
      cpuPercentDuringSaturation: Math.round(
        ((busy[s.name].cpuTicks - idle[s.name].cpuTicks) / ticks / satSeconds) * 100,
      ),
    },
  ]),
);
const result = {
  date: new Date().toISOString(),
  machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
  settings: {
    documents: DOCUMENTS,
    concurrency: CONCURRENCY,
    paced: PACED,
    pdfKb: Math.round(pdf.length / 1024),
    recipients: 3,
  },
  saturation: {
    seconds: +satSeconds.toFixed(2),
    documentsPerSec: +docsPerSec.toFixed(1),
    deliveriesPerSec: +deliveriesPerSec.toFixed(1),
    signedValidAndTrusted: sat.filter((r) => r.signed).length,
    sampleSignature: sat[0]?.signature,
  },
  latencyAtHalfLoadMs: {
    rateDocsPerSec: +pacedRate.toFixed(1),
    p50: pct(pacedLat, 50),
    p95: pct(pacedLat, 95),
    p99: pct(pacedLat, 99),
  },
  acceptanceLatencyMs: { p50: pct(acceptLat, 50), p95: pct(acceptLat, 95), p99: pct(acceptLat, 99) },
  auditEventsPerSec: +((auditAfter - auditBefore) / totalSeconds).toFixed(1),
  floor,
  ratios: {
    deliveriesVsPostgresInserts: +(deliveriesPerSec / floor.postgresInsertTxPerSec).toFixed(4),
    deliveriesVsJetStreamPublishes: +(deliveriesPerSec / floor.jetstreamPublishPerSec).toFixed(4),
  },
  services: perService,
};
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
const file = join(ROOT, 'bench', 'results', `${result.date.slice(0, 10)}.json`);
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);

const row = (k, v) => console.log(`  ${k.padEnd(46)} ${v}`);
console.log('\n  ─── results ───────────────────────────────────────────────────────────');
row('recipient deliveries/s at saturation', result.saturation.deliveriesPerSec);
row('documents/s at saturation', result.saturation.documentsPerSec);
row(
  `send → 01 at 50% (${result.latencyAtHalfLoadMs.rateDocsPerSec} docs/s) p50/p95/p99 ms`,
  `${result.latencyAtHalfLoadMs.p50} / ${result.latencyAtHalfLoadMs.p95} / ${result.latencyAtHalfLoadMs.p99}`,
);
row(
  'acceptance → 03 at sender p50/p95/p99 ms',
  `${result.acceptanceLatencyMs.p50} / ${result.acceptanceLatencyMs.p95} / ${result.acceptanceLatencyMs.p99}`,
);
row('audit events/s (appended)', result.auditEventsPerSec);
row('floor: PostgreSQL insert tx/s', floor.postgresInsertTxPerSec);
row('floor: JetStream publish/s (1 KB)', floor.jetstreamPublishPerSec);
row('deliveries / PostgreSQL floor', result.ratios.deliveriesVsPostgresInserts);
row('deliveries / JetStream floor', result.ratios.deliveriesVsJetStreamPublishes);
for (const [name, s] of Object.entries(perService)) {
  row(
    `${name}: idle RSS / peak RSS MB, CPU % at saturation`,
    `${s.idleRssMb} / ${s.peakRssMb}, ${s.cpuPercentDuringSaturation}%`,
  );
}
console.log(`\n  written to ${file}`);
process.exit(0);
