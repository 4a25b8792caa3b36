import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { newCorrelationId, runWithCorrelationId, sanitizeCorrelationId } from './correlation';
import { CORRELATION_HEADER } from './logger.module';

/** Puts the request's correlation id into async context so logs, NATS headers and audit events carry it. */
@Injectable()
export class CorrelationMiddleware implements NestMiddleware {
  use(req: Request, res: Response, next: NextFunction): void {
    const id =
      sanitizeCorrelationId((req as unknown as { id?: string }).id) ??
      sanitizeCorrelationId(req.headers[CORRELATION_HEADER]) ??
      newCorrelationId();
    req.headers[CORRELATION_HEADER] = id;
    if (!res.headersSent) res.setHeader('X-Correlation-Id', id);
    runWithCorrelationId(id, next);
  }
}
