import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Events, Streams, Subjects, type EventEnvelope } from '@lienthong/contracts';
import { dropSchema, eventually, testDatabaseUrl, testNatsUrl, uniqueSchema } from '@lienthong/testing';
import { Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import type { BaseServiceConfig } from '../../libs/common/src/config/base-service.config';
import {
  JetStreamService,
  type ConsumedMessage,
  type ConsumerHandle,
} from '../../libs/common/src/nats/jetstream.service';
import type { ServiceIdentity } from '../../libs/common/src/nats/nats.tokens';
import { AuditRecorder } from '../../libs/common/src/outbox/audit-recorder';
import { OutboxRelay } from '../../libs/common/src/outbox/outbox.relay';
import { createMessagingTables, outboxEnvelopeAsText } from '../../libs/common/src/outbox/outbox.schema';
import { OutboxService } from '../../libs/common/src/outbox/outbox.service';
import { ProcessedMessages } from '../../libs/common/src/outbox/processed-messages';
import { InvalidEventError, UnitOfWork } from '../../libs/common/src/outbox/unit-of-work';

/**
 * The delivery pipeline's building blocks against real PostgreSQL and NATS JetStream: the batch consumer
 * (one transaction per batch, ack after commit, poison isolated, redelivery idempotent), the unit of work
 * (one multi-row outbox INSERT, validated events) and the relay woken by commits rather than by its poll.
 */
jest.setTimeout(90_000);

describe('batch consumer, unit of work and outbox relay (real PostgreSQL and NATS)', () => {
  const identity: ServiceIdentity = {
    service: 'pipeline-test',
    nodeId: 'central',
    version: 't',
    startedAt: 0,
  };
  let dbUrl: string;
  let schema: string;
  let nc: NatsConnection;
  let js: JetStreamService;
  let ds: DataSource;
  let other: DataSource;
  let uow: UnitOfWork;
  let otherUow: UnitOfWork;
  const relays: OutboxRelay[] = [];
  const handles: ConsumerHandle[] = [];

  const dataSource = async () => {
    const d = new DataSource({
      type: 'postgres',
      url: dbUrl,
      schema,
      extra: { max: 4, options: `-c search_path=${schema},public` },
    });
    return d.initialize();
  };
  const unitOfWork = (d: DataSource) => {
    const outbox = new OutboxService(identity);
    return new UnitOfWork(d, outbox, new AuditRecorder(outbox, identity), new ProcessedMessages());
  };
  const relay = (d: DataSource, pollMs: number) =>
    new OutboxRelay(
      d,
      js,
      { DB_SCHEMA: schema, OUTBOX_BATCH_SIZE: 500, OUTBOX_POLL_MS: pollMs } as BaseServiceConfig,
      new Registry(),
      nc,
    );

  beforeAll(async () => {
    dbUrl = await testDatabaseUrl();
    schema = uniqueSchema('pipeline');
    const setup = new DataSource({ type: 'postgres', url: dbUrl });
    await setup.initialize();
    await setup.query(`CREATE SCHEMA "${schema}"`);
    await setup.destroy();
    ds = await dataSource();
    other = await dataSource();
    const qr = ds.createQueryRunner();
    await createMessagingTables(qr);
    await outboxEnvelopeAsText(qr);
    await qr.query(
      `CREATE TABLE applied (id text PRIMARY KEY, times int NOT NULL DEFAULT 1, batch int NOT NULL)`,
    );
    await qr.release();
    nc = await connect({ servers: await testNatsUrl() });
    js = new JetStreamService(nc, identity);
    for (const s of [
      Streams.probe(),
      Streams.documents(),
      Streams.bus(),
      Streams.audit(),
      Streams.deadLetters(),
    ])
      await js.ensureStream(s);
    uow = unitOfWork(ds);
    otherUow = unitOfWork(other);
  });

  afterAll(async () => {
    for (const h of handles) await h.stop();
    for (const r of relays) await r.onApplicationShutdown();
    await nc?.drain().catch(() => undefined);
    await ds?.destroy();
    await other?.destroy();
    await dropSchema(dbUrl, schema);
  });

  const publishProbes = async (name: string, ids: string[]) => {
    for (const id of ids)
      await js.publish(Subjects.probe(name), js.envelope('probe.ping', { n: Number(id.split('-')[1]) }, id));
  };
  const consumerState = async (durable: string) => {
    const info = await (await js.manager()).consumers.info(Streams.probe().name, durable);
    return { pending: info.num_pending, ackPending: info.num_ack_pending };
  };
  const deadLetters = async (durable: string) => {
    const jsm = await js.manager();
    const name = Streams.deadLetters().name;
    const info = await jsm.streams.info(name, { subjects_filter: Subjects.deadLetterAll() });
    const subject = Subjects.deadLetter(Streams.probe().name, durable);
    return info.state.subjects?.[subject] ?? 0;
  };
  /** A handler that applies a whole batch in one transaction: claim, one set-based INSERT. */
  const applyBatch = (durable: string, batches: number[]) => async (batch: ConsumedMessage[]) => {
    batches.push(batch.length);
    const n = batches.length;
    await uow.run(async (tx) => {
      const fresh = await tx.claimMany(
        durable,
        batch.map((m) => m.envelope.id),
      );
      const ids = batch.map((m) => m.envelope.id).filter((id) => fresh.has(id));
      await tx.manager.query(
        `INSERT INTO applied (id, batch) SELECT unnest($1::text[]), $2
         ON CONFLICT (id) DO UPDATE SET times = applied.times + 1`,
        [ids, n],
      );
      if (batch.some((m) => m.envelope.id.startsWith(`${durable}-poison`)))
        throw new Error('poison in the batch');
    });
  };

  it('applies a burst in batches, one transaction each; a poison message is isolated and dead-lettered', async () => {
    const durable = 'burst';
    const ids = Array.from({ length: 200 }, (_, i) => `${durable}-${i}`);
    ids.splice(137, 0, `${durable}-poison-1`);
    // Published before the consumer starts: the burst is waiting, so batches can fill.
    await publishProbes('batch', ids);
    const batches: number[] = [];
    handles.push(
      await js.consume(
        {
          stream: Streams.probe().name,
          durable,
          filterSubject: Subjects.probe('batch'),
          batchSize: 50,
          maxDeliver: 2,
          backoffMs: [50],
        },
        applyBatch(durable, batches),
      ),
    );
    await eventually(async () => (await deadLetters(durable)) === 1, 30_000);
    await eventually(async () => {
      const s = await consumerState(durable);
      return s.pending === 0 && s.ackPending === 0;
    }, 30_000);
    const rows: { id: string; times: number }[] = await ds.query(
      `SELECT id, times FROM applied WHERE id LIKE $1`,
      [`${durable}-%`],
    );
    // Every good message exactly once; the poison one never (its batches rolled back).
    expect(rows.map((r) => r.id).sort()).toEqual(ids.filter((i) => i !== `${durable}-poison-1`).sort());
    expect(rows.every((r) => r.times === 1)).toBe(true);
    // Batches, not one message per transaction.
    expect(Math.max(...batches)).toBeGreaterThan(1);
    expect(batches.length).toBeLessThan(ids.length);
  });

  it('acknowledges only after the commit: a batch that fails after its writes is redelivered, applied once', async () => {
    const durable = 'ack-after-commit';
    const ids = Array.from({ length: 40 }, (_, i) => `${durable}-${i}`);
    await publishProbes('ack', ids);
    const seen = new Map<string, number>();
    handles.push(
      await js.consume(
        {
          stream: Streams.probe().name,
          durable,
          filterSubject: Subjects.probe('ack'),
          batchSize: 16,
          maxDeliver: 5,
          backoffMs: [50],
        },
        async (batch) => {
          await uow.run(async (tx) => {
            const fresh = await tx.claimMany(
              durable,
              batch.map((m) => m.envelope.id),
            );
            await tx.manager.query(
              `INSERT INTO applied (id, batch) SELECT unnest($1::text[]), 0
               ON CONFLICT (id) DO UPDATE SET times = applied.times + 1`,
              [[...fresh]],
            );
          });
          // Committed, then "crashed" before the ack on the first delivery of each message: JetStream
          // redelivers, and the claims make the second delivery change nothing.
          const first = batch.filter((m) => m.deliveryCount === 1);
          for (const m of batch) seen.set(m.envelope.id, (seen.get(m.envelope.id) ?? 0) + 1);
          if (first.length) throw new Error('crash after commit');
        },
      ),
    );
    await eventually(async () => {
      const s = await consumerState(durable);
      return s.pending === 0 && s.ackPending === 0 && ids.every((id) => (seen.get(id) ?? 0) >= 2);
    }, 30_000);
    const rows: { id: string; times: number }[] = await ds.query(
      `SELECT id, times FROM applied WHERE id LIKE $1`,
      [`${durable}-%`],
    );
    expect(rows).toHaveLength(ids.length);
    expect(rows.every((r) => r.times === 1)).toBe(true);
    expect(await deadLetters(durable)).toBe(0);
  });

  it('writes every outbox row of a transaction in one INSERT and refuses an invalid event', async () => {
    let inserts = 0;
    const documentId = '0c8f3b4e-6a53-4d5e-8a47-3e0b7b1f1a01';
    // Counted on the transaction's pg client: the outbox INSERT is a named prepared statement sent there
    // directly (preparedQuery), not through manager.query.
    type Queryable = { query: (...args: unknown[]) => unknown };
    let spied: { client: Queryable; query: Queryable['query'] } | undefined;
    try {
      await uow.run(async (tx) => {
        const client = (await tx.manager.queryRunner!.connect()) as Queryable;
        const query = client.query;
        spied = { client, query };
        client.query = function (this: unknown, ...args: unknown[]) {
          const q = args[0];
          const sql = typeof q === 'string' ? q : ((q as { text?: string } | undefined)?.text ?? '');
          if (/^\s*INSERT INTO outbox/.test(sql)) inserts++;
          return query.apply(this, args);
        };
        for (const org of ['A', 'B', 'C'])
          tx.emit(Events.busExchangeState, {
            documentId,
            organizationCode: org,
            state: 'failed',
            at: new Date().toISOString(),
          });
        tx.audit(
          { action: 'test.one', resource: { type: 'document', id: documentId } },
          { action: 'test.two', resource: { type: 'document', id: documentId } },
        );
      });
    } finally {
      if (spied) spied.client.query = spied.query;
    }
    expect(inserts).toBe(1);
    const rows: { subject: string; type: string; actions: string[] | null }[] = await ds.query(
      `SELECT subject, type,
              (SELECT array_agg(e->>'action' ORDER BY i) FROM jsonb_array_elements(envelope::jsonb->'data'->'events')
                 WITH ORDINALITY AS t(e, i)) AS actions
         FROM outbox WHERE envelope::jsonb->'data'->>'documentId' = $1
            OR envelope::jsonb->'data'->'events'->0->'resource'->>'id' = $1 ORDER BY seq`,
      [documentId],
    );
    // Events first, in emit order, then the audit trail: the transaction's audit events in one message.
    expect(rows.map((r) => r.type)).toEqual([
      'bus.exchange-state',
      'bus.exchange-state',
      'bus.exchange-state',
      'audit.recorded-batch',
    ]);
    expect(rows[0].subject).toBe(Subjects.busExchangeState());
    expect(rows[3].subject).toBe(Subjects.auditEvent(identity.service));
    expect(rows[3].actions).toEqual(['test.one', 'test.two']);

    const before = await ds.query(`SELECT count(*)::int AS n FROM outbox`);
    await expect(
      uow.run(async (tx) => {
        tx.emit(Events.busExchangeState, { documentId } as never);
      }),
    ).rejects.toBeInstanceOf(InvalidEventError);
    expect(await ds.query(`SELECT count(*)::int AS n FROM outbox`)).toEqual(before);
  });

  it('a commit wakes the relay at once, in this process and in another replica (its poll is an hour)', async () => {
    const hour = 3_600_000;
    const here = relay(ds, hour);
    relays.push(here);
    await here.onApplicationBootstrap();
    const sent = async (id: string) => {
      const jsm = await js.manager();
      const info = await jsm.streams.info(Streams.documents().name);
      for (let seq = info.state.first_seq; seq > 0 && seq <= info.state.last_seq; seq++) {
        const m = await jsm.streams.getMessage(Streams.documents().name, { seq }).catch(() => null);
        if (m && m.json<EventEnvelope>().id === id) return true;
      }
      return false;
    };
    const status = (statusId: string) => ({
      statusId,
      fromOrganizationCode: 'B',
      toOrganizationCode: 'A',
      status: 'arrived' as const,
      statusCode: '01',
      at: new Date().toISOString(),
    });
    // Let the relay's first (empty) drain pass, so only a wake-up can publish what comes next.
    await new Promise((r) => setTimeout(r, 300));

    const a = '7d0c9a52-1f0e-4a55-9c77-5a8a3c3e2b01';
    await uow.run(async (tx) => void tx.emit(Events.documentStatusChanged, status(a), { id: a }));
    await eventually(() => sent(a), 10_000);

    // Another replica: its own connection pool and relay; its commit reaches this relay over core NATS.
    const replica = relay(other, hour);
    await replica.onApplicationBootstrap();
    await replica.onApplicationShutdown(); // its loop is gone; its commit hook still announces commits
    const b = '7d0c9a52-1f0e-4a55-9c77-5a8a3c3e2b02';
    await otherUow.run(async (tx) => void tx.emit(Events.documentStatusChanged, status(b), { id: b }));
    await eventually(() => sent(b), 10_000);
    // The relay deletes the rows in the transaction that awaited the acks: it may commit just after.
    await eventually(
      async () =>
        (await ds.query(`SELECT count(*)::int AS n FROM outbox WHERE id = ANY($1::uuid[])`, [[a, b]]))[0]
          .n === 0,
      10_000,
    );
  });
  it('waits, rather than failing, for a consumer whose filter a sources-only stream is about to hold again', async () => {
    // The bus's FEDIN sources FEDOUT; FederationSourceWatch restarts a stalled source by removing it and adding
    // it back, and a consumer created in between is refused (JetStream 10093): consume() must ride that out.
    const jsm = await js.manager();
    const tag = `srcwait${Date.now()}`;
    const origin = { name: `${tag}_OUT`, subjects: [`${tag}.out.>`] };
    await jsm.streams.add(origin);
    await jsm.streams.add({ name: `${tag}_IN`, sources: [] } as never);
    const source = { name: origin.name, filter_subject: `${tag}.out.x.>` };
    const back = new Promise<void>((resolve, reject) =>
      setTimeout(
        () =>
          jsm.streams
            .info(`${tag}_IN`)
            .then((i) => jsm.streams.update(`${tag}_IN`, { ...i.config, sources: [source] }))
            .then(() => resolve(), reject),
        600,
      ),
    );
    const got: string[] = [];
    try {
      const handle = await js.consume(
        { stream: `${tag}_IN`, durable: `${tag}_c`, filterSubject: `${tag}.out.x.>`, batchSize: 10 },
        async (batch) => void got.push(...batch.map((m) => m.envelope.id)),
      );
      handles.push(handle);
      await back;
      await js.publish(`${tag}.out.x.1`, js.envelope('probe.ping', { n: 1 }, `${tag}-1`));
      await eventually(() => got.includes(`${tag}-1`), 10_000);
    } finally {
      await back.catch(() => undefined);
    }
  });
});
