import { Inject, Injectable } from '@nestjs/common';
import { NATS_CONNECTION, readObjectChunks } from '@lienthong/common';
import { Buckets } from '@lienthong/contracts';
import { Objm, type ObjectStore } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
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

  /**
   * Copies bytes from the bucket into local storage, checking they hash to their key. Read by an ordered pull
   * consumer a few chunks ahead of the disk (`readObjectChunks`): the client's `get` pushes every chunk into
   * an unbounded queue, which held a 200 MiB attachment received over federation whole (364 MB RSS).
   */
  async fetch(sha256: string): Promise<void> {
    if (await this.storage.has(sha256)) return;
    const os = await this.store();
    const staged = await this.storage.stage();
    try {
      // Throws after the last chunk when the bytes do not hash to the key: nothing is committed then.
      await pipeline(
        Readable.from(readObjectChunks(this.nc, Buckets.attachments(), os, sha256)),
        staged.stream,
      );
      await staged.commit(sha256);
    } catch (e) {
      await staged.discard();
      throw e;
    }
  }
}
