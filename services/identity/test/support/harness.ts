import type { INestApplication } from '@nestjs/common';
import { JetStreamService } from '@lienthong/common';
import {
  unpackAuditEnvelopes,
  Streams,
  Subjects,
  type AuditEventPayload,
  type EventEnvelope,
  type Role,
} from '@lienthong/contracts';
import { dropSchema, eventually, testServiceEnv } from '@lienthong/testing';
import { randomBytes } from 'node:crypto';
import { authenticator } from 'otplib';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { createIdentityApp } from '../../src/identity.app';

export const ADMIN_PASSWORD = 'bootstrap-root-secret-42';
export const ROOT = '000.00.00.G01';

/** Boots identity in-process on real PostgreSQL and NATS, listening on an ephemeral port (for JWKS over HTTP). */
export class IdentityHarness {
  app!: INestApplication;
  env!: Record<string, string | undefined>;
  baseUrl!: string;
  adminToken!: string;

  async start(extra: Record<string, string | undefined> = {}): Promise<this> {
    this.env = await testServiceEnv('identity', {
      ADMIN_PASSWORD,
      ROOT_ORG_CODE: ROOT,
      ROOT_ORG_NAME: 'Trung ương',
      KEY_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      PASSWORD_HASH_MEMORY_KIB: '1024',
      PASSWORD_HASH_ITERATIONS: '1',
      TOKEN_RATE_LIMIT_PER_IP: '100000',
      ...extra,
    });
    this.app = await createIdentityApp(this.env, true);
    const port = (this.app.getHttpServer().address() as AddressInfo).port;
    this.baseUrl = `http://127.0.0.1:${port}`;
    if (extra.ADMIN_PASSWORD !== '')
      this.adminToken = (await this.login('admin', ADMIN_PASSWORD)).access_token;
    return this;
  }

  get http() {
    return request(this.app.getHttpServer());
  }

  get db(): DataSource {
    return this.app.get(DataSource);
  }

  async login(
    username: string,
    password: string,
    otp?: string,
  ): Promise<{ access_token: string; refresh_token: string; expires_in: number }> {
    const res = await this.http
      .post('/api/v1/auth/token')
      .send({ grant_type: 'password', username, password, ...(otp ? { otp } : {}) });
    if (res.status !== 200)
      throw new Error(`login ${username} failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  async org(
    code: string,
    parentCode: string | null,
    level = 'province',
    token = this.adminToken,
    extra: Record<string, unknown> = {},
  ) {
    const res = await this.http
      .post('/api/v1/organizations')
      .set(auth(token))
      .send({
        code,
        name: `Org ${code}`,
        ...(parentCode ? { parentCode } : {}),
        level,
        sector: 'party',
        zone: 'party-wan',
        ...extra,
      });
    if (res.status !== 201) throw new Error(`org ${code}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  async user(
    username: string,
    organizationCode: string,
    roles: Role[],
    password = `Pw!${randomBytes(6).toString('hex')}-long-enough`,
    token = this.adminToken,
  ) {
    const res = await this.http
      .post('/api/v1/users')
      .set(auth(token))
      .send({ username, fullName: username, password, organizationCode, roles });
    if (res.status !== 201) throw new Error(`user ${username}: ${res.status} ${JSON.stringify(res.body)}`);
    return { ...res.body, password } as { id: string; username: string; password: string };
  }

  /** Events on the stream `name` with `subject` (published by the outbox relay). */
  async streamEvents<T>(subject: string, name: string): Promise<EventEnvelope<T>[]> {
    const jsm = await this.app.get(JetStreamService).manager();
    const info = await jsm.streams.info(name);
    const out: EventEnvelope<T>[] = [];
    for (let seq = info.state.first_seq; seq > 0 && seq <= info.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(name, { seq }).catch(() => null);
      if (m && m.subject === subject) out.push(...unpackAuditEnvelopes(m.json<EventEnvelope<T>>())); // audit batches: one per event
    }
    return out;
  }

  async auditEvents(): Promise<AuditEventPayload[]> {
    return (
      await this.streamEvents<AuditEventPayload>(Subjects.auditEvent('identity'), Streams.audit().name)
    ).map((e) => e.data);
  }

  /** Waits until an audit event matching `pred` was published. */
  async expectAudit(pred: (e: AuditEventPayload) => boolean): Promise<AuditEventPayload> {
    let found: AuditEventPayload | undefined;
    await eventually(async () => {
      found = (await this.auditEvents()).find(pred);
      return !!found;
    }, 15_000);
    return found!;
  }

  async stop(): Promise<void> {
    await this.app?.close();
    if (this.env) await dropSchema(this.env.DATABASE_URL!, this.env.DB_SCHEMA!);
  }
}

export const auth = (t: string) => ({ Authorization: `Bearer ${t}` });

/**
 * A TOTP code for `secret` that identity will take: of a step after `afterStep` (a code is good once, RFC 6238
 * §5.2) with at least 8 s of its step left, waiting when needed.
 */
export async function freshTotp(secret: string, afterStep = -1): Promise<{ code: string; step: number }> {
  for (;;) {
    const now = Date.now();
    const step = Math.floor(now / 30_000);
    const left = (step + 1) * 30_000 - now;
    if (step > afterStep && left >= 8_000) return { code: authenticator.generate(secret), step };
    await new Promise((resolve) => setTimeout(resolve, left + 50));
  }
}
