import { testNatsUrl } from '@lienthong/testing';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createHash, randomBytes } from 'node:crypto';
import { readObjectChunks } from '@lienthong/common';

/** The pulled object read used by documents (attachments from the bus) and the bus (outgoing packages). */
describe('readObjectChunks (real NATS object store)', () => {
  let nc: NatsConnection;
  let os: ObjectStore;
  const bucket = `objchunks_${randomBytes(4).toString('hex')}`;
  const read = async (key: string) => {
    const chunks: Uint8Array[] = [];
    for await (const c of readObjectChunks(nc, bucket, os, key, 2)) chunks.push(c);
    return chunks;
  };

  beforeAll(async () => {
    nc = await connect({ servers: await testNatsUrl() });
    os = await new Objm(nc).create(bucket);
  });
  afterAll(async () => {
    await os?.destroy().catch(() => undefined);
    await nc?.close();
  });

  it('reads an object of many chunks in order, with its bytes and size', async () => {
    const bytes = randomBytes(5 * 128 * 1024 + 777);
    const key = createHash('sha256').update(bytes).digest('hex');
    await os.putBlob({ name: key }, bytes);
    const chunks = await read(key);
    expect(chunks.length).toBeGreaterThan(5);
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
  });

  it('reads an empty object', async () => {
    const key = createHash('sha256').update(Buffer.alloc(0)).digest('hex');
    await os.putBlob({ name: key }, new Uint8Array(0));
    expect(await read(key)).toEqual([]);
  });

  it('throws after the last chunk when the bytes do not hash to the key', async () => {
    const bytes = randomBytes(300 * 1024);
    const wrongKey = createHash('sha256').update('something else').digest('hex');
    await os.putBlob({ name: wrongKey }, bytes);
    await expect(read(wrongKey)).rejects.toThrow(/does not match its hash/);
  });

  it('throws for a missing or deleted object', async () => {
    await expect(read('0'.repeat(64))).rejects.toThrow(/not in the object store/);
    const bytes = randomBytes(1000);
    const key = createHash('sha256').update(bytes).digest('hex');
    await os.putBlob({ name: key }, bytes);
    await os.delete(key);
    await expect(read(key)).rejects.toThrow(/not in the object store/);
  });
});
