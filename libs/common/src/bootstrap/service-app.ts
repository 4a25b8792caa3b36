import type { INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Transport, type MicroserviceOptions } from '@nestjs/microservices';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { BaseServiceConfig } from '../config/base-service.config';
import { compactWhenIdle } from './compact-when-idle';
import { buildOpenApiDocument } from './openapi-document';
import { ensureSchema } from '../database/database.options';
import { natsAuth } from '../nats/nats-auth';
import { credsAuthenticator } from 'nats';
import { toErrorBody } from '../errors/error-body';
import { newCorrelationId, sanitizeCorrelationId } from '../logging/correlation';
import { startTracing, stopTracing } from '../tracing/tracing';
import { tracingMiddleware } from '../tracing/tracing.middleware';
import type { NextFunction, Request, Response } from 'express';

/** Body-parser failures happen before Nest's router: answer them here in the API's error shape. */
function bodyParserErrors(err: unknown, req: Request, res: Response, next: NextFunction): void {
  const e = err as { status?: number; type?: string } | undefined;
  if (!e || typeof e.status !== 'number' || e.status >= 500) return next(err);
  const correlationId = sanitizeCorrelationId(req.headers['x-correlation-id']) ?? newCorrelationId();
  const { body } = toErrorBody(err, correlationId);
  res.setHeader('X-Correlation-Id', correlationId);
  res.status(body.statusCode).json(body);
}

export interface ServiceAppOptions {
  service: string;
  title: string;
  /** The service's root module, already configured. */
  module: Type<unknown> | import('@nestjs/common').DynamicModule;
  config: BaseServiceConfig;
  /** Hook for extra setup before listening (e.g. a gRPC server). */
  beforeListen?: (app: INestApplication) => Promise<void> | void;
  /** false in tests that only need the HTTP app. */
  listen?: boolean;
}

/**
 * Builds a service: JSON body limits, OpenAPI at /docs, NATS request/reply with a queue group per
 * service (replicas share load), shutdown hooks. Used by main.ts and by medium tests.
 */
export async function createServiceApp(opts: ServiceAppOptions): Promise<NestExpressApplication> {
  const { config } = opts;
  // Before Nest: off (nothing started) unless OTEL_EXPORTER_OTLP_ENDPOINT is set.
  const tracing = startTracing(opts.service);
  await ensureSchema(config.MIGRATION_DATABASE_URL ?? config.DATABASE_URL, config.DB_SCHEMA);
  const app = await NestFactory.create<NestExpressApplication>(opts.module as Type<unknown>, {
    bufferLogs: true,
    bodyParser: false,
    abortOnError: false,
  });
  app.useLogger(app.get(Logger));
  app.disable('x-powered-by');
  app.useBodyParser('json', { limit: config.HTTP_BODY_LIMIT_BYTES, strict: true });
  app.useBodyParser('urlencoded', { limit: config.HTTP_BODY_LIMIT_BYTES, extended: false });
  app.use(bodyParserErrors);
  if (tracing) app.use(tracingMiddleware);

  // Built on the first request to /docs or /docs-json (then kept), not at boot: the document and the garbage
  // of building it are memory a service that is never asked for its documentation does not need.
  SwaggerModule.setup('docs', app, () => buildOpenApiDocument(app, opts.title), {
    jsonDocumentUrl: 'docs-json',
  });

  const auth = natsAuth(config, opts.service);
  app.connectMicroservice<MicroserviceOptions>(
    {
      transport: Transport.NATS,
      options: {
        servers: config.NATS_URL.split(','),
        queue: `${opts.service}`,
        name: `${opts.service}-rpc-server@${config.NODE_ID}`,
        maxReconnectAttempts: -1,
        ...(auth.user ? { user: auth.user, pass: auth.pass } : {}),
        ...(auth.creds ? { authenticator: credsAuthenticator(auth.creds) } : {}),
        inboxPrefix: auth.inboxPrefix,
      },
    },
    { inheritAppConfig: true },
  );
  try {
    await app.init();
  } catch (e) {
    // A refused boot (bad key, missing secret) releases its connections instead of keeping the process alive.
    await app.close().catch(() => undefined);
    throw e;
  }
  await app.startAllMicroservices();
  await opts.beforeListen?.(app);
  if (opts.listen !== false) await app.listen(config.PORT, config.HOST);
  return app;
}

/** Entry point of a service process: exits non-zero with a readable message when boot fails. */
export async function runService(build: () => Promise<INestApplication>): Promise<void> {
  try {
    const app = await build();
    // Memory that start-up or a burst of load left behind is given back once the process is idle.
    const stopCompacting = compactWhenIdle();
    // SIGTERM/SIGINT close the app once: consumers stop after their batch, the outbox relay finishes its
    // transaction, NATS drains, the pool closes; then a normal exit (so --cpu-prof profiles get written).
    let closing = false;
    const shutdown = () => {
      if (closing) return;
      closing = true;
      stopCompacting();
      app
        .close()
        .then(() => stopTracing().catch(() => undefined))
        .then(
          () => process.exit(0),
          () => process.exit(1),
        );
    };
    process.once('SIGTERM', shutdown);
    process.once('SIGINT', shutdown);
  } catch (e) {
    const err = e as Error;
    process.stderr.write(`${JSON.stringify({ level: 'fatal', msg: 'boot failed', error: err.message })}\n`);
    process.exit(1);
  }
}
