import { Injectable, NestMiddleware, Optional } from '@nestjs/common';
import { HttpMetricsMiddleware } from '../health/http-metrics.middleware';
import type { NextFunction, Request, Response } from 'express';
import { newCorrelationId, runWithCorrelationId, sanitizeCorrelationId } from './correlation';
import { CORRELATION_HEADER } from './logger.module';

/**
 * Puts the request's correlation id into async context so logs, NATS headers and audit events carry it, and
 * starts the request's `http_request_duration_seconds` observation (the same middleware: each Nest middleware
 * is a router layer and a promise per request).
 */
@Injectable()
export class CorrelationMiddleware implements NestMiddleware {
  constructor(@Optional() private readonly metrics?: HttpMetricsMiddleware) {}

  use(req: Request, res: Response, next: NextFunction): void {
    const id =
      sanitizeCorrelationId((req as unknown as { id?: string }).id) ??
      sanitizeCorrelationId(req.headers[CORRELATION_HEADER]) ??
      newCorrelationId();
    req.headers[CORRELATION_HEADER] = id;
    if (!res.headersSent) res.setHeader('X-Correlation-Id', id);
    this.metrics?.track(req, res);
    runWithCorrelationId(id, next);
  }
}
