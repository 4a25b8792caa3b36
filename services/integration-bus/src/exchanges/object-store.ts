import { Inject, Injectable } from '@nestjs/common';
import { NATS_CONNECTION } from '@lienthong/common';
import { Buckets } from '@lienthong/contracts';
import { Objm, type ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { createHash } from 'node:crypto';

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

  /** Stores bytes under their SHA-256 (no-op when present); returns the key. */
  async put(bytes: Buffer): Promise<string> {
    const key = createHash('sha256').update(bytes).digest('hex');
    const os = await this.store();
    const info = await os.info(key);
    if (info && !info.deleted) return key;
    await os.putBlob({ name: key }, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
    return key;
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
   * Reads an object as a stream of chunks (the store's own chunk size, 128 KiB by default), hashing as it
   * goes: the whole object is never in memory. The iteration throws after the last chunk when the bytes do
   * not hash to their key, so a consumer must treat what it wrote as unusable until the iteration ends.
   */
  async *stream(key: string): AsyncGenerator<Uint8Array> {
    const os = await this.store();
    const r = await os.get(key);
    if (!r) throw new Error(`object ${key} is not in the object store`);
    const hash = createHash('sha256');
    const reader = r.data.getReader();
    let finished = false;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        hash.update(value);
        yield value;
      }
      finished = true;
    } finally {
      // A consumer that stops early (an error writing) cancels the read instead of leaving it pending.
      if (!finished) await reader.cancel().catch(() => undefined);
      reader.releaseLock();
    }
    const error = await r.error;
    if (error) throw error;
    if (hash.digest('hex') !== key) throw new Error(`object ${key} does not match its hash`);
  }
}
