import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  BYTE_RANGE_KEY,
  endsByteRangeKey,
  MAX_DICTIONARY_BYTES,
  readSignatureInWindow,
  scanSignatures,
  type FoundSignature,
} from './pdf-scan';

/** Every digest a CMS signature of a PDF may use (the checker picks the one its SignerInfo names). */
export const SIGNED_RANGE_DIGESTS = ['sha1', 'sha224', 'sha256', 'sha384', 'sha512'] as const;

/** A signature dictionary with what the checker needs from the rest of the file. */
export interface PreparedSignature extends FoundSignature {
  /** Hex digests of the bytes its ByteRange covers (only when that range is well formed). */
  digests?: Record<string, string>;
  /** The 32 bytes (latin1) before the end of its ByteRange, when it ends before the end of the file. */
  tail?: string;
}

/** What signature checking needs of a PDF: a few KiB whatever the file's size. */
export interface PreparedPdf {
  size: number;
  /** `/ByteRange` keys in the file (counting stops at maxSignatures + 1). */
  count: number;
  signatures: PreparedSignature[];
}

/** A file read by ranges: the whole file is never in memory. */
export interface RandomAccessSource {
  size: number;
  /** Bytes [start, end) as a stream, or the whole file. */
  open(range?: { start: number; end: number }): Readable;
  read(range: { start: number; end: number }): Promise<Buffer>;
}

/** Whether the checker will hash this signature's range: the same conditions it checks first. */
function wellFormed(s: FoundSignature, size: number): boolean {
  if (s.problem || s.byteRange.length !== 4) return false;
  const [a, b, c, d] = s.byteRange;
  return (
    a === 0 && b >= 0 && c >= a + b && d >= 0 && c + d <= size && c === s.contentsEnd && b === s.contentsStart
  );
}

function hashers(): Hash[] {
  return SIGNED_RANGE_DIGESTS.map((n) => createHash(n));
}

function digestsOf(hs: Hash[]): Record<string, string> {
  return Object.fromEntries(SIGNED_RANGE_DIGESTS.map((n, i) => [n, hs[i].digest('hex')]));
}

/** For a file in memory (the gRPC upload, tests): the same preparation, synchronously. */
export function preparePdfBuffer(pdf: Buffer, maxSignatures: number): PreparedPdf {
  const { signatures, count } = scanSignatures(pdf, maxSignatures);
  return {
    size: pdf.length,
    count,
    signatures: signatures.map((s) => {
      if (!wellFormed(s, pdf.length)) return s;
      const [a, b, c, d] = s.byteRange;
      const hs = hashers();
      for (const h of hs) h.update(pdf.subarray(a, a + b)).update(pdf.subarray(c, c + d));
      const end = c + d;
      return {
        ...s,
        digests: digestsOf(hs),
        ...(end < pdf.length ? { tail: pdf.subarray(Math.max(0, end - 32), end).toString('latin1') } : {}),
      };
    }),
  };
}

/**
 * The same preparation from a stored file, streamed: one pass finds the `/ByteRange` keys (a bounded
 * overlap between chunks), each signature dictionary is read from a window of 2 × MAX_DICTIONARY_BYTES
 * around its key, and each well-formed signed range is hashed as it streams by. Memory: a chunk plus a
 * window, whatever the file's size.
 */
export async function preparePdf(src: RandomAccessSource, maxSignatures: number): Promise<PreparedPdf> {
  const keys: number[] = [];
  let count = 0;
  let carry = Buffer.alloc(0);
  let carryStart = 0;
  const overlap = BYTE_RANGE_KEY.length; // a key split across chunks, plus the byte after it
  scan: for await (const chunk of src.open()) {
    const buf = carry.length ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
    // A match is decided only when the byte after it is in this buffer, or at the end of the file.
    for (let at = buf.indexOf(BYTE_RANGE_KEY); at !== -1; at = buf.indexOf(BYTE_RANGE_KEY, at + 1)) {
      const next = at + BYTE_RANGE_KEY.length;
      if (next >= buf.length) break;
      const abs = carryStart + at;
      if (keys.length && keys[keys.length - 1] >= abs) continue; // seen in the previous buffer
      if (!endsByteRangeKey(buf[next])) continue;
      count++;
      if (count > maxSignatures) break scan;
      keys.push(abs);
    }
    const keep = Math.min(buf.length, overlap);
    carry = Buffer.from(buf.subarray(buf.length - keep));
    carryStart += buf.length - keep;
  }
  // A key whose next byte is past the end of the file (the file ends with `/ByteRange`).
  if (count <= maxSignatures) {
    const at = carry.lastIndexOf(BYTE_RANGE_KEY);
    const abs = carryStart + at;
    if (at !== -1 && at + BYTE_RANGE_KEY.length === carry.length && keys[keys.length - 1] !== abs) {
      count++;
      if (count <= maxSignatures) keys.push(abs);
    }
  }
  if (count > maxSignatures) return { size: src.size, count, signatures: [] };

  const signatures: PreparedSignature[] = [];
  for (const at of keys) {
    const start = Math.max(0, at - MAX_DICTIONARY_BYTES);
    const end = Math.min(src.size, at + MAX_DICTIONARY_BYTES);
    const s = readSignatureInWindow(await src.read({ start, end }), start, at);
    if (!wellFormed(s, src.size)) {
      signatures.push(s);
      continue;
    }
    const [a, b, c, d] = s.byteRange;
    const hs = hashers();
    for (const range of [
      { start: a, end: a + b },
      { start: c, end: c + d },
    ]) {
      if (range.end <= range.start) continue;
      for await (const chunk of src.open(range)) for (const h of hs) h.update(chunk as Buffer);
    }
    const signedEnd = c + d;
    signatures.push({
      ...s,
      digests: digestsOf(hs),
      ...(signedEnd < src.size
        ? {
            tail: (await src.read({ start: Math.max(0, signedEnd - 32), end: signedEnd })).toString('latin1'),
          }
        : {}),
    });
  }
  return { size: src.size, count, signatures };
}
