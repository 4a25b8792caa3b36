import { Inject, Injectable } from '@nestjs/common';
import { NATS_CONNECTION } from '@lienthong/common';
import { Buckets } from '@lienthong/contracts';
import { jetstream } from '@nats-io/jetstream';
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
   * Reads an object as a stream of chunks, hashing as it goes: the whole object is never in memory. The
   * client's own `get` uses a push consumer whose chunks pile up in memory when the reader is slower than the
   * server (a 200 MB object was buffered whole); here an ordered pull consumer fetches at most
   * STREAM_READ_AHEAD chunks (128 KiB each by default) ahead of the reader. The iteration throws after the
   * last chunk when the bytes do not hash to their key or do not have the stored size, so a consumer must
   * treat what it wrote as unusable until the iteration ends.
   */
  async *stream(key: string): AsyncGenerator<Uint8Array> {
    const os = await this.store();
    const info = await os.info(key);
    if (!info || info.deleted) throw new Error(`object ${key} is not in the object store`);
    if (info.options?.link) throw new Error(`object ${key} is a link, not stored bytes`);
    const hash = createHash('sha256');
    let received = 0;
    if (info.size > 0) {
      const bucket = Buckets.attachments();
      const consumer = await jetstream(this.nc).consumers.get(`OBJ_${bucket}`, {
        filter_subjects: `$O.${bucket}.C.${info.nuid}`,
      });
      const messages = await consumer.consume({ max_messages: STREAM_READ_AHEAD });
      try {
        for await (const m of messages) {
          if (m.data.length === 0) continue;
          received += m.data.length;
          if (received > info.size) throw new Error(`object ${key} is longer than stored`);
          hash.update(m.data);
          yield m.data;
          if (received === info.size) break;
        }
      } finally {
        await messages.close().catch(() => undefined);
      }
    }
    if (received !== info.size)
      throw new Error(`object ${key} ended after ${received} of ${info.size} bytes`);
    if (hash.digest('hex') !== key) throw new Error(`object ${key} does not match its hash`);
  }
}

/** Chunks an object read (`BusObjectStore.stream`) fetches ahead of its reader. */
export const STREAM_READ_AHEAD = 8;
