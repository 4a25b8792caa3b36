// Crafted PDFs against the documents service's signature verifier (issue 13 item 5): how long until the
// answer, and how long the event loop was blocked meanwhile (largest gap between 5 ms timer ticks).
//   node bench/pdf-crafted.mjs [--dist <services/documents/dist of another build>]
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

const require = createRequire(import.meta.url);
const i = process.argv.indexOf('--dist');
const dist = resolve(i > 0 ? process.argv[i + 1] : 'services/documents/dist');
const { PdfSignatureVerifier } = require(`${dist}/signatures/pdf-signature.verifier.js`);
const { DocumentsConfig } = require(`${dist}/config/documents.config.js`);

const SIZE = 700 * 1024;
const variants = {
  'ByteRange keys, no dictionary': () =>
    '%PDF-1.7\n' + '/ByteRange [0 1 2 3]\n'.repeat(Math.floor(SIZE / 21)),
  'Contents + ByteRange pairs': () =>
    '%PDF-1.7\n' + '/Contents <00> /ByteRange [0 1 2 3]\n'.repeat(Math.floor(SIZE / 36)),
};

const verifier = new PdfSignatureVerifier(new DocumentsConfig());
console.log(`verifier from ${dist}`);
// Warm-up with an unsigned file: a pooled verifier starts its worker thread here, not in the measurement.
const w0 = performance.now();
await verifier.verify(Buffer.from('%PDF-1.7\n%%EOF\n', 'latin1'));
console.log(`warm-up (worker start, if any): ${(performance.now() - w0).toFixed(0)} ms`);
for (const [name, make] of Object.entries(variants)) {
  const pdf = Buffer.from(make(), 'latin1');
  let last = performance.now();
  let maxGap = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
  }, 5);
  const t0 = performance.now();
  const r = await verifier.verify(pdf);
  const ms = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 20)); // let the ticker observe the end of any block
  clearInterval(tick);
  console.log(
    `${name.padEnd(32)} ${pdf.length} bytes  answer ${ms.toFixed(0).padStart(7)} ms  ` +
      `event loop blocked ≤ ${maxGap.toFixed(0).padStart(7)} ms  problem: ${r.signature.problem}`,
  );
}
await verifier.onModuleDestroy?.();
