import { freePort, testDatabaseUrl, testNatsUrl, dropSchema } from '@lienthong/testing';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

jest.setTimeout(120_000);

const ROOT = join(__dirname, '..', '..');
const SERVICES = ['identity', 'documents', 'integration-bus', 'audit'] as const;

async function waitReady(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (r.status === 200) return true;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

describe('the platform as four processes', () => {
  const procs: ChildProcess[] = [];
  const ports: Record<string, number> = {};
  const schemas: string[] = [];
  const logs: Record<string, string> = {};
  let dbUrl: string;

  beforeAll(async () => {
    dbUrl = await testDatabaseUrl();
    const natsUrl = await testNatsUrl();
    const tag = randomBytes(3).toString('hex');
    for (const s of SERVICES) ports[s] = await freePort();
    for (const s of SERVICES) {
      const schema = `e2e_${tag}_${s.replace('-', '_')}`;
      schemas.push(schema);
      logs[s] = '';
      const p = spawn(process.execPath, [join(ROOT, 'services', s, 'dist', 'main.js')], {
        env: {
          ...process.env,
          DATABASE_URL: dbUrl,
          NATS_URL: natsUrl,
          DB_SCHEMA: schema,
          PORT: String(ports[s]),
          HOST: '127.0.0.1',
          LOG_LEVEL: 'warn',
          JWKS_URL: `http://127.0.0.1:${ports.identity}/.well-known/jwks.json`,
          ADMIN_PASSWORD: `E2e-${randomBytes(12).toString('hex')}`,
          AUDIT_SIGNING_KEY_FILE: '',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      p.stdout?.on('data', (d) => (logs[s] += d.toString()));
      p.stderr?.on('data', (d) => (logs[s] += d.toString()));
      procs.push(p);
    }
  });

  afterAll(async () => {
    await Promise.all(
      procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null) return resolve();
            p.once('exit', () => resolve());
            p.kill('SIGTERM');
            setTimeout(() => p.kill('SIGKILL'), 10_000).unref();
          }),
      ),
    );
    for (const s of schemas) await dropSchema(dbUrl, s);
  });

  it('every service answers /health/ready within 60 s', async () => {
    const ready = await Promise.all(SERVICES.map((s) => waitReady(`http://127.0.0.1:${ports[s]}/health/ready`, 60_000)));
    SERVICES.forEach((s, i) => {
      if (!ready[i]) throw new Error(`${s} not ready; log:\n${logs[s].slice(-3000)}`);
    });
    expect(ready).toEqual([true, true, true, true]);
  });

  it('services reach each other over NATS request/reply', async () => {
    const r = await fetch(`http://127.0.0.1:${ports.documents}/health/peers`);
    expect(r.status).toBe(200);
    const body = (await r.json()) as { peers: { service: string; ok: boolean; info?: { service: string } }[] };
    expect(body.peers.map((p) => [p.service, p.ok, p.info?.service])).toEqual(
      SERVICES.map((s) => [s, true, s]),
    );
  });

  it('answers the API error shape with the caller\'s correlation id', async () => {
    const r = await fetch(`http://127.0.0.1:${ports.audit}/api/v1/no-such-thing`, {
      headers: { 'X-Correlation-Id': 'e2e-check-1' },
    });
    expect(r.status).toBe(404);
    const body = (await r.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ statusCode: 404, code: 'NOT_FOUND', correlationId: 'e2e-check-1' });
    expect(r.headers.get('x-correlation-id')).toBe('e2e-check-1');
    expect(JSON.stringify(body)).not.toMatch(/at .*\.js:\d+/);
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
