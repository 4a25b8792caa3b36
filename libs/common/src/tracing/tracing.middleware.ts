import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { NextFunction, Request, Response } from 'express';
import { contextFromTraceparent, tracer, tracingEnabled, TRACEPARENT_HEADER } from './tracing';

/**
 * Express middleware opening the server span of an HTTP request, child of the caller's `traceparent` when
 * it sent one; ended when the response is finished. Everything the request does afterwards (outbox rows,
 * NATS requests) runs in its context. Installed only when tracing is on.
 */
export function tracingMiddleware(req: Request, res: Response, next: NextFunction): void {
  if (!tracingEnabled()) return next();
  const header = req.headers[TRACEPARENT_HEADER];
  const parent = contextFromTraceparent(Array.isArray(header) ? header[0] : header);
  const span = tracer().startSpan(
    `${req.method} ${req.path}`,
    {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': req.method, 'url.path': req.path },
    },
    parent,
  );
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    span.end();
  };
  res.once('finish', () => {
    const route = (req as Request & { route?: { path?: string } }).route?.path;
    if (route) span.updateName(`${req.method} ${route}`);
    span.setAttribute('http.response.status_code', res.statusCode);
    if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    end();
  });
  res.once('close', end);
  context.with(trace.setSpan(parent, span), next);
}
