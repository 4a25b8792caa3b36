import { Inject, Injectable } from '@nestjs/common';
import { NATS_CONNECTION } from '@lienthong/common';
import { Buckets } from '@lienthong/contracts';
import { Objm, type ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { AttachmentStorage } from './attachment-storage';

/**
 * Attachment bytes cross services through the JetStream Object Store bucket `Buckets.attachments()`
 * (key = SHA-256), never inside event payloads.
 */
@Injectable()
export class AttachmentBusStore {
  private bucket?: Promise<ObjectStore>;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly storage: AttachmentStorage,
  ) {}

  private store(): Promise<ObjectStore> {
    this.bucket ??= new Objm(this.nc).create(Buckets.attachments()).catch((e) => {
      this.bucket = undefined;
      throw e;
    });
    return this.bucket;
  }

  /** Puts local bytes into the bucket unless they are there already. */
  async publish(sha256: string): Promise<void> {
    const os = await this.store();
    const info = await os.info(sha256);
    if (info && !info.deleted) return;
    const web = Readable.toWeb(this.storage.open(sha256)) as unknown as ReadableStream<Uint8Array>;
    await os.put({ name: sha256 }, web);
  }

  /** Copies bytes from the bucket into local storage, checking they hash to their key. */
  async fetch(sha256: string): Promise<void> {
    if (await this.storage.has(sha256)) return;
    const os = await this.store();
    const result = await os.get(sha256);
    if (!result) throw new Error(`attachment ${sha256} is not in the object store`);
    const staged = await this.storage.stage();
    const hash = createHash('sha256');
    const hasher = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    try {
      await pipeline(
        Readable.fromWeb(result.data as unknown as WebReadableStream<Uint8Array>),
        hasher,
        staged.stream,
      );
      const readError = await result.error;
      if (readError) throw new Error(`object store read failed: ${readError.message}`);
      if (hash.digest('hex') !== sha256) throw new Error(`attachment ${sha256} does not match its hash`);
      await staged.commit(sha256);
    } catch (e) {
      await staged.discard();
      throw e;
    }
  }
}
