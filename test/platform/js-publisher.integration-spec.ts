import { JsPublisher } from '@lienthong/common';
import { testNatsUrl } from '@lienthong/testing';
import { jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { connect, headers, nanos, type NatsConnection } from '@nats-io/transport-node';
import { randomBytes } from 'node:crypto';

jest.setTimeout(30_000);

/** The outbox relay's publisher (acks of concurrent publishes awaited together) on a real JetStream. */
describe('JsPublisher on real NATS JetStream', () => {
  const tag = randomBytes(4).toString('hex');
  const stream = `JSPUB_${tag}`;
  const subject = `jspub.${tag}`;
  let nc: NatsConnection;
  let pub: JsPublisher;

  beforeAll(async () => {
    nc = await connect({ servers: await testNatsUrl() });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({
      name: stream,
      subjects: [`${subject}.>`],
      storage: StorageType.Memory,
      retention: RetentionPolicy.Limits,
      duplicate_window: nanos(60_000),
      max_msgs_per_subject: 1,
      discard_new_per_subject: false,
    });
    pub = new JsPublisher(nc, 2000);
  });

  afterAll(async () => {
    pub?.close();
    await (await jetstreamManager(nc)).streams.delete(stream).catch(() => undefined);
    await nc?.close();
  });

  const msgId = (id: string) => {
    const h = headers();
    h.set('Nats-Msg-Id', id);
    return h;
  };

  it('stores each message once, in order, and answers with the stream sequence', async () => {
    const acks = await Promise.all(
      Array.from({ length: 200 }, (_, i) => pub.publish(`${subject}.m${i}`, `{"n":${i}}`, msgId(`id-${i}`))),
    );
    expect(acks.every((a) => a.stream === stream && !a.duplicate)).toBe(true);
    const seqs = acks.map((a) => a.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(200);
    const info = await (await jetstreamManager(nc)).streams.info(stream);
    expect(info.state.messages).toBe(200);
  });

  it('reports a republished Nats-Msg-Id as a duplicate and does not store it again', async () => {
    const first = await pub.publish(`${subject}.dup`, '{"a":1}', msgId(`dup-${tag}`));
    const again = await pub.publish(`${subject}.dup`, '{"a":1}', msgId(`dup-${tag}`));
    expect(again.duplicate).toBe(true);
    expect(again.seq).toBe(first.seq);
  });

  it('rejects a publish no stream listens to (no responders), and keeps serving the others', async () => {
    await expect(pub.publish(`nostream.${tag}`, '{}', msgId(`x-${tag}`))).rejects.toThrow(/no responders/);
    const ok = await pub.publish(`${subject}.after`, '{}', msgId(`after-${tag}`));
    expect(ok.stream).toBe(stream);
  });

  it('rejects what JetStream refuses (an expected-stream mismatch) with its reason', async () => {
    const h = msgId(`exp-${tag}`);
    h.set('Nats-Expected-Stream', 'SOME_OTHER_STREAM');
    await expect(pub.publish(`${subject}.exp`, '{}', h)).rejects.toThrow(/JetStream publish refused/);
  });
});
