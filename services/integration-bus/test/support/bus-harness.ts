import type { INestApplication } from '@nestjs/common';
import { Buckets, RpcSubjects, Streams, type EventEnvelope, type OrganizationView } from '@lienthong/contracts';
import { dropSchema, testServiceEnv, TestTokens } from '@lienthong/testing';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createHash, randomUUID } from 'node:crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { generateSelfSigned, type NodeCredentials } from '../../src/edxml';
import { createIntegrationBusApp } from '../../src/integration-bus.app';

export const SYSTEM_ID = '000.00.00.H99';
export const SECRET = 'test-shared-secret';

/**
 * Identity is being built in parallel and is not in this branch: this test double answers its documented
 * request/reply contract (`RpcSubjects.organizationResolve`, `organizationUpsertState`) on a raw NATS
 * connection, in the @nestjs/microservices wire format. The documents service is replaced by publishing
 * its documented events (`document.send-requested`, `document.status-changed`).
 */
export class IdentityDouble {
  readonly orgs = new Map<string, OrganizationView>();
  readonly upserts: string[] = [];
  private nc!: NatsConnection;

  async start(url: string): Promise<this> {
    this.nc = await connect({ servers: url });
    const resolve = this.nc.subscribe(RpcSubjects.organizationResolve);
    void (async () => {
      for await (const m of resolve) {
        const { id, data } = m.json<{ id: string; data: { codes: string[] } }>();
        const response = { found: data.codes.filter((c) => this.orgs.has(c)).map((c) => this.orgs.get(c)), missing: data.codes.filter((c) => !this.orgs.has(c)) };
        m.respond(JSON.stringify({ id, response, isDisposed: true }));
      }
    })();
    const upsert = this.nc.subscribe(RpcSubjects.organizationUpsertState);
    void (async () => {
      for await (const m of upsert) {
        const { id, data } = m.json<{ id: string; data: { code: string; name: string } }>();
        this.upserts.push(data.code);
        const view = org(data.code, 'state', 'central', data.name);
        if (!this.orgs.has(data.code)) this.orgs.set(data.code, view);
        m.respond(JSON.stringify({ id, response: this.orgs.get(data.code), isDisposed: true }));
      }
    })();
    return this;
  }

  add(...views: OrganizationView[]): void {
    for (const v of views) this.orgs.set(v.code, v);
  }

  async stop(): Promise<void> {
    await this.nc?.drain().catch(() => undefined);
  }
}

export function org(code: string, sector: 'party' | 'state', nodeId: string, name = code): OrganizationView {
  return { code, name, parentCode: null, level: 'province', sector, zone: 'party-wan', nodeId };
}

export class BusInstance {
  app!: INestApplication;
  env!: Record<string, string | undefined>;

  constructor(readonly cred: NodeCredentials) {}

  async start(env: Record<string, string | undefined>): Promise<this> {
    this.env = env;
    this.app = await createIntegrationBusApp(env, false);
    return this;
  }

  async restart(): Promise<void> {
    await this.app.close();
    this.app = await createIntegrationBusApp(this.env, false);
  }

  get http() {
    return request(this.app.getHttpServer());
  }

  get db(): DataSource {
    return this.app.get(DataSource);
  }

  async stop(drop = true): Promise<void> {
    await this.app?.close().catch(() => undefined);
    if (drop && this.env) await dropSchema(this.env.DATABASE_URL!, this.env.DB_SCHEMA!);
  }
}

export async function busEnv(tokens: TestTokens, cred: NodeCredentials, extra: Record<string, string | undefined>) {
  return testServiceEnv('bus', {
    JWKS_URL: tokens.jwksUrl,
    NODE_CERT_PEM: cred.certPem,
    NODE_KEY_PEM: cred.keyPem,
    EXCHANGE_SCHEDULER_MS: '100',
    EXCHANGE_RETRY_BASE_MS: '100',
    EXCHANGE_RETRY_MAX_MS: '400',
    NATIONAL_AXIS_POLL_MS: '300',
    ...extra,
  });
}

export const newCredentials = (cn: string) => generateSelfSigned(cn, 1024);

/** Raw NATS access for the test: publishing as documents, reading the BUS stream, the object store. */
export class NatsProbe {
  nc!: NatsConnection;

  async start(url: string): Promise<this> {
    this.nc = await connect({ servers: url });
    return this;
  }

  async publish(subject: string, type: string, data: unknown, id: string = randomUUID(), msgID: string = id): Promise<void> {
    const env: EventEnvelope = { id, type, occurredAt: new Date().toISOString(), source: 'documents@test', data };
    await jetstream(this.nc).publish(subject, JSON.stringify(env), { msgID });
  }

  async putObject(bytes: Buffer): Promise<string> {
    const key = createHash('sha256').update(bytes).digest('hex');
    const os = await new Objm(this.nc).create(Buckets.attachments());
    await os.putBlob({ name: key }, new Uint8Array(bytes));
    return key;
  }

  async events<T>(subject: string, stream = Streams.bus().name): Promise<EventEnvelope<T>[]> {
    const jsm = await jetstreamManager(this.nc);
    const info = await jsm.streams.info(stream).catch(() => null);
    if (!info) return [];
    const out: EventEnvelope<T>[] = [];
    for (let seq = info.state.first_seq; seq > 0 && seq <= info.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
      if (m && m.subject === subject) out.push(m.json<EventEnvelope<T>>());
    }
    return out;
  }

  async stop(): Promise<void> {
    await this.nc?.drain().catch(() => undefined);
  }
}
