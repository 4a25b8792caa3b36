// `node bench/edxml-verify.mjs [--kb 150] [--n 300]`: CPU per received package, the old path (xmldom DOM
// parse + xml-crypto verification, what the bus did before) against the streamed reader (one pass: exclusive
// c14n digest while tokenising, attachments decoded, SignedInfo verified, metadata DOM-parsed), in one run
// on the same packages. Runs from the build (npx tsc -b tsconfig.build.json first). Prints and writes JSON
// to bench/results/.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const edxml = await import(join(ROOT, 'services/integration-bus/dist/edxml/index.js'));
const { buildSignedPackage, formatDocumentId, generateSelfSigned, parseEdxml, readEdxml, verifyPackage } =
  edxml.default ?? edxml;

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const KB = arg('kb', 150);
const N = arg('n', 300);

const node = generateSelfSigned('lienthong-bus-bench', 2048);
const trusted = [node.certPem];
const LIMITS = { maxBytes: 64 * 1024 * 1024, maxRecipients: 20000 };
const packages = Array.from({ length: 8 }, (_, i) =>
  Buffer.from(
    buildSignedPackage(
      {
        from: { organId: '000.00.00.H01', organName: 'Văn phòng Trung ương' },
        to: [{ organId: '000.00.00.G22' }, { organId: '000.00.00.G23' }],
        documentId: formatDocumentId('000.00.00.H01', '2026-11-20', String(100 + i), 'CV/VPTW'),
        codeNumber: String(100 + i),
        codeNotation: 'CV/VPTW',
        promulgationDate: '2026-11-20',
        type: '1',
        typeName: 'Công văn',
        subject: `Về việc triển khai chuyển đổi số, lần ${i}`,
        content: 'Nội dung văn bản & trích dẫn',
        signer: { competence: 'TL. CHÁNH VĂN PHÒNG', fullName: 'Trần Thị B' },
        priority: 0,
        steeringType: 0,
        toPlaces: [],
        responseFor: [],
        traces: [{ organId: '000.00.00.H01', timestamp: '2026-11-20T03:04:05.000Z' }],
        businessDocType: 0,
        attachments: [
          {
            contentId: 'cid:1',
            name: 'van-ban.pdf',
            contentType: 'application/pdf',
            content: randomBytes(Math.floor((KB * 1024 * 3) / 4)),
          },
        ],
      },
      node,
    ),
    'utf8',
  ),
);

function oldPath(bytes) {
  const msg = parseEdxml(bytes, LIMITS);
  const sig = verifyPackage(bytes.toString('utf8'), trusted, LIMITS.maxBytes);
  if (msg.kind !== 'package' || !sig.valid) throw new Error('old path: not valid');
}

async function newPath(bytes) {
  const r = await readEdxml(bytes, {
    ...LIMITS,
    maxMetadataBytes: 8 * 1024 * 1024,
    memoryBytes: 8 * 1024 * 1024,
    trusted,
  });
  if (r.message.kind !== 'package' || !r.signature.valid) throw new Error('new path: not valid');
  await r.cleanup();
}

async function measure(fn, n) {
  const t0 = process.cpuUsage();
  const w0 = performance.now();
  for (let i = 0; i < n; i++) await fn(packages[i % packages.length]);
  const cpu = process.cpuUsage(t0);
  return { cpuMsPer: (cpu.user + cpu.system) / 1000 / n, wallMsPer: (performance.now() - w0) / n };
}

const load = [loadavg()];
// Warm up both, then alternate rounds so the machine's load falls on both alike.
await measure(oldPath, 20);
await measure(newPath, 50);
const rounds = { old: [], streamed: [] };
for (let r = 0; r < 3; r++) {
  rounds.old.push(await measure(oldPath, Math.ceil(N / 5)));
  rounds.streamed.push(await measure(newPath, N));
}
load.push(loadavg());
const best = (xs) => xs.reduce((a, b) => (b.cpuMsPer < a.cpuMsPer ? b : a));
const result = {
  at: new Date().toISOString(),
  packageBytes: packages[0].length,
  n: N,
  loadavg: load.map((l) => l.map((x) => Number(x.toFixed(2)))),
  old: best(rounds.old),
  streamed: best(rounds.streamed),
  rounds,
};
result.ratio = Number((result.old.cpuMsPer / result.streamed.cpuMsPer).toFixed(1));
console.log(
  `package ${(result.packageBytes / 1024).toFixed(0)} KiB, load ${load[0][0].toFixed(1)} → ${load[1][0].toFixed(1)}\n` +
    `old (xmldom + xml-crypto): ${result.old.cpuMsPer.toFixed(2)} CPU ms/package\n` +
    `streamed reader:           ${result.streamed.cpuMsPer.toFixed(2)} CPU ms/package\n` +
    `ratio ${result.ratio}×`,
);
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(
  join(ROOT, 'bench/results', `edxml-verify-${result.at.replace(/[:.]/g, '-')}.json`),
  JSON.stringify(result, null, 2),
);
