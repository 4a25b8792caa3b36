import { DynamicModule } from '@nestjs/common';
import { IncomingMessage, ServerResponse } from 'node:http';
import { LoggerModule } from 'nestjs-pino';
import { currentCorrelationId, newCorrelationId, sanitizeCorrelationId } from './correlation';

export const CORRELATION_HEADER = 'x-correlation-id';

/** Structured JSON logs; secrets and credentials are redacted, bodies are never logged. */
export function createLoggerModule(service: string, level: string): DynamicModule {
  return LoggerModule.forRoot({
    pinoHttp: {
      level,
      base: { service },
      messageKey: 'msg',
      genReqId: (req: IncomingMessage, res: ServerResponse) => {
        const id = sanitizeCorrelationId(req.headers[CORRELATION_HEADER]) ?? newCorrelationId();
        req.headers[CORRELATION_HEADER] = id;
        res.setHeader('X-Correlation-Id', id);
        return id;
      },
      customAttributeKeys: { reqId: 'correlationId' },
      mixin: () => {
        const correlationId = currentCorrelationId();
        return correlationId ? { correlationId } : {};
      },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'req.headers["x-api-key"]',
          'res.headers["set-cookie"]',
          '*.password',
          '*.client_secret',
          '*.refresh_token',
          '*.access_token',
        ],
        censor: '[redacted]',
      },
      // The serializers below get the raw request and response: pino-std-serializers' wrappers would first copy
      // every request (headers included) into an object of their own, per request, for the two fields kept.
      wrapSerializers: false,
      serializers: {
        req: (req: { method: string; url: string; originalUrl?: string }) => ({
          method: req.method,
          url: (req.originalUrl ?? req.url)?.split('?')[0],
        }),
        res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
      },
      autoLogging: { ignore: (req) => /^\/(health|metrics)/.test(req.url ?? '') },
    },
  });
}
