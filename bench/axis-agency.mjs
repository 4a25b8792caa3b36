// The SIMULATED national axis and the government agencies behind it, in their own process (so their CPU is
// not the platform's and not the load generator's). Started by bench/run.mjs:
//   AXIS_SYSTEM_ID=<code> AXIS_SECRET=<secret> AXIS_AGENCIES=<code>,<code> node bench/axis-agency.mjs
// Every agency answers 01 (arrived) as soon as a package for it reaches the axis; the status carries the
// agency's clock, as a real agency's would. Prints one JSON line {url} on stdout when listening.
import { closeSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const {
  NationalAxisSimulator,
} = require('../services/integration-bus/dist/national-axis-simulator/national-axis-simulator.js');
const { buildStatus, parsePackage } = require('../services/integration-bus/dist/edxml/index.js');

const systemId = process.env.AXIS_SYSTEM_ID;
const agencies = new Set((process.env.AXIS_AGENCIES ?? '').split(',').filter(Boolean));
const maxBytes = Number(process.env.AXIS_MAX_BYTES ?? 64 * 1024 * 1024);
const sim = new NationalAxisSimulator({
  systems: { [systemId]: process.env.AXIS_SECRET },
  // Large packages are spooled to a file by the simulator; the agency reads only their header.
  maxBodyBytes: Math.max(maxBytes, 100 * 1024 * 1024),
  agencies: [...agencies].map((code) => ({ code, name: `Co quan ${code} (mo phong)` })),
  // The large-file bench injects packages from files in its work directory (served by getEdoc from disk).
  ...(process.env.AXIS_INJECT_DIR ? { injectFilesFrom: process.env.AXIS_INJECT_DIR } : {}),
});

let answered = 0;
let failures = 0;
let duplicates = 0;
const seen = new Set(); // documentId|agency: a package reaching an agency twice is counted, answered once
function answer(item) {
  if (item.messageType !== 'edoc') return;
  const to = item.to.filter((t) => agencies.has(t));
  if (to.length === 0) return;
  let pkg;
  try {
    pkg = item.contentFile
      ? parsePackage(headerOf(item.contentFile.path), { maxBytes, maxDepth: 64 }).package
      : (quickHeader(item.content) ?? parsePackage(item.content, { maxBytes, maxDepth: 64 }).package);
  } catch {
    failures++;
    return;
  }
  for (const agency of to) {
    const key = `${pkg.documentId}|${agency}`;
    if (seen.has(key)) {
      duplicates++;
      continue;
    }
    seen.add(key);
    sim.inject({
      from: agency,
      to: [systemId], // the platform's system on the axis, which serves every sending organization
      messageType: 'status',
      content: Buffer.from(
        buildStatus({
          responseFor: { organId: pkg.from.organId, documentId: pkg.documentId },
          from: { organId: agency, organName: `Co quan ${agency}` },
          statusCode: '01',
          timestamp: new Date().toISOString(),
        }),
      ),
    });
    answered++;
  }
}
/**
 * What the answer needs (the sender's OrganId and the DocumentId) read from the MessageHeader's text, without
 * a DOM parse of the whole package (that parse was most of this process's CPU); undefined for anything
 * unusual (an entity, another layout), which then takes the full parser.
 */
const HEADER =
  /<(?:[\w.-]+:)?MessageHeader>\s*<(?:[\w.-]+:)?From>\s*<(?:[\w.-]+:)?OrganId>([^<&]+)<\/(?:[\w.-]+:)?OrganId>[^]*?<\/(?:[\w.-]+:)?To>\s*<(?:[\w.-]+:)?DocumentId>([^<&]+)<\/(?:[\w.-]+:)?DocumentId>/;
function quickHeader(content) {
  const m = HEADER.exec(content.subarray(0, 64 * 1024).toString('utf8'));
  return m ? { from: { organId: m[1].trim() }, documentId: m[2].trim() } : undefined;
}

/**
 * A spooled package without its attachments: the text up to AttachmentEncoded (read 1 MiB at a time, at most
 * 16 MiB), closed. The agency answers from the header alone.
 */
function headerOf(path) {
  const fd = openSync(path, 'r');
  try {
    const chunks = [];
    let text = '';
    for (let pos = 0; pos < 16 * 2 ** 20;) {
      const buf = Buffer.alloc(2 ** 20);
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      pos += n;
      text = Buffer.concat(chunks).toString('utf8');
      const m = /<([A-Za-z_][\w.-]*:)?AttachmentEncoded[\s>]/.exec(text);
      if (m) return `${text.slice(0, m.index)}</${m[1] ?? ''}edXML>`;
    }
    throw new Error('no AttachmentEncoded in the first 16 MiB');
  } finally {
    closeSync(fd);
  }
}

// The simulator stores what systems send through `inject`; hooking it answers at once instead of scanning
// a growing list.
const inject = sim.inject.bind(sim);
sim.inject = (item) => {
  const stored = inject(item);
  if (item.messageType === 'edoc' && !agencies.has(item.from)) setImmediate(() => answer(stored));
  return stored;
};
const url = await sim.start(Number(process.env.AXIS_PORT ?? 0), '127.0.0.1');
process.stdout.write(`${JSON.stringify({ url })}\n`);
// Counts on request (the parent asks over stdin), and a clean stop.
process.stdin.on('data', () => {
  // Drop what no longer matters so a long run keeps a bounded heap: packages are parsed once.
  for (const item of sim.items.values()) if (item.messageType === 'edoc') item.content = Buffer.alloc(0);
  process.stdout.write(`${JSON.stringify({ answered, failures, duplicates, items: sim.items.size })}\n`);
});
process.on('SIGTERM', () => void sim.stop().then(() => process.exit(0)));
