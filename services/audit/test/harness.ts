import type { INestApplication } from '@nestjs/common';
import {
  AUDIT_RECORDED_BATCH,
  RpcSubjects,
  Streams,
  Subjects,
  type AuditEventPayload,
  type EventEnvelope,
  type Role,
} from '@lienthong/contracts';
import { dropRole, dropSchema, roleOfTestUrl, testServiceEnv, TestTokens } from '@lienthong/testing';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import request from 'supertest';
import { createAuditApp } from '../src/audit.app';

export function auditEvent(
  over: Partial<AuditEventPayload> = {},
  org: string | null = 'ORG-A',
): AuditEventPayload {
  return {
    id: randomUUID(),
    time: new Date().toISOString(),
    service: 'documents',
    action: 'document.read',
    actor: { sub: `user-${randomUUID().slice(0, 8)}`, organizationCode: org, type: 'user' },
    resource: { type: 'document', id: randomUUID() },
    outcome: 'success',
    details: { note: 'tiếng Việt ✓', n: 1.5 },
    ...over,
  };
}

/**
 * Boots the audit service in-process on real PostgreSQL and NATS. The subtree answer of identity is given
 * by a responder on a raw NATS connection speaking identity's documented contract (what a Nest
 * @MessagePattern handler sends back: `{id, response, isDisposed}`), so scoping is tested without booting
 * identity here.
 */
export class AuditHarness {
  apps: INestApplication[] = [];
  env!: Record<string, string | undefined>;
  tokens!: TestTokens;
  nc!: NatsConnection;
  js!: JetStreamClient;
  pg!: Client;
  readonly subtrees = new Map<string, string[]>();

  async start(extra: Record<string, string | undefined> = {}): Promise<this> {
    this.tokens = await TestTokens.start();
    this.env = await testServiceEnv('audit', {
      JWKS_URL: this.tokens.jwksUrl,
      AUDIT_CHECKPOINT_EVERY: '50',
      AUDIT_CHECKPOINT_INTERVAL_MS: '500',
      ...extra,
    });
    this.nc = await connect({ servers: this.env.NATS_URL });
    this.js = jetstream(this.nc);
    const subtree = this.nc.subscribe(RpcSubjects.organizationSubtree);
    void (async () => {
      for await (const m of subtree) {
        const { id, data } = m.json<{ id: string; data: { code: string } }>();
        m.respond(
          JSON.stringify({
            id,
            response: { codes: [data.code, ...(this.subtrees.get(data.code) ?? [])] },
            isDisposed: true,
          }),
        );
      }
    })();
    await this.addInstance();
    this.pg = new Client({ connectionString: this.env.DATABASE_URL });
    await this.pg.connect();
    await this.pg.query(`SET search_path = "${this.env.DB_SCHEMA}"`);
    return this;
  }

  /** Another replica on the same schema and durable consumer. */
  async addInstance(extra: Record<string, string | undefined> = {}): Promise<INestApplication> {
    const app = await createAuditApp({ ...this.env, ...extra });
    this.apps.push(app);
    return app;
  }

  get app(): INestApplication {
    return this.apps[0];
  }

  get http() {
    return request(this.app.getHttpServer());
  }

  async url(): Promise<string> {
    return (await this.app.getUrl()).replace('[::1]', '127.0.0.1');
  }

  token(org: string, roles: Role[] = ['auditor']): Promise<string> {
    return this.tokens.mint({ org, roles });
  }

  /** Publishes as a service's AuditRecorder would (its envelope on its audit subject). */
  async publish(
    e: AuditEventPayload | Record<string, unknown>,
    msgId: string = randomUUID(),
    service = 'documents',
  ): Promise<void> {
    const envelope: EventEnvelope<unknown> = {
      id: msgId,
      type: 'audit.event',
      occurredAt: new Date().toISOString(),
      source: `${service}@central`,
      data: e,
    };
    await this.js.publish(Subjects.auditEvent(service), JSON.stringify(envelope), { msgID: msgId });
  }

  /** Publishes several events in one message, as a transaction with several audit events does. */
  async publishBatch(
    events: (AuditEventPayload | Record<string, unknown>)[],
    msgId: string = randomUUID(),
    service = 'documents',
  ): Promise<void> {
    const envelope: EventEnvelope<unknown> = {
      id: msgId,
      type: AUDIT_RECORDED_BATCH,
      occurredAt: new Date().toISOString(),
      source: `${service}@central`,
      data: { events },
    };
    await this.js.publish(Subjects.auditEvent(service), JSON.stringify(envelope), { msgID: msgId });
  }

  async count(): Promise<number> {
    const r = await this.pg.query(`SELECT count(*)::int AS n FROM leaves`);
    return r.rows[0].n as number;
  }

  streamName(): string {
    return Streams.audit().name;
  }

  async stop(): Promise<void> {
    for (const app of this.apps) await app.close();
    await this.pg?.end();
    await this.nc?.drain();
    await this.tokens?.close();
    if (this.env) {
      const owner = this.env.MIGRATION_DATABASE_URL ?? this.env.DATABASE_URL!;
      await dropSchema(owner, this.env.DB_SCHEMA!);
      if (this.env.MIGRATION_DATABASE_URL) await dropRole(owner, roleOfTestUrl(this.env.DATABASE_URL!));
    }
  }
}
