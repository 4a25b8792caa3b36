import { EventEmitter } from 'node:events';
import { Registry } from 'prom-client';
import { HttpMetricsMiddleware } from '../health/http-metrics.middleware';
import { currentCorrelationId } from './correlation';
import { CorrelationMiddleware } from './correlation.middleware';

function fakeExchange(headers: Record<string, string> = {}) {
  const res = Object.assign(new EventEmitter(), {
    headersSent: false,
    statusCode: 200,
    headers: {} as Record<string, string>,
    setHeader(name: string, value: string) {
      this.headers[name] = value;
    },
  });
  const req = {
    method: 'POST',
    headers: { ...headers } as Record<string, unknown>,
    route: undefined as unknown,
  };
  return { req, res };
}

describe('CorrelationMiddleware', () => {
  it('puts a safe caller-supplied correlation id in context and in the response header', () => {
    const { req, res } = fakeExchange({ 'x-correlation-id': 'abc-123' });
    let seen: string | undefined;
    new CorrelationMiddleware().use(req as never, res as never, () => {
      seen = currentCorrelationId();
    });
    expect(seen).toBe('abc-123');
    expect(res.headers['X-Correlation-Id']).toBe('abc-123');
    expect(req.headers['x-correlation-id']).toBe('abc-123');
  });

  it('makes up an id for an unsafe one', () => {
    const { req, res } = fakeExchange({ 'x-correlation-id': 'bad id with spaces' });
    new CorrelationMiddleware().use(req as never, res as never, () => undefined);
    expect(req.headers['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.headers['X-Correlation-Id']).toBe(req.headers['x-correlation-id']);
  });
});

describe('HttpMetricsMiddleware', () => {
  it('observes http_request_duration_seconds once per finished response of a matched route, none for unmatched', async () => {
    const registry = new Registry();
    const mw = new HttpMetricsMiddleware(registry);
    const { req, res } = fakeExchange();
    mw.use(req as never, res as never, () => undefined);
    req.route = { path: '/api/v1/documents/:id/send' };
    res.statusCode = 202;
    res.emit('finish');
    res.emit('finish');
    const unmatched = fakeExchange();
    mw.use(unmatched.req as never, unmatched.res as never, () => undefined);
    unmatched.res.emit('finish');
    const text = await registry.metrics();
    expect(text).toContain(
      'http_request_duration_seconds_count{method="POST",route="/api/v1/documents/:id/send",status="202"} 1',
    );
    expect(text.match(/http_request_duration_seconds_count\{/g)).toHaveLength(1);
  });
});
