import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { packagePieces, XML_DECLARATION, type EdxmlPackageOutline } from './edxml.builder';
import { packageSignature, signatureLength, type NodeCredentials } from './edxml.signature';

/** Base64 output is written in blocks of this many input bytes (a multiple of 3, so blocks join cleanly). */
const BASE64_BLOCK = 3 * 64 * 1024;

export interface WrittenPackage {
  path: string;
  /** Bytes of the file. */
  size: number;
  /** SHA-256 (hex) of the file. */
  sha256: string;
}

/**
 * Writes a signed package to `path` without holding its attachments: the XML head, room for the signature,
 * then the tail with each attachment base64-encoded from `content(i)` in blocks of a multiple of 3 bytes.
 * The digest of the canonical form (head + tail, what the enveloped signature covers) is computed while
 * writing; the signature, whose length depends only on the key, is then written into the room left for it.
 * The file is byte for byte what `buildSignedPackage` returns for the same package in memory
 * (edxml.stream.spec.ts checks it, and xml-crypto verifies it).
 */
export async function writeSignedPackage(
  p: EdxmlPackageOutline,
  content: (index: number) => AsyncIterable<Uint8Array>,
  cred: NodeCredentials,
  path: string,
): Promise<WrittenPackage> {
  const { head, tail } = packagePieces(p);
  const digest = createHash('sha256');
  const fh = await open(path, 'w', 0o600);
  let position = 0;
  const write = async (b: Buffer): Promise<void> => {
    let off = 0;
    while (off < b.length) {
      const { bytesWritten } = await fh.write(b, off, b.length - off, position);
      off += bytesWritten;
      position += bytesWritten;
    }
  };
  try {
    const start = Buffer.from(XML_DECLARATION + head.join(''), 'utf8');
    digest.update(start.subarray(Buffer.byteLength(XML_DECLARATION)));
    await write(start);
    const signatureAt = position;
    const room = signatureLength(cred);
    await write(Buffer.alloc(room, 0x20));
    for (const piece of tail) {
      if (typeof piece === 'string') {
        const b = Buffer.from(piece, 'utf8');
        digest.update(b);
        await write(b);
        continue;
      }
      let carry = Buffer.alloc(0);
      for await (const chunk of content(piece.attachment)) {
        const data = carry.length ? Buffer.concat([carry, chunk]) : Buffer.from(chunk);
        const whole = data.length - (data.length % 3);
        for (let i = 0; i < whole; i += BASE64_BLOCK) {
          const b = Buffer.from(
            data.subarray(i, Math.min(whole, i + BASE64_BLOCK)).toString('base64'),
            'latin1',
          );
          digest.update(b);
          await write(b);
        }
        carry = Buffer.from(data.subarray(whole));
      }
      if (carry.length) {
        const b = Buffer.from(carry.toString('base64'), 'latin1');
        digest.update(b);
        await write(b);
      }
    }
    const size = position;
    const signature = Buffer.from(packageSignature(cred, digest.digest('base64')), 'utf8');
    if (signature.length !== room) throw new Error('package signature length changed while writing');
    position = signatureAt;
    await write(signature);
    await fh.close();
    return { path, size, sha256: await fileSha256(path) };
  } catch (e) {
    await fh.close().catch(() => undefined);
    throw e;
  }
}

/** SHA-256 (hex) of a file, read in chunks. */
export async function fileSha256(path: string): Promise<string> {
  const h = createHash('sha256');
  const fh = await open(path, 'r');
  try {
    for await (const chunk of fh.createReadStream({ highWaterMark: 1024 * 1024 })) h.update(chunk as Buffer);
  } finally {
    await fh.close().catch(() => undefined);
  }
  return h.digest('hex');
}
