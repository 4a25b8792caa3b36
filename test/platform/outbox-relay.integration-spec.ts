import { testDatabaseUrl } from '@lienthong/testing';
import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import {
  OutboxRelay,
  createMessagingTables,
  OutboxService,
  outboxEnvelopeAsText,
  PipeliningClient,
  type BaseServiceConfig,
  type JetStreamService,
} from '@lienthong/common';

jest.setTimeout(30_000);

/**
 * The relay on real PostgreSQL with the platform's client: the advisory lock (the SELECT's one-time filter)
 * keeps a second replica off the batch, the DELETE goes with the COMMIT only for acknowledged rows, and a
 * drain is two round trips.
 */
describe('OutboxRelay on PostgreSQL (PipeliningClient)', () => {
  const schema = `relay_${randomBytes(4).toString('hex')}`;
  let url: string;
  let ds: DataSource;
  let writes = 0;
  const oldRow = {
    id: randomUUID(),
    type: 'probe.ping',
    correlationId: 'corr-before',
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    data: { n: 0 },
  };
  const config = {
    DB_SCHEMA: schema,
    OUTBOX_BATCH_SIZE: 100,
    OUTBOX_POLL_MS: 60_000,
  } as BaseServiceConfig;

  beforeAll(async () => {
    url = await testDatabaseUrl();
    const c = new Client({ connectionString: url });
    await c.connect();
    await c.query(`CREATE SCHEMA ${schema}`);
    await c.end();
    await c.end();
    class Counting extends PipeliningClient {
      constructor(cfg?: unknown) {
        super(cfg);
        const stream = (this as unknown as { connection: { stream: Record<string, unknown> } }).connection
          .stream;
        for (const k of ['_write', '_writev']) {
          const f = stream[k] as ((...a: unknown[]) => unknown) | undefined;
          if (f) stream[k] = (...a: unknown[]) => (writes++, f.apply(stream, a));
        }
      }
    }
    ds = new DataSource({
      type: 'postgres',
      url,
      extra: { Client: Counting, max: 2, options: `-c search_path=${schema}` },
    });
    await ds.initialize();
    // The outbox as the services' migrations leave it: created as jsonb, one row written then, converted.
    const qr = ds.createQueryRunner();
    await createMessagingTables(qr);
    await qr.query(`INSERT INTO outbox (id, subject, envelope) VALUES ($1, 'probe.old', $2::jsonb)`, [
      oldRow.id,
      JSON.stringify(oldRow),
    ]);
    await outboxEnvelopeAsText(qr);
    await qr.release();
  });

  afterAll(async () => {
    await ds?.destroy();
    const c = new Client({ connectionString: url });
    await c.connect();
    await c.query(`DROP SCHEMA ${schema} CASCADE`);
    await c.end();
  });

  async function write(n: number): Promise<string[]> {
    const outbox = new OutboxService({
      service: 'relay-test',
      nodeId: 'n1',
      version: 'test',
      startedAt: new Date(),
    } as never);
    const envelopes = await ds.transaction((m) =>
      outbox.add(
        m,
        ...Array.from({ length: n }, (_, i) => ({
          subject: `probe.${i}`,
          type: 'probe.ping' as never,
          data: { i } as never,
          id: randomUUID(),
        })),
      ),
    );
    return envelopes.map((e) => e.id);
  }

  const left = async () =>
    ((await ds.query('SELECT id FROM outbox ORDER BY seq')) as { id: string }[]).map((r) => r.id);

  function relayPublishing(published: string[], failOn?: string): OutboxRelay {
    const js = {
      publishRaw: async (_subject: string, _json: string, meta: { id: string }) => {
        if (meta.id === failOn) throw new Error('no ack');
        published.push(meta.id);
      },
    } as unknown as JetStreamService;
    return new OutboxRelay(ds, js, config, new Registry());
  }

  it('publishes rows converted by the migration and rows a previous version writes (envelope only) with their fields', async () => {
    const [converted] = (await ds.query(
      'SELECT type, correlation_id, traceparent, pg_typeof(envelope)::text AS t FROM outbox WHERE id = $1',
      [oldRow.id],
    )) as { type: string; correlation_id: string; traceparent: string; t: string }[];
    expect(converted).toEqual({
      type: 'probe.ping',
      correlation_id: 'corr-before',
      traceparent: oldRow.traceparent,
      t: 'text',
    });
    // A replica still on the previous version during a rolling upgrade: no type / correlation / traceparent.
    const previous = { ...oldRow, id: randomUUID(), correlationId: 'corr-previous', traceparent: undefined };
    await ds.query(`INSERT INTO outbox (id, subject, envelope) VALUES ($1, 'probe.previous', $2::jsonb)`, [
      previous.id,
      JSON.stringify(previous),
    ]);
    const [current] = await write(1);
    const seen: { id: string; type: string; correlationId?: string; traceparent?: string; json: string }[] =
      [];
    const js = {
      publishRaw: async (
        _s: string,
        json: string,
        meta: { id: string; type: string; correlationId?: string; traceparent?: string },
      ) => void seen.push({ ...meta, json }),
    } as unknown as JetStreamService;
    expect(await new OutboxRelay(ds, js, config, new Registry()).drainOnce()).toBe(3);
    expect(seen.map((m) => [m.id, m.type, m.correlationId])).toEqual([
      [oldRow.id, 'probe.ping', 'corr-before'],
      [previous.id, 'probe.ping', 'corr-previous'],
      [current, 'probe.ping', undefined],
    ]);
    expect(seen[1].traceparent).toBeUndefined();
    expect(JSON.parse(seen[0].json)).toEqual(oldRow);
    expect(JSON.parse(seen[2].json)).toMatchObject({ id: current, type: 'probe.ping', data: { i: 0 } });
    expect(await left()).toEqual([]);
  });

  it('leaves the batch to the replica holding the lock, then publishes it in order in two round trips', async () => {
    const ids = await write(3);
    const other = new Client({ connectionString: url });
    await other.connect();
    const published: string[] = [];
    const relay = relayPublishing(published);
    try {
      await other.query('BEGIN');
      await other.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`${schema}.outbox`]);
      expect(await relay.drainOnce()).toBe(0);
      expect(published).toEqual([]);
      expect(await left()).toEqual(ids);
      await other.query('COMMIT');
    } finally {
      await other.end();
    }
    writes = 0;
    expect(await relay.drainOnce()).toBe(3);
    // BEGIN + lock-and-SELECT in one write, DELETE + COMMIT in another.
    expect(writes).toBe(2);
    expect(published).toEqual(ids);
    expect(await left()).toEqual([]);
  });

  it('deletes only the rows acknowledged before the first failure, and keeps the rest', async () => {
    const ids = await write(4);
    const published: string[] = [];
    const relay = relayPublishing(published, ids[2]);
    expect(await relay.drainOnce()).toBe(2);
    expect(await left()).toEqual(ids.slice(2));
    await expect(relayPublishing([], ids[2]).drainOnce()).rejects.toThrow('no ack');
    expect(await left()).toEqual(ids.slice(2));
    const again: string[] = [];
    expect(await relayPublishing(again).drainOnce()).toBe(2);
    expect(again).toEqual(ids.slice(2));
    expect(await left()).toEqual([]);
  });
});
