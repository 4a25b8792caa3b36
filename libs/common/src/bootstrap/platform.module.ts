import {
  DynamicModule,
  Global,
  MiddlewareConsumer,
  Module,
  NestModule,
  Provider,
  Type,
} from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_PIPE } from '@nestjs/core';
import { MessagePattern } from '@nestjs/microservices';
import { TerminusModule } from '@nestjs/terminus';
import { TypeOrmModule, type TypeOrmModuleOptions } from '@nestjs/typeorm';
import { RpcSubjects, type ServiceInfo, type StreamDefinition } from '@lienthong/contracts';
import type { JWTVerifyGetKey } from 'jose';
import type { Registry } from 'prom-client';
import { DataSource } from 'typeorm';
import { JwtAuthGuard } from '../auth/jwt-auth.guard';
import { JWT_KEY_RESOLVER, JWT_VERIFY_OPTIONS, JwtVerifier, remoteJwks } from '../auth/jwt-verifier';
import { RevocationFeed, RevocationList } from '../auth/revocation-list';
import { BaseServiceConfig } from '../config/base-service.config';
import { migrateAsOwner, type RuntimeGrants } from '../database/database-roles';
import { databaseOptions, serverHasLz4 } from '../database/database.options';
import { AllExceptionsFilter } from '../errors/all-exceptions.filter';
import { createValidationPipe } from '../errors/validation';
import { HealthController } from '../health/health.controller';
import { HttpMetricsMiddleware } from '../health/http-metrics.middleware';
import { createMetricsRegistry, METRICS_REGISTRY } from '../health/metrics.registry';
import { PlatformMetrics } from '../health/platform.metrics';
import { CorrelationMiddleware } from '../logging/correlation.middleware';
import { createLoggerModule } from '../logging/logger.module';
import { JetStreamService } from '../nats/jetstream.service';
import { natsConnectionProvider, NatsLifecycle } from '../nats/nats-connection.provider';
import { SERVICE_IDENTITY, ServiceIdentity } from '../nats/nats.tokens';
import { RpcClient } from '../nats/rpc-client';
import { RpcController } from '../nats/rpc-controller.decorator';
import { AuditRecorder } from '../outbox/audit-recorder';
import { OutboxRelay } from '../outbox/outbox.relay';
import { OutboxService } from '../outbox/outbox.service';
import { ProcessedMessages } from '../outbox/processed-messages';
import { UnitOfWork } from '../outbox/unit-of-work';
import { Inject, Injectable, OnModuleInit } from '@nestjs/common';

export interface PlatformOptions {
  service: string;
  version?: string;
  config: BaseServiceConfig;
  /** The service's own config class, provided under its own token too. */
  configClass?: Type<BaseServiceConfig>;
  entities: NonNullable<TypeOrmModuleOptions['entities']>;
  migrations: NonNullable<TypeOrmModuleOptions['migrations']>;
  /** What the runtime role may do on tables that need less than full DML (see database-roles.ts). */
  runtimeGrants?: RuntimeGrants;
  /** Streams this service declares at boot. */
  streams?: StreamDefinition[];
  /** Identity verifies its own tokens with its own keys instead of fetching its JWKS over HTTP. */
  keyResolver?: {
    useFactory: (...args: any[]) => JWTVerifyGetKey | Promise<JWTVerifyGetKey>;
    inject?: any[];
  };
  /** Providers the key resolver (or other platform pieces) depend on; they become global like the rest. */
  extraProviders?: Provider[];
}

export const PLATFORM_STREAMS = Symbol('PLATFORM_STREAMS');

/** Declares the service's streams at boot, before consumers start. */
@Injectable()
class StreamDeclarer implements OnModuleInit {
  constructor(
    @Inject(JetStreamService) private readonly js: JetStreamService,
    @Inject(PLATFORM_STREAMS) private readonly streams: StreamDefinition[],
  ) {}
  async onModuleInit(): Promise<void> {
    for (const s of this.streams) await this.js.ensureStream(s);
  }
}

/** Answers `<service>.info` over NATS request/reply: used by peers and by the e2e round-trip check. */
function serviceInfoController(service: string): Type<unknown> {
  @RpcController()
  class ServiceInfoController {
    constructor(@Inject(SERVICE_IDENTITY) private readonly id: ServiceIdentity) {}
    @MessagePattern(RpcSubjects.serviceInfo(service))
    info(): ServiceInfo {
      return {
        service: this.id.service,
        nodeId: this.id.nodeId,
        version: this.id.version,
        uptimeSeconds: Math.round((Date.now() - this.id.startedAt) / 1000),
      };
    }
  }
  return ServiceInfoController;
}

/**
 * What every service gets: config, JSON logs with correlation ids, its database schema with migrations,
 * NATS (request/reply and JetStream), outbox relay and audit recorder, JWT guard, error filter,
 * validation, health and metrics.
 */
@Global()
@Module({})
export class PlatformModule implements NestModule {
  static forService(opts: PlatformOptions): DynamicModule {
    const identity: ServiceIdentity = {
      service: opts.service,
      nodeId: opts.config.NODE_ID,
      version: opts.version ?? '0.1.0',
      startedAt: Date.now(),
    };
    const configProviders = [
      { provide: BaseServiceConfig, useValue: opts.config },
      ...(opts.configClass && opts.configClass !== BaseServiceConfig
        ? [{ provide: opts.configClass, useValue: opts.config }]
        : []),
    ];
    const keyResolver = opts.keyResolver
      ? { provide: JWT_KEY_RESOLVER, ...opts.keyResolver }
      : { provide: JWT_KEY_RESOLVER, useFactory: () => remoteJwks(opts.config.JWKS_URL) };
    const shared = [
      ...configProviders,
      { provide: SERVICE_IDENTITY, useValue: identity },
      { provide: METRICS_REGISTRY, useFactory: () => createMetricsRegistry(opts.service) },
      natsConnectionProvider,
      NatsLifecycle,
      JetStreamService,
      RpcClient,
      OutboxService,
      OutboxRelay,
      ProcessedMessages,
      AuditRecorder,
      UnitOfWork,
      JwtVerifier,
      RevocationList,
      RevocationFeed,
      ...(opts.extraProviders ?? []),
    ];
    return {
      module: PlatformModule,
      imports: [
        createLoggerModule(opts.service, opts.config.LOG_LEVEL),
        TypeOrmModule.forRootAsync({
          // Migrations as the owner role (when configured) before the runtime pool opens.
          useFactory: async () => {
            await migrateAsOwner(opts.config, opts.migrations, opts.runtimeGrants);
            return databaseOptions(opts.config, opts.entities, opts.migrations, {
              lz4: await serverHasLz4(opts.config.DATABASE_URL),
            });
          },
        }),
        TerminusModule.forRoot({ logger: false }),
      ],
      controllers: [HealthController, serviceInfoController(opts.service)],
      providers: [
        ...shared,
        keyResolver,
        {
          provide: JWT_VERIFY_OPTIONS,
          useValue: { issuer: opts.config.jwtIssuer, audience: opts.config.JWT_AUDIENCE },
        },
        { provide: PLATFORM_STREAMS, useValue: opts.streams ?? [] },
        StreamDeclarer,
        {
          provide: PlatformMetrics,
          inject: [METRICS_REGISTRY, DataSource, JetStreamService, PLATFORM_STREAMS],
          useFactory: (r: Registry, ds: DataSource, js: JetStreamService, streams: StreamDefinition[]) =>
            new PlatformMetrics(
              r,
              ds,
              js,
              streams.map((x) => x.name),
            ),
        },
        { provide: APP_FILTER, useClass: AllExceptionsFilter },
        { provide: APP_PIPE, useFactory: createValidationPipe },
        { provide: APP_GUARD, useClass: JwtAuthGuard },
      ],
      exports: [...shared, JWT_KEY_RESOLVER, JWT_VERIFY_OPTIONS, METRICS_REGISTRY, TypeOrmModule],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    // No global interceptor (HTTP metrics are a middleware; RPC controllers bind their own, see RpcController).
    consumer.apply(CorrelationMiddleware, HttpMetricsMiddleware).forRoutes('*');
  }
}
