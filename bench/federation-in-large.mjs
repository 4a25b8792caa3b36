// `node bench/federation-in-large.mjs [--mb 200] [--nats nats://127.0.0.1:4222]`: the RECEIVING side of a
// federation transfer of a large signed package, measured in its own process. A sending node's FederationLink
// (the bus's code, dist) publishes the package's parts from its file into a FEDIN-like stream of a namespace of
// its own; then a fresh child process — the receiving node's FederationLink, the streamed reader and the
// object store, as FederationHandler.applyPackage chains them — opens the message, reads the parts one at a
// time into the reader (signature checked, attachment decoded to a temporary file) and stores the attachment.
// The child's VmHWM is its peak memory; its RSS before the transfer is the baseline of the modules loaded
// (a bus process starts at about 150 MB with Nest, TypeORM and the rest). Needs a NATS with JetStream.
// Runs from the build (npx tsc -b tsconfig.build.json). Prints and writes bench/results/federation-in-large-*.json.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const RECEIVER = process.argv.includes('--receiver');
if (!RECEIVER) process.env.LT_NAMESPACE = `fedin${Date.now().toString(36)}`;
const require = createRequire(import.meta.url);
require('reflect-metadata');
const dist = (p) => require(join(ROOT, 'services/integration-bus/dist', p));
const { connect } = require('@nats-io/transport-node');
const { jetstream, jetstreamManager } = require('@nats-io/jetstream');
const { Objm } = require('@nats-io/obj');
const { Buckets, streamName, Subjects } = require('@lienthong/contracts');
const { IntegrationBusConfig } = dist('config/integration-bus.config.js');
const { FederationLink } = dist('federation/federation-link.js');
const { BusObjectStore } = dist('exchanges/object-store.js');
const edxml = dist('edxml/index.js');
const NATS = arg('nats', 'nats://127.0.0.1:4222');
const rss = () => {
  const s = readFileSync('/proc/self/status', 'utf8');
  const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0) / 1024;
  return { rss: Math.round(kb('VmRSS')), hwm: Math.round(kb('VmHWM')) };
};

function link(nodeId, own, trusted, js) {
  const config = Object.assign(new IntegrationBusConfig(), {
    NODE_ID: nodeId,
    EDXML_MAX_BYTES: 2 ** 31,
    FEDERATION_PART_BYTES: 512 * 1024,
  });
  const node = { credentials: own, trusted: [own.certPem, ...trusted] };
  return { link: new FederationLink(js, {}, node, config), node, config };
}

if (RECEIVER) {
  // ── the receiving node, in a fresh process ──
  const job = JSON.parse(readFileSync(arg('job'), 'utf8'));
  const nc = await connect({ servers: NATS });
  const js = { manager: () => jetstreamManager(nc), js: jetstream(nc) };
  const { link: p01, node } = link('p01', job.p01, [job.central.certPem], js);
  global.gc?.();
  const before = rss();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const opened = await p01.open(job.ev);
  const read = await edxml.readEdxml(opened.package, {
    maxBytes: 2 ** 31,
    maxRecipients: 20000,
    maxMetadataBytes: 8 * 1024 * 1024,
    memoryBytes: 4 * 1024 * 1024,
    tempDir: job.temp,
    trusted: node.trusted,
  });
  const a = read.message.package.attachments[0];
  const store = new BusObjectStore(nc);
  await store.putFile(a.file, a.sha256, a.size);
  await read.cleanup();
  const cpu = process.cpuUsage(cpu0);
  const after = rss();
  process.stdout.write(
    JSON.stringify({
      signature: read.signature,
      attachment: { size: a.size, sha256: a.sha256 },
      seconds: (performance.now() - t0) / 1000,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      rssBeforeMb: before.rss,
      vmHwmMb: after.hwm,
    }) + '\n',
  );
  await nc.drain();
  process.exit(0);
}

// ── the sending node ──
const MB = Number(arg('mb', 200));
const work = mkdtempSync(join(tmpdir(), 'fed-in-large-'));
const nc = await connect({ servers: NATS });
const jsm = await jetstreamManager(nc);
const central = edxml.generateSelfSigned('lienthong-bus-central', 2048);
const p01cred = edxml.generateSelfSigned('lienthong-bus-p01', 2048);
// The receiving node's inbound stream holds the parts (in the platform it sources them from the sender's FEDOUT).
await jsm.streams.add({ name: streamName('FEDIN_p01'), subjects: [Subjects.federationTo('p01')] });
const result = { at: new Date().toISOString(), mb: MB, loadAverage: [loadavg().map((x) => +x.toFixed(2))] };
try {
  const pdf = join(work, 'large.pdf');
  const fd = openSync(pdf, 'w');
  for (let left = MB * 1024 * 1024; left > 0; left -= 4 * 1024 * 1024)
    writeSync(fd, randomBytes(Math.min(left, 4 * 1024 * 1024)));
  closeSync(fd);
  const pkgPath = join(work, 'package.xml');
  const { createReadStream } = await import('node:fs');
  const written = await edxml.writeSignedPackage(
    {
      from: { organId: '000.00.00.H01' },
      to: [{ organId: '000.00.01.T01' }],
      documentId: edxml.formatDocumentId('000.00.00.H01', '2026-11-30', '7', 'CV'),
      codeNumber: '7',
      codeNotation: 'CV',
      promulgationDate: '2026-11-30',
      type: 'CV',
      subject: 'Tệp lớn qua liên thông',
      signer: {},
      priority: 0,
      steeringType: 0,
      toPlaces: [],
      responseFor: [],
      traces: [],
      businessDocType: 0,
      attachments: [{ contentId: 'cid:1', name: 'large.pdf', contentType: 'application/pdf' }],
    },
    () => createReadStream(pdf, { highWaterMark: 1024 * 1024 }),
    central,
    pkgPath,
  );
  rmSync(pdf);
  const { link: sender } = link('central', central, [p01cred.certPem], { js: jetstream(nc) });
  const ev = await sender.message(
    'p01',
    { kind: 'package', sourceDocumentId: 'bench' },
    {
      file: { path: pkgPath, size: written.size },
    },
  );
  rmSync(pkgPath);
  result.packageBytes = written.size;
  result.parts = ev.transfer.parts;
  const jobPath = join(work, 'job.json');
  writeFileSync(jobPath, JSON.stringify({ ev, central, p01: p01cred, temp: work }));
  const child = spawn(
    process.execPath,
    [fileURLToPath(import.meta.url), '--receiver', '--job', jobPath, '--nats', NATS],
    {
      env: process.env,
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const code = await new Promise((r) => child.on('exit', r));
  if (code !== 0) throw new Error(`receiver exited ${code}`);
  result.receiver = JSON.parse(out.trim().split('\n').pop());
  result.loadAverage.push(loadavg().map((x) => +x.toFixed(2)));
  const r = result.receiver;
  console.log(
    `federation IN, ${MB} MiB attachment (${(result.packageBytes / 2 ** 20).toFixed(0)} MiB package, ${result.parts} parts): ` +
      `signature ${r.signature.valid ? 'valid' : 'NOT valid'}${r.signature.trusted ? ', trusted' : ''}; ` +
      `${r.seconds.toFixed(1)} s, ${r.cpuSeconds.toFixed(1)} CPU s; receiver RSS before ${r.rssBeforeMb} MB, VmHWM ${r.vmHwmMb} MB ` +
      `(+${r.vmHwmMb - r.rssBeforeMb} MB); load ${result.loadAverage.map((l) => l[0]).join(' → ')}`,
  );
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(
    join(ROOT, 'bench/results', `federation-in-large-${result.at.replace(/[:.]/g, '-')}.json`),
    JSON.stringify(result, null, 2),
  );
} finally {
  await jsm.streams.delete(streamName('FEDIN_p01')).catch(() => undefined);
  await jsm.streams.delete(`OBJ_${Buckets.attachments()}`).catch(() => undefined);
  await nc.drain();
  rmSync(work, { recursive: true, force: true });
}
