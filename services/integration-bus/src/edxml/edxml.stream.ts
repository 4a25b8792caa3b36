import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
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

/** A signed package either in memory (`bytes`, when small) or in a file (`path`). */
export interface SpooledPackage {
  size: number;
  /** SHA-256 (hex) of the package. */
  sha256: string;
  bytes?: Buffer;
  path?: string;
}

/**
 * Writes a signed package to `path` without holding its attachments (see `spoolSignedPackage`); always a file.
 */
export async function writeSignedPackage(
  p: EdxmlPackageOutline,
  content: (index: number) => AsyncIterable<Uint8Array>,
  cred: NodeCredentials,
  path: string,
): Promise<WrittenPackage> {
  const out = await spoolSignedPackage(p, content, cred, { memoryMaxBytes: -1, path: () => path });
  return { path: out.path!, size: out.size, sha256: out.sha256 };
}

/**
 * Builds a signed package without holding its attachments: the XML head, room for the signature, then the
 * tail with each attachment base64-encoded from `content(i)` in blocks of a multiple of 3 bytes. The digest
 * of the canonical form (head + tail, what the enveloped signature covers) is computed while writing; the
 * signature, whose length depends only on the key, is then written into the room left for it. A package
 * stays in memory while it is at most `memoryMaxBytes` (the common small document: no temporary file, no
 * fs round trips); past that it is spilled to the file `path()` and written on from there. The bytes are
 * those `buildSignedPackage` returns for the same package in memory (edxml.stream.spec.ts checks both
 * forms, and xml-crypto verifies them).
 */
export async function spoolSignedPackage(
  p: EdxmlPackageOutline,
  content: (index: number) => AsyncIterable<Uint8Array>,
  cred: NodeCredentials,
  opts: { memoryMaxBytes: number; path: () => string | Promise<string> },
): Promise<SpooledPackage> {
  const { head, tail } = packagePieces(p);
  const digest = createHash('sha256');
  const spool = new Spool(opts.memoryMaxBytes, opts.path);
  try {
    const start = Buffer.from(XML_DECLARATION + head.join(''), 'utf8');
    digest.update(start.subarray(Buffer.byteLength(XML_DECLARATION)));
    await spool.write(start);
    const signatureAt = spool.size;
    const room = signatureLength(cred);
    await spool.write(Buffer.alloc(room, 0x20));
    for (const piece of tail) {
      if (typeof piece === 'string') {
        const b = Buffer.from(piece, 'utf8');
        digest.update(b);
        await spool.write(b);
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
          await spool.write(b);
        }
        carry = Buffer.from(data.subarray(whole));
      }
      if (carry.length) {
        const b = Buffer.from(carry.toString('base64'), 'latin1');
        digest.update(b);
        await spool.write(b);
      }
    }
    const signature = Buffer.from(packageSignature(cred, digest.digest('base64')), 'utf8');
    if (signature.length !== room) throw new Error('package signature length changed while writing');
    return await spool.finish(signatureAt, signature);
  } catch (e) {
    await spool.abort();
    throw e;
  }
}

/** File writes are gathered up to this many bytes (a package's many small tail strings are one write). */
const FILE_WRITE_BYTES = 1024 * 1024;

/** Bytes kept in memory up to a limit, then in a file; the signature is patched in at the end. */
class Spool {
  size = 0;
  private chunks: Buffer[] = [];
  private pending = 0;
  private fh?: FileHandle;
  private path?: string;
  private position = 0;

  constructor(
    private readonly memoryMax: number,
    private readonly pathOf: () => string | Promise<string>,
  ) {}

  async write(b: Buffer): Promise<void> {
    if (!this.fh && this.size + b.length > this.memoryMax) {
      this.path = await this.pathOf();
      this.fh = await open(this.path, 'w', 0o600);
    }
    this.chunks.push(b);
    this.size += b.length;
    this.pending += b.length;
    if (this.fh && this.pending >= FILE_WRITE_BYTES) await this.flush();
  }

  private async flush(): Promise<void> {
    if (!this.fh || this.chunks.length === 0) return;
    const b = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    this.chunks = [];
    this.pending = 0;
    await writeAt(this.fh, b, this.position);
    this.position += b.length;
  }

  async finish(at: number, patch: Buffer): Promise<SpooledPackage> {
    if (!this.fh) {
      const bytes = Buffer.concat(this.chunks, this.size);
      this.chunks = [];
      patch.copy(bytes, at);
      return { size: bytes.length, bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
    }
    await this.flush();
    await writeAt(this.fh, patch, at);
    await this.fh.close();
    this.fh = undefined;
    return { size: this.size, path: this.path, sha256: await fileSha256(this.path!) };
  }

  async abort(): Promise<void> {
    this.chunks = [];
    await this.fh?.close().catch(() => undefined);
    this.fh = undefined;
  }
}

async function writeAt(fh: FileHandle, b: Buffer, position: number): Promise<void> {
  let off = 0;
  while (off < b.length) {
    const { bytesWritten } = await fh.write(b, off, b.length - off, position + off);
    off += bytesWritten;
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
