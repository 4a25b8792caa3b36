import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { DocumentsConfig } from '../config/documents.config';

/** Bytes being written before their hash is known. */
export interface StagedObject {
  stream: Writable;
  /** Moves the bytes under their SHA-256; identical content already stored is kept once. */
  commit(sha256: string): Promise<void>;
  discard(): Promise<void>;
}

/** Bytes [start, end) of an object. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Where attachment bytes live, content-addressed by lowercase hex SHA-256. The filesystem store is the
 * default (`ATTACHMENTS_STORE=file`); an S3-compatible store (s3-attachment-storage.ts) implements the same
 * operations.
 */
export abstract class AttachmentStorage {
  abstract stage(): Promise<StagedObject>;
  abstract has(sha256: string): Promise<boolean>;
  /** The stored size, or null when the content is not stored. */
  abstract size(sha256: string): Promise<number | null>;
  /** A stream of the content, or of one byte range of it. */
  abstract open(sha256: string, range?: ByteRange): Readable;
  /** The whole content in memory: for small files only (the verifier reads ranges instead). */
  abstract readAll(sha256: string): Promise<Buffer>;

  /** One byte range in memory (a PDF's signature dictionary, its CMS blob). */
  async readRange(sha256: string, range: ByteRange): Promise<Buffer> {
    if (range.end <= range.start) return Buffer.alloc(0);
    const chunks: Buffer[] = [];
    for await (const c of this.open(sha256, range)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }
}

const SHA256 = /^[0-9a-f]{64}$/;

@Injectable()
export class FilesystemAttachmentStorage extends AttachmentStorage {
  private readonly root: string;

  constructor(config: DocumentsConfig) {
    super();
    this.root = resolve(config.ATTACHMENTS_DIR);
  }

  private pathOf(sha256: string): string {
    if (!SHA256.test(sha256)) throw new Error('not a sha256');
    return join(this.root, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  async stage(): Promise<StagedObject> {
    const tmpDir = join(this.root, 'tmp');
    await mkdir(tmpDir, { recursive: true });
    const tmp = join(tmpDir, randomUUID());
    const stream = createWriteStream(tmp, { flags: 'wx' });
    const closed = new Promise<void>((r) => {
      stream.once('close', () => r());
      stream.once('error', () => r());
    });
    return {
      stream,
      commit: async (sha256: string) => {
        await closed;
        const target = this.pathOf(sha256);
        if (await this.has(sha256)) {
          await unlink(tmp).catch(() => undefined);
          return;
        }
        await mkdir(dirname(target), { recursive: true });
        // rename is atomic: a concurrent upload of the same bytes just replaces identical content.
        await rename(tmp, target);
      },
      discard: async () => {
        stream.destroy();
        await closed;
        await unlink(tmp).catch(() => undefined);
      },
    };
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.size(sha256)) !== null;
  }

  async size(sha256: string): Promise<number | null> {
    try {
      return (await stat(this.pathOf(sha256))).size;
    } catch {
      return null;
    }
  }

  open(sha256: string, range?: ByteRange): Readable {
    return createReadStream(
      this.pathOf(sha256),
      range ? { start: range.start, end: Math.max(range.start, range.end) - 1 } : {},
    );
  }

  readAll(sha256: string): Promise<Buffer> {
    return readFile(this.pathOf(sha256));
  }
}
