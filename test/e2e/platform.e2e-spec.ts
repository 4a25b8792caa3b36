import { PlatformProcesses, SERVICES } from './support/platform-processes';

jest.setTimeout(240_000);

describe('the platform as four processes', () => {
  const platform = new PlatformProcesses();
  const ports = platform.ports;
  const logs = platform.logs;
  let booted = false;
  let bootError: unknown;

  beforeAll(async () => {
    await platform.start().then(
      () => (booted = true),
      (e) => {
        bootError = e;
      },
    );
  });

  afterAll(async () => {
    await platform.stop();
  });

  it('every service starts and answers /health/ready', async () => {
    if (!booted)
      throw new Error(
        `not ready: ${String(bootError)}; logs:\n${SERVICES.map((s) => `${s}: ${logs[s].slice(-1500)}`).join('\n')}`,
      );
    for (const s of SERVICES)
      expect((await fetch(`http://127.0.0.1:${ports[s]}/health/ready`)).status).toBe(200);
  });

  it('services reach each other over NATS request/reply', async () => {
    const r = await fetch(`http://127.0.0.1:${ports.documents}/health/peers`);
    expect(r.status).toBe(200);
    const body = (await r.json()) as {
      peers: { service: string; ok: boolean; info?: { service: string } }[];
    };
    expect(body.peers.map((p) => [p.service, p.ok, p.info?.service])).toEqual(
      SERVICES.map((s) => [s, true, s]),
    );
  });

  it("answers the API error shape with the caller's correlation id", async () => {
    const r = await fetch(`http://127.0.0.1:${ports.audit}/api/v1/no-such-thing`, {
      headers: { 'X-Correlation-Id': 'e2e-check-1' },
    });
    expect(r.status).toBe(404);
    const body = (await r.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ statusCode: 404, code: 'NOT_FOUND', correlationId: 'e2e-check-1' });
    expect(r.headers.get('x-correlation-id')).toBe('e2e-check-1');
    expect(JSON.stringify(body)).not.toMatch(/at .*\.js:\d+/);
  });

  it('refuses calls without a token (401) and with a forged one, in the API error shape', async () => {
    const none = await fetch(`http://127.0.0.1:${ports.audit}/api/v1/audit/events`, {
      headers: { 'X-Correlation-Id': 'e2e-check-2' },
    });
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({
      statusCode: 401,
      code: 'UNAUTHORIZED',
      correlationId: 'e2e-check-2',
    });
    const forged = await fetch(`http://127.0.0.1:${ports.documents}/api/v1/documents`, {
      headers: {
        Authorization:
          'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4Iiwib3JnIjoiWCIsInJvbGVzIjpbInN5c3RlbS1hZG1pbiJdfQ.',
      },
    });
    expect(forged.status).toBe(401);
  });

  it('refuses malformed JSON with 400, not 500', async () => {
    const r = await fetch(`http://127.0.0.1:${ports.documents}/health/live`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"a":',
    });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { code: string }).code).toBe('MALFORMED_BODY');
  });

  it('serves OpenAPI and Prometheus metrics', async () => {
    const docs = await fetch(`http://127.0.0.1:${ports.identity}/docs-json`);
    expect(docs.status).toBe(200);
    expect(((await docs.json()) as { openapi: string }).openapi).toMatch(/^3\./);
    const metrics = await (await fetch(`http://127.0.0.1:${ports['integration-bus']}/metrics`)).text();
    expect(metrics).toContain('process_resident_memory_bytes');
  });
});
