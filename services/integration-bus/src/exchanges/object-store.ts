import { Inject, Injectable } from '@nestjs/common';
import { NATS_CONNECTION, readObjectChunks } from '@lienthong/common';
import { Buckets } from '@lienthong/contracts';
import { Objm, type ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { ReadableStream } from 'node:stream/web';

/** The `Buckets.attachments()` JetStream object store: content-addressed bytes shared between services and nodes. */
@Injectable()
export class BusObjectStore {
  private bucket?: Promise<ObjectStore>;

  constructor(@Inject(NATS_CONNECTION) private readonly nc: NatsConnection) {}

  private store(): Promise<ObjectStore> {
    this.bucket ??= new Objm(this.nc).create(Buckets.attachments()).catch((e) => {
      this.bucket = undefined;
      throw e;
    });
    return this.bucket;
  }

  /** Stores bytes under their SHA-256 (no-op when present; `sha256` when already computed); returns the key. */
  async put(bytes: Buffer, sha256?: string): Promise<string> {
    const key = sha256 ?? createHash('sha256').update(bytes).digest('hex');
    const os = await this.store();
    const info = await os.info(key);
    if (info && !info.deleted) return key;
    await os.putBlob({ name: key }, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
    return key;
  }

  /**
   * Stores a file whose SHA-256 (hex) and size are known (a received attachment decoded to disk), read in
   * chunks: never whole in memory. No-op when the object is present. The object store's own digest of what
   * it received is compared with `sha256`, so a file changed in between is not stored under a wrong key.
   */
  async putFile(path: string, sha256: string, size: number): Promise<string> {
    const os = await this.store();
    const info = await os.info(sha256);
    if (info && !info.deleted) return sha256;
    const fh = await open(path, 'r');
    try {
      const file = fh.createReadStream({ highWaterMark: 128 * 1024 });
      const stored = await os.put({ name: sha256 }, Readable.toWeb(file) as ReadableStream<Uint8Array>);
      const digest = Buffer.from(stored.digest.replace(/^SHA-256=/, ''), 'base64url').toString('hex');
      if (stored.size !== size || digest !== sha256) {
        await os.delete(sha256).catch(() => undefined);
        throw new Error(`object ${sha256} was stored with ${stored.size} bytes and another hash`);
      }
    } finally {
      await fh.close().catch(() => undefined);
    }
    return sha256;
  }

  /** Reads bytes and checks they hash to their key. */
  async get(key: string): Promise<Buffer> {
    const os = await this.store();
    const data = await os.getBlob(key);
    if (!data) throw new Error(`object ${key} is not in the object store`);
    const buf = Buffer.from(data);
    if (createHash('sha256').update(buf).digest('hex') !== key)
      throw new Error(`object ${key} does not match its hash`);
    return buf;
  }

  /**
   * Reads an object as a stream of chunks, hashing as it goes, never whole in memory: an ordered pull consumer
   * at most STREAM_READ_AHEAD chunks ahead of the reader (libs/common `readObjectChunks`). The iteration throws
   * after the last chunk when the bytes do not hash to their key or do not have the stored size, so a consumer
   * must treat what it wrote as unusable until the iteration ends.
   */
  async *stream(key: string): AsyncGenerator<Uint8Array> {
    yield* readObjectChunks(this.nc, Buckets.attachments(), await this.store(), key, STREAM_READ_AHEAD);
  }
}

/** Chunks an object read (`BusObjectStore.stream`) fetches ahead of its reader. */
export const STREAM_READ_AHEAD = 8;
