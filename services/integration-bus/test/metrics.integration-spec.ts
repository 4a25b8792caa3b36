import { TestTokens, eventually } from '@lienthong/testing';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { BusInstance, busEnv, newCredentials } from './support/bus-harness';

jest.setTimeout(90_000);

/** A port nothing listens on: the national axis is down for the whole test. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function metric(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-z_:][\w:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('bus /metrics read from real state (PostgreSQL, NATS, an unreachable national axis)', () => {
  let tokens: TestTokens;
  const bus = new BusInstance(newCredentials('lienthong-bus-central'));

  beforeAll(async () => {
    tokens = await TestTokens.start();
    await bus.start(
      await busEnv(tokens, bus.cred, {
        NATIONAL_AXIS_URL: `http://127.0.0.1:${await closedPort()}`,
        NATIONAL_AXIS_SYSTEM_ID: '000.00.00.H99',
        NATIONAL_AXIS_SECRET: 'test-shared-secret',
        NATIONAL_AXIS_TIMEOUT_MS: '500',
      }),
    );
  });
  afterAll(async () => {
    await bus.stop();
    await tokens?.close();
  });

  const scrape = async () => (await bus.http.get('/metrics').expect(200)).text;

  it('reports exchange backlog and age by route, the open circuit, outbox and consumer gauges', async () => {
    // Two exchanges waiting on the national route, one for two hours; not due, so the scheduler leaves them.
    for (const age of ['2 hours', '1 minute'])
      await bus.db.query(
        `INSERT INTO exchanges (id, document_id, edxml_document_id, from_code, to_code, route, state, next_attempt_at,
                                expires_at, payload, created_at)
         VALUES ($1, $2, $3, '000.00.00.H01', '000.00.00.G22', 'national-axis', 'queued', now() + interval '1 day',
                 now() + interval '3 days', '{}'::jsonb, now() - $4::interval)`,
        [randomUUID(), randomUUID(), `000.00.00.H01,2026/11/30,${randomUUID().slice(0, 8)}`, age],
      );
    await bus.db.query(
      `INSERT INTO exchanges (id, document_id, edxml_document_id, from_code, to_code, route, state, expires_at, payload)
       VALUES ($1, $2, 'x,dead', '000.00.00.H01', '000.00.00.H02', 'local', 'dead', now(), '{}'::jsonb)`,
      [randomUUID(), randomUUID()],
    );

    // The poller keeps failing against the closed port until the breaker opens.
    await eventually(async () => metric(await scrape(), 'national_axis_circuit_open') === 1, 30_000);

    const text = await scrape();
    expect(metric(text, 'bus_exchanges', { state: 'queued', route: 'national-axis' })).toBe(2);
    expect(metric(text, 'bus_exchanges', { state: 'dead', route: 'local' })).toBe(1);
    expect(metric(text, 'bus_exchanges', { state: 'delivered' })).toBeUndefined();
    const age = metric(text, 'bus_exchange_oldest_waiting_seconds', { route: 'national-axis' })!;
    expect(age).toBeGreaterThanOrEqual(7200);
    expect(age).toBeLessThan(7200 + 3600);
    expect(metric(text, 'outbox_pending_events', { service: 'integration-bus' })).toBeGreaterThanOrEqual(0);
    expect(metric(text, 'outbox_oldest_event_age_seconds')).toBeGreaterThanOrEqual(0);
    // The bus's own durable consumers on the streams it declares are listed with their lag.
    expect(text).toMatch(/jetstream_consumer_pending_messages\{[^}]*stream="[^"]+"[^}]*consumer="[^"]+"/);
    expect(text).toMatch(/# TYPE jetstream_dead_letter_messages gauge/);
  });
});
