import type { Archiver } from 'archiver';
import { createHash } from 'node:crypto';
import { Readable, Transform, type Writable } from 'node:stream';

/** RFC 8493 §2.1.3: CR, LF and % in a manifest path are percent-encoded. */
export function manifestPath(path: string): string {
  return path.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** A file or folder name safe in any archive and file system: no separators, no control characters, no dot-names. */
export function safeName(name: string, fallback = 'file'): string {
  const clean = name
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f/\\:*?"<>|]/g, '_')
    .replace(/^\.+/, '_')
    .trim()
    .slice(0, 150);
  return clean || fallback;
}

export interface BagInfo {
  [field: string]: string;
}

/**
 * Writes a BagIt bag (RFC 8493, version 1.0, SHA-256) as a ZIP stream. Payload files are added one at a time and
 * hashed while they stream through, so a file is never held whole; only the manifest lines stay in memory. The
 * tag files (bagit.txt, bag-info.txt with Payload-Oxum, manifest-sha256.txt, tagmanifest-sha256.txt) are
 * written when the payload is complete.
 */
export class BagWriter {
  private readonly zip: Archiver;
  private readonly manifest: string[] = [];
  private octets = 0;
  private count = 0;
  private failure: Error | null = null;
  private readonly names = new Set<string>();

  constructor(out: Writable) {
    // archiver and its ZIP stack (~150 modules) are loaded by the first export, not at boot.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const archiver = require('archiver') as typeof import('archiver');
    this.zip = archiver('zip', { zlib: { level: 6 } });
    this.zip.on('error', (e: Error) => (this.failure ??= e));
    this.zip.on('warning', (e: Error) => (this.failure ??= e));
    this.zip.pipe(out);
  }

  /** Adds `data/<path>`; resolves when the bytes went into the archive. `store` skips deflate (PDFs, images). */
  async add(path: string, source: Readable | Buffer | string, store = false): Promise<void> {
    const name = `data/${path}`;
    if (this.names.has(name)) throw new Error(`duplicate path in bag: ${name}`);
    this.names.add(name);
    const hash = createHash('sha256');
    let size = 0;
    const hashing = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    const input =
      typeof source === 'string' || Buffer.isBuffer(source) ? Readable.from([Buffer.from(source)]) : source;
    input.on('error', (e) => hashing.destroy(e));
    input.pipe(hashing);
    await this.append(hashing, name, store);
    this.manifest.push(`${hash.digest('hex')}  ${manifestPath(name)}\n`);
    this.octets += size;
    this.count++;
  }

  /** Adds a JSON payload file (pretty-printed, UTF-8). */
  addJson(path: string, value: unknown): Promise<void> {
    return this.add(path, `${JSON.stringify(value, null, 2)}\n`);
  }

  /** Writes the tag files and ends the ZIP. `info` goes to bag-info.txt before Payload-Oxum and Bagging-Date. */
  async finish(info: BagInfo, now: Date = new Date()): Promise<void> {
    const bagit = 'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n';
    const fields = {
      ...info,
      'Bagging-Date': now.toISOString().slice(0, 10),
      'Payload-Oxum': `${this.octets}.${this.count}`,
    };
    const bagInfo = Object.entries(fields)
      .map(([k, v]) => `${k}: ${v.replace(/\r?\n/g, ' ')}\n`)
      .join('');
    const manifest = this.manifest.join('');
    const tags: [string, string][] = [
      ['bagit.txt', bagit],
      ['bag-info.txt', bagInfo],
      ['manifest-sha256.txt', manifest],
    ];
    for (const [name, text] of tags) await this.append(Readable.from([Buffer.from(text)]), name, false);
    const tagManifest = tags
      .map(([name, text]) => `${createHash('sha256').update(text).digest('hex')}  ${name}\n`)
      .join('');
    await this.append(Readable.from([Buffer.from(tagManifest)]), 'tagmanifest-sha256.txt', false);
    await this.zip.finalize();
    if (this.failure) throw this.failure;
  }

  /** Stops the archive (the client sees a truncated download, never a valid-looking partial bag). */
  abort(): void {
    this.zip.abort();
  }

  private append(stream: Readable, name: string, store: boolean): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<void>((resolve, reject) => {
      const onEntry = (e: { name: string }) => {
        if (e.name !== name) return;
        cleanup();
        if (this.failure) reject(this.failure);
        else resolve();
      };
      const onError = (e: Error) => {
        cleanup();
        reject(e);
      };
      const cleanup = () => {
        this.zip.off('entry', onEntry);
        this.zip.off('error', onError);
        stream.off('error', onError);
      };
      this.zip.on('entry', onEntry);
      this.zip.on('error', onError);
      stream.on('error', onError);
      this.zip.append(stream, { name, store });
    });
  }
}
