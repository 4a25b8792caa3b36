import { AUDIT_MESSAGE_BYTES, AuditRecorder } from './audit-recorder';
import { OutboxService } from './outbox.service';

describe('AuditRecorder.rows', () => {
  const identity = { service: 'integration-bus', nodeId: 'central', version: 'test', startedAt: Date.now() };
  const recorder = new AuditRecorder(new OutboxService(identity), identity);
  const events = (n: number) =>
    Array.from({ length: n }, (_, i) =>
      recorder.build({
        action: 'exchange.queued',
        resource: { type: 'exchange', id: `ex-${i}` },
        details: { to: `BENCH.BC.${String(i).padStart(5, '0')}`, subject: 'Triển khai nghị quyết' },
      }),
    );

  it('gives events time-ordered ids (version 7, the event time in the first 48 bits), unique', () => {
    const all = events(2000);
    for (const e of all) {
      expect(e.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(parseInt(e.id.replace(/-/g, '').slice(0, 12), 16)).toBe(Date.parse(e.time));
    }
    const ids = all.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
    // Later events never sort before earlier ones by their time prefix.
    const prefixes = ids.map((id) => id.slice(0, 13));
    expect([...prefixes].sort()).toEqual(prefixes);
  });

  it('keeps one event as `audit.recorded` with the event id', () => {
    const [e] = events(1);
    const rows = recorder.rows([e]);
    expect(rows).toHaveLength(1);
    expect(rows[0].envelope).toMatchObject({ type: 'audit.recorded', id: e.id, data: e });
  });

  it('splits the 20,000 events of a broadcast into batches that each fit in one NATS message', () => {
    const all = events(20_000);
    const rows = recorder.rows(all);
    expect(rows.length).toBeGreaterThan(1);
    for (const r of rows) {
      expect(r.envelope.type).toBe('audit.recorded-batch');
      expect(r.subject).toBe(rows[0].subject);
      // Even if every character took 3 bytes in UTF-8, under NATS's 1 MB max_payload.
      expect(JSON.stringify(r.envelope).length).toBeLessThan(AUDIT_MESSAGE_BYTES + 4096);
      expect(AUDIT_MESSAGE_BYTES * 3 + 4096).toBeLessThan(1024 * 1024);
    }
    // Every event once, in order.
    expect(rows.flatMap((r) => (r.envelope.data as { events: unknown[] }).events)).toEqual(all);
    expect(new Set(rows.map((r) => r.envelope.id)).size).toBe(rows.length);
  });
});
