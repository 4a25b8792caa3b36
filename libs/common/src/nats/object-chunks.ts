import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { createHash } from 'node:crypto';

/** What `readObjectChunks` needs of an object store (`@nats-io/obj`'s ObjectStore has it). */
export interface ObjectInfoSource {
  info(name: string): Promise<{
    size: number;
    nuid: string;
    deleted?: boolean;
    options?: { link?: unknown };
  } | null>;
}

/** Chunks an object read (`readObjectChunks`) fetches ahead of its reader, by default. */
export const OBJECT_READ_AHEAD = 8;

/**
 * Reads the object `key` of the object store `bucket` (JetStream stream `OBJ_<bucket>`) as a stream of
 * chunks, hashing as it goes: the whole object is never in memory. The client's own `get` uses a push
 * consumer whose chunks pile up in memory when the reader is slower than the server (a 200 MB attachment
 * was buffered whole); here an ordered pull consumer fetches at most `readAhead` chunks (128 KiB each by
 * default) ahead of the reader. The key is the object's SHA-256 (hex): the iteration throws after the last
 * chunk when the bytes do not hash to it or do not have the stored size, so a consumer must treat what it
 * wrote as unusable until the iteration ends.
 */
export async function* readObjectChunks(
  nc: NatsConnection,
  bucket: string,
  os: ObjectInfoSource,
  key: string,
  readAhead = OBJECT_READ_AHEAD,
): AsyncGenerator<Uint8Array> {
  const info = await os.info(key);
  if (!info || info.deleted) throw new Error(`object ${key} is not in the object store`);
  if (info.options?.link) throw new Error(`object ${key} is a link, not stored bytes`);
  const hash = createHash('sha256');
  let received = 0;
  if (info.size > 0) {
    const consumer = await jetstream(nc).consumers.get(`OBJ_${bucket}`, {
      filter_subjects: `$O.${bucket}.C.${info.nuid}`,
    });
    const messages = await consumer.consume({ max_messages: readAhead });
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
  if (received !== info.size) throw new Error(`object ${key} ended after ${received} of ${info.size} bytes`);
  if (hash.digest('hex') !== key) throw new Error(`object ${key} does not match its hash`);
}
