import type { INestApplication } from '@nestjs/common';
import {
  Buckets,
  Streams,
  unpackAuditEnvelopes,
  type EventEnvelope,
  type OrganizationView,
} from '@lienthong/contracts';
import { dropSchema, testNatsUrl, testServiceEnv, TestTokens } from '@lienthong/testing';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createHash, randomUUID } from 'node:crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { generateSelfSigned, type NodeCredentials } from '../../src/edxml';
import { createIntegrationBusApp } from '../../src/integration-bus.app';
import { createIdentityApp } from '../../../identity/src/identity.app';
import {
  NationalAxisSimulator,
  type SimulatorOptions,
} from '../../src/national-axis-simulator/national-axis-simulator';

export const SYSTEM_ID = '000.00.00.H99';
export const SECRET = 'test-shared-secret';

/**
 * The real identity service (merged into main), booted in-process on its own schema: the bus resolves
 * organizations through its request/reply handlers and hears its `organization.changed` events. Organizations
 * are created through its HTTP API with the bootstrap admin's password token.
 */
export class RealIdentity {
  app!: INestApplication;
  env!: Record<string, string | undefined>;
  private token = '';

  async start(): Promise<this> {
    this.env = await testServiceEnv('identity', {
      ADMIN_PASSWORD: 'Xe-buyt-Lien-thong-2026!',
      ROOT_ORG_CODE: '000.00.00.A01',
      TOKEN_RATE_LIMIT_PER_IP: '10000',
    });
    this.app = await createIdentityApp(this.env, false);
    const res = await this.http
      .post('/api/v1/auth/token')
      .send({ grant_type: 'password', username: 'admin', password: 'Xe-buyt-Lien-thong-2026!' });
    if (res.status !== 200) throw new Error(`identity token: ${res.status} ${JSON.stringify(res.body)}`);
    this.token = res.body.access_token;
    return this;
  }

  get http() {
    return request(this.app.getHttpServer());
  }

  async add(...views: OrganizationView[]): Promise<void> {
    for (const v of views) {
      const res = await this.http
        .post('/api/v1/organizations')
        .set('Authorization', `Bearer ${this.token}`)
        .send({
          code: v.code,
          name: v.name,
          level: v.level,
          sector: v.sector,
          zone: v.zone,
          nodeId: v.nodeId,
        });
      if (res.status !== 201)
        throw new Error(`identity create ${v.code}: ${res.status} ${JSON.stringify(res.body)}`);
    }
  }

  async get(code: string): Promise<OrganizationView | undefined> {
    const res = await this.http
      .get(`/api/v1/organizations/${code}`)
      .set('Authorization', `Bearer ${this.token}`);
    return res.status === 200 ? res.body : undefined;
  }

  async stop(): Promise<void> {
    await this.app?.close().catch(() => undefined);
    if (this.env) await dropSchema(this.env.DATABASE_URL!, this.env.DB_SCHEMA!);
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

export async function busEnv(
  tokens: TestTokens,
  cred: NodeCredentials,
  extra: Record<string, string | undefined>,
) {
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

  async publish(
    subject: string,
    type: string,
    data: unknown,
    id: string = randomUUID(),
    msgID: string = id,
    correlationId?: string,
  ): Promise<void> {
    const env: EventEnvelope = {
      id,
      type,
      occurredAt: new Date().toISOString(),
      source: 'documents@test',
      data,
      ...(correlationId ? { correlationId } : {}),
    };
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
      if (m && m.subject === subject) out.push(...unpackAuditEnvelopes(m.json<EventEnvelope<T>>())); // audit batches: one per event
    }
    return out;
  }

  async stop(): Promise<void> {
    await this.nc?.drain().catch(() => undefined);
  }
}

/** What one bus of a {@link startBusWorld} needs: its credentials and its env on top of {@link busEnv}'s. */
export interface BusSpec {
  cred: NodeCredentials;
  /** Talks to the world's simulated axis as {@link SYSTEM_ID} with {@link SECRET} (NATIONAL_AXIS_* set). */
  axis?: boolean;
  env?: Record<string, string | undefined>;
}

/** The shared pieces of an integration-bus medium test, started in order and stopped in reverse. */
export interface BusWorld {
  tokens: TestTokens;
  identity: RealIdentity;
  probe: NatsProbe;
  sim: NationalAxisSimulator | undefined;
  buses: BusInstance[];
  stop(): Promise<void>;
}

/**
 * Starts the test tokens, the real identity service with `orgs`, a NATS probe, the simulated national axis
 * (when `axis` is given) and one {@link BusInstance} per spec, in that order. If any step fails, what was
 * started is stopped before the error is rethrown; `stop()` tears everything down (buses first, schemas dropped).
 */
export async function startBusWorld(opts: {
  orgs: OrganizationView[];
  buses: BusSpec[];
  axis?: SimulatorOptions;
}): Promise<BusWorld> {
  const world: Partial<BusWorld> & { buses: BusInstance[] } = { buses: [] };
  const stop = async () => {
    for (const bus of world.buses) await bus.stop();
    await world.sim?.stop();
    await world.identity?.stop();
    await world.probe?.stop();
    await world.tokens?.close();
  };
  try {
    world.tokens = await TestTokens.start();
    world.identity = new RealIdentity();
    await world.identity.start();
    await world.identity.add(...opts.orgs);
    world.probe = await new NatsProbe().start(await testNatsUrl());
    world.sim = opts.axis ? new NationalAxisSimulator(opts.axis) : undefined;
    const axisUrl = world.sim ? await world.sim.start(0) : undefined;
    for (const spec of opts.buses) {
      const bus = new BusInstance(spec.cred);
      world.buses.push(bus);
      const axisEnv = spec.axis
        ? { NATIONAL_AXIS_URL: axisUrl, NATIONAL_AXIS_SYSTEM_ID: SYSTEM_ID, NATIONAL_AXIS_SECRET: SECRET }
        : {};
      await bus.start(await busEnv(world.tokens, spec.cred, { ...axisEnv, ...spec.env }));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { ...(world as Omit<BusWorld, 'stop'>), stop };
}
