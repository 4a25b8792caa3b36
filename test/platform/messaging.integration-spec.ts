import type { INestApplication } from '@nestjs/common';
import { Streams, Subjects, type EventEnvelope } from '@lienthong/contracts';
import { dropSchema, eventually, NatsServerProcess, testServiceEnv } from '@lienthong/testing';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import {
  createServiceApp,
  JetStreamService,
  loadConfig,
  OutboxService,
  ProcessedMessages,
  type ConsumedMessage,
} from '@lienthong/common';
import { ProbeConfig, ProbeModule } from './probe.module';

jest.setTimeout(60_000);

async function boot(env: Record<string, string | undefined>): Promise<INestApplication> {
  const config = loadConfig(ProbeConfig, env, 'probe');
  return createServiceApp({
    service: 'probe',
    title: 'probe',
    module: ProbeModule.register(config),
    config,
    listen: false,
  });
}

describe('outbox and JetStream on real PostgreSQL and NATS', () => {
  const nats = new NatsServerProcess();
  let app: INestApplication;
  let env: Record<string, string | undefined>;

  beforeAll(async () => {
    await nats.start();
    env = await testServiceEnv('probe', { NATS_URL: nats.url });
    app = await boot(env);
  });

  afterAll(async () => {
    await app?.close();
    await nats.destroy();
    await dropSchema(env.DATABASE_URL!, env.DB_SCHEMA!);
  });

  async function streamMessagesWithId(id: string): Promise<number> {
    const js = app.get(JetStreamService);
    const jsm = await js.manager();
    const info = await jsm.streams.info(Streams.probe().name);
    let count = 0;
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && seq > 0; seq++) {
      try {
        const m = await jsm.streams.getMessage(Streams.probe().name, { seq });
        if (m && (m.json() as EventEnvelope).id === id) count++;
      } catch {
        /* deleted */
      }
    }
    return count;
  }

  it('delivers an event written while NATS is down exactly once after NATS returns', async () => {
    const ds = app.get(DataSource);
    const outbox = app.get(OutboxService);
    await nats.stop();
    const id = randomUUID();
    await ds.transaction((m) =>
      outbox.add(m, { subject: Subjects.probe('outage'), type: 'probe.ping', data: { n: 1 }, id }),
    );
    await new Promise((r) => setTimeout(r, 1500));
    const [{ count: pending }] = await ds.query('SELECT count(*)::int AS count FROM outbox WHERE id = $1', [
      id,
    ]);
    expect(pending).toBe(1);
    await nats.start();
    await eventually(
      async () => (await ds.query('SELECT 1 FROM outbox WHERE id = $1', [id])).length === 0,
      30_000,
    );
    await new Promise((r) => setTimeout(r, 1000));
    expect(await streamMessagesWithId(id)).toBe(1);
  });

  it('redelivers a failing message until it succeeds on the third delivery', async () => {
    const js = app.get(JetStreamService);
    const seen: number[] = [];
    const handle = await js.consume(
      {
        stream: Streams.probe().name,
        durable: 'retry-probe',
        filterSubject: Subjects.probe('retry'),
        maxDeliver: 5,
        backoffMs: [50],
      },
      async (batch: ConsumedMessage[]) => {
        seen.push(batch[0].deliveryCount);
        if (batch[0].deliveryCount < 3) throw new Error('not yet');
      },
    );
    await js.publish(Subjects.probe('retry'), js.envelope('probe.ping', { n: 2 }));
    await eventually(() => seen.length >= 3, 15_000);
    await new Promise((r) => setTimeout(r, 500));
    await handle.stop();
    expect(seen).toEqual([1, 2, 3]);
  });

  it('puts a poison message on the dead-letter subject after the last delivery', async () => {
    const js = app.get(JetStreamService);
    let attempts = 0;
    const handle = await js.consume(
      {
        stream: Streams.probe().name,
        durable: 'poison-probe',
        filterSubject: Subjects.probe('poison'),
        maxDeliver: 3,
        backoffMs: [50],
      },
      async () => {
        attempts++;
        throw new Error('always fails');
      },
    );
    const env1 = js.envelope('probe.ping', { n: 3 });
    await js.publish(Subjects.probe('poison'), env1);
    const jsm = await js.manager();
    const dlq = Streams.deadLetters().name;
    const msg = await eventually(async () => {
      try {
        return await jsm.streams.getMessage(dlq, {
          last_by_subj: Subjects.deadLetter(Streams.probe().name, 'poison-probe'),
        });
      } catch {
        return undefined;
      }
    }, 15_000);
    await handle.stop();
    expect(attempts).toBe(3);
    expect((msg!.json() as EventEnvelope).id).toBe(env1.id);
    expect(msg!.header.get('X-Dead-Letter-Reason')).toContain('always fails');
  });

  it('applies a redelivered message once', async () => {
    const js = app.get(JetStreamService);
    const ds = app.get(DataSource);
    const processed = app.get(ProcessedMessages);
    let deliveries = 0;
    const handle = await js.consume(
      {
        stream: Streams.probe().name,
        durable: 'idem-probe',
        filterSubject: Subjects.probe('idem'),
        maxDeliver: 5,
        backoffMs: [50],
      },
      async (batch: ConsumedMessage[]) => {
        deliveries++;
        const { envelope } = batch[0];
        await ds.transaction(async (m) => {
          if (!(await processed.claim(m, 'idem-probe', envelope.id))) return;
          await m.query('INSERT INTO effects (message_id) VALUES ($1)', [envelope.id]);
        });
        // Committed, but the ack is lost: JetStream redelivers.
        if (deliveries === 1) throw new Error('crash after commit');
      },
    );
    const e = js.envelope('probe.ping', { n: 4 });
    await js.publish(Subjects.probe('idem'), e);
    await eventually(() => deliveries >= 2, 15_000);
    await new Promise((r) => setTimeout(r, 300));
    await handle.stop();
    const rows = await ds.query('SELECT count(*)::int AS c FROM effects WHERE message_id = $1', [e.id]);
    expect(rows[0].c).toBe(1);
  });

  it('does not redeliver a message whose handler works longer than ack_wait (keep-alive while it runs)', async () => {
    const js = app.get(JetStreamService);
    const deliveries: number[] = [];
    const handle = await js.consume(
      {
        stream: Streams.probe().name,
        durable: 'slow-probe',
        filterSubject: Subjects.probe('slow'),
        maxDeliver: 5,
        backoffMs: [50],
        ackWaitMs: 1500,
      },
      async (batch: ConsumedMessage[]) => {
        deliveries.push(batch[0].deliveryCount);
        // Three times ack_wait: without the keep-alive JetStream would deliver it again meanwhile.
        await new Promise((r) => setTimeout(r, 4500));
      },
    );
    await js.publish(Subjects.probe('slow'), js.envelope('probe.ping', { n: 5 }));
    const jsm = await js.manager();
    await eventually(async () => {
      const c = await jsm.consumers.info(Streams.probe().name, 'slow-probe');
      return deliveries.length > 0 && c.num_ack_pending === 0 && c.num_pending === 0;
    }, 20_000);
    await handle.stop();
    expect(deliveries).toEqual([1]);
  });

  it('with concurrentBatches 2 the next batch is handled while one is still in its handler, and each is acknowledged after its own handler', async () => {
    const js = app.get(JetStreamService);
    const started: number[][] = [];
    let release!: () => void;
    const firstHeld = new Promise<void>((r) => (release = r));
    const handle = await js.consume(
      {
        stream: Streams.probe().name,
        durable: 'overlap-probe',
        filterSubject: Subjects.probe('overlap'),
        batchSize: 2,
        fillMs: 200,
        concurrentBatches: 2,
        ackWaitMs: 30_000,
      },
      async (batch: ConsumedMessage<{ n: number }>[]) => {
        started.push(batch.map((m) => m.envelope.data.n));
        // The first batch stays in its handler until the second one has started.
        if (started.length === 1) await firstHeld;
      },
    );
    for (const n of [1, 2]) await js.publish(Subjects.probe('overlap'), js.envelope('probe.ping', { n }));
    await eventually(() => started.length === 1, 15_000);
    for (const n of [3, 4]) await js.publish(Subjects.probe('overlap'), js.envelope('probe.ping', { n }));
    await eventually(() => started.length === 2, 15_000);
    const jsm = await js.manager();
    // The second batch is acknowledged; the first, still in its handler, is not.
    await eventually(
      async () => (await jsm.consumers.info(Streams.probe().name, 'overlap-probe')).num_ack_pending === 2,
      15_000,
    );
    release();
    await eventually(
      async () => (await jsm.consumers.info(Streams.probe().name, 'overlap-probe')).num_ack_pending === 0,
      15_000,
    );
    await handle.stop();
    expect(started).toEqual([
      [1, 2],
      [3, 4],
    ]);
  });
});
