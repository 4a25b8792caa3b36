import { ArgumentsHost, Catch, ExceptionFilter, Logger } from '@nestjs/common';
import type { Request, Response } from 'express';
import { throwError } from 'rxjs';
import { currentCorrelationId, newCorrelationId, sanitizeCorrelationId } from '../logging/correlation';
import { CORRELATION_HEADER } from '../logging/logger.module';
import { toErrorBody } from './error-body';

/** One filter for every transport: HTTP answers the API error shape; RPC answers `{code,message,status}`. */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost) {
    const type = host.getType<string>();
    if (type === 'http') {
      const ctx = host.switchToHttp();
      const req = ctx.getRequest<Request>();
      const res = ctx.getResponse<Response>();
      const correlationId =
        sanitizeCorrelationId(req.headers?.[CORRELATION_HEADER]) ??
        currentCorrelationId() ??
        newCorrelationId();
      if (!res.headersSent) res.setHeader('X-Correlation-Id', correlationId);
      const { body, internal } = toErrorBody(exception, correlationId);
      if (internal) this.logger.error({ err: exception, correlationId }, 'unhandled error');
      const retry = body.retryAfterSeconds;
      if (typeof retry === 'number') {
        res.setHeader('Retry-After', String(Math.max(1, Math.ceil(retry))));
        delete body.retryAfterSeconds;
      }
      if (res.headersSent) {
        res.end();
        return;
      }
      res.status(body.statusCode).json(body);
      return;
    }
    const { body, internal } = toErrorBody(exception, currentCorrelationId());
    if (internal) this.logger.error({ err: exception }, 'unhandled error in message handler');
    if (type === 'rpc')
      return throwError(() => ({ code: body.code, message: body.message, status: body.statusCode }));
    throw exception;
  }
}
