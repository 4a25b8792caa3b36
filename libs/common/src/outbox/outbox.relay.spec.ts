import { Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import type { BaseServiceConfig } from '../config/base-service.config';
import type { JetStreamService } from '../nats/jetstream.service';
import { OutboxRelay } from './outbox.relay';

/** An in-memory stand-in for the outbox table, enough to observe the relay's SQL decisions. */
function fakeStore(
  rows: { seq: string; id: string; subject: string; json?: string; type?: string }[],
  lockAvailable = true,
) {
  const table = [...rows];
  const manager = {
    query: async (sql: string, params: unknown[]) => {
      if (sql.trimStart().startsWith('SELECT seq')) {
        // The lock is the SELECT's one-time filter: not taken, no rows.
        expect(sql).toContain('WHERE (SELECT pg_try_advisory_xact_lock(hashtext($1)))');
        expect(params[0]).toBe('x.outbox');
        if (!lockAvailable) return [];
        return table.slice(0, params[1] as number).map((r) => ({
          json: JSON.stringify({ id: r.id }),
          type: 't',
          ...r,
          correlationId: null,
        }));
      }
      if (sql.startsWith('DELETE FROM outbox WHERE seq = ANY')) {
        const seqs = new Set(params[0] as string[]);
        for (let i = table.length - 1; i >= 0; i--) if (seqs.has(table[i].seq)) table.splice(i, 1);
        return [];
      }
      if (sql.startsWith('DELETE')) throw new Error(`unexpected delete ${sql}`);
      throw new Error(`unexpected SQL ${sql}`);
    },
  };
  const ds = {
    transaction: async (fn: (m: typeof manager) => Promise<unknown>) => fn(manager),
  } as unknown as DataSource;
  return { ds, table };
}

const config = {
  DB_SCHEMA: 'x',
  OUTBOX_BATCH_SIZE: 100,
  OUTBOX_POLL_MS: 100,
  DATABASE_URL: 'postgres://x',
} as BaseServiceConfig;

describe('OutboxRelay.drainOnce', () => {
  const rows = [1, 2, 3, 4].map((n) => ({ seq: String(n), id: `e${n}`, subject: `s.${n}` }));

  it('publishes in seq order and deletes what was acknowledged', async () => {
    const published: string[] = [];
    const js = {
      publishRaw: async (subject: string) => void published.push(subject),
    } as unknown as JetStreamService;
    const { ds, table } = fakeStore(rows);
    const relay = new OutboxRelay(ds, js, config, new Registry());
    expect(await relay.drainOnce()).toBe(4);
    expect(published).toEqual(['s.1', 's.2', 's.3', 's.4']);
    expect(table).toHaveLength(0);
  });

  it('stops at the first failure and keeps that row and every later one', async () => {
    const js = {
      publishRaw: async (subject: string) => {
        if (subject === 's.3') throw new Error('no ack');
      },
    } as unknown as JetStreamService;
    const { ds, table } = fakeStore(rows);
    const relay = new OutboxRelay(ds, js, config, new Registry());
    expect(await relay.drainOnce()).toBe(2);
    expect(table.map((r) => r.id)).toEqual(['e3', 'e4']);
  });

  it('throws (and deletes nothing) when nothing could be published', async () => {
    const js = {
      publishRaw: async () => Promise.reject(new Error('NATS down')),
    } as unknown as JetStreamService;
    const { ds, table } = fakeStore(rows);
    const relay = new OutboxRelay(ds, js, config, new Registry());
    await expect(relay.drainOnce()).rejects.toThrow('NATS down');
    expect(table).toHaveLength(4);
  });

  it('never deletes a row it did not publish, even one committed meanwhile with a lower seq', async () => {
    const published: string[] = [];
    const { ds, table } = fakeStore([
      { seq: '5', id: 'e5', subject: 's.5' },
      { seq: '7', id: 'e7', subject: 's.7' },
    ]);
    const js = {
      publishRaw: async (subject: string) => {
        published.push(subject);
        // A transaction that took seq 6 before ours commits while we publish.
        if (subject === 's.7') table.push({ seq: '6', id: 'e6', subject: 's.6' });
      },
    } as unknown as JetStreamService;
    const relay = new OutboxRelay(ds, js, config, new Registry());
    await relay.drainOnce();
    expect(published).toEqual(['s.5', 's.7']);
    expect(table.map((r) => r.id)).toEqual(['e6']);
  });

  it('does nothing while another replica holds the outbox lock', async () => {
    const js = { publishRaw: jest.fn() } as unknown as JetStreamService;
    const { ds, table } = fakeStore(rows, false);
    const relay = new OutboxRelay(ds, js, config, new Registry());
    expect(await relay.drainOnce()).toBe(0);
    expect(js.publishRaw).not.toHaveBeenCalled();
    expect(table).toHaveLength(4);
  });

  it('sends a batch row too large for one NATS message (audit events, statuses) as parts holding every item once', async () => {
    const events = Array.from({ length: 6000 }, (_, i) => ({
      id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      action: 'exchange.queued',
      details: { to: `BENCH.BC.${String(i).padStart(5, '0')}`, note: 'x'.repeat(200) },
    }));
    const statuses = Array.from({ length: 5000 }, (_, i) => ({ statusId: `s${i}`, note: 'y'.repeat(200) }));
    const big = [
      {
        seq: '1',
        id: 'a-batch',
        subject: 'lt.audit.recorded.bus',
        type: 'audit.recorded-batch',
        json: JSON.stringify({ id: 'a-batch', type: 'audit.recorded-batch', data: { events } }),
      },
      {
        seq: '2',
        id: 's-batch',
        subject: 'lt.document.status-changed',
        type: 'document.status-changed-batch',
        json: JSON.stringify({ id: 's-batch', type: 'document.status-changed-batch', data: { statuses } }),
      },
      { seq: '3', id: 'e3', subject: 's.3' },
    ];
    expect(big[0].json!.length).toBeGreaterThan(1024 * 1024);
    const published: { subject: string; json: string; id: string }[] = [];
    const js = {
      publishRaw: async (subject: string, json: string, meta: { id: string }) =>
        void published.push({ subject, json, id: meta.id }),
    } as unknown as JetStreamService;
    const { ds, table } = fakeStore(big);
    const relay = new OutboxRelay(ds, js, config, new Registry());
    expect(await relay.drainOnce()).toBe(3);
    expect(table).toHaveLength(0);
    const audit = published.filter((p) => p.subject === 'lt.audit.recorded.bus');
    const status = published.filter((p) => p.subject === 'lt.document.status-changed');
    expect(audit.length).toBeGreaterThan(1);
    expect(status.length).toBeGreaterThan(1);
    for (const p of [...audit, ...status]) {
      expect(Buffer.byteLength(p.json)).toBeLessThan(1024 * 1024 - 4096);
      expect(JSON.parse(p.json).id).toBe(p.id);
    }
    // Every item exactly once, in order; each part has its own id (the stream's duplicate window keeps them).
    expect(audit.flatMap((p) => JSON.parse(p.json).data.events)).toEqual(events);
    expect(status.flatMap((p) => JSON.parse(p.json).data.statuses)).toEqual(statuses);
    expect(new Set(audit.map((p) => p.id)).size).toBe(audit.length);
    expect(published[published.length - 1].subject).toBe('s.3');
  });
});
