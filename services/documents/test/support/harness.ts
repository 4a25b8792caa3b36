import type { INestApplication } from '@nestjs/common';
import { JetStreamService } from '@lienthong/common';
import {
  unpackAuditEnvelopes,
  unpackStatusEnvelopes,
  RpcSubjects,
  Streams,
  Subjects,
  type DocumentDeliveryEvent,
  type EventEnvelope,
  type Role,
} from '@lienthong/contracts';
import { dropSchema, testServiceEnv, TestTokens } from '@lienthong/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { createDocumentsApp } from '../../src/documents.app';

/**
 * Boots the documents service in-process on real PostgreSQL and NATS. Identity is not in this branch, so
 * a test double answers its documented request/reply contract (`RpcSubjects.organizationResolve`) on a
 * raw NATS connection; the integration bus is likewise replaced by publishing its documented events.
 */
export class DocumentsHarness {
  app!: INestApplication;
  env!: Record<string, string | undefined>;
  tokens!: TestTokens;
  nc!: NatsConnection;
  readonly attachmentsDir = mkdtempSync(join(tmpdir(), 'lt-att-'));
  /** Organization codes identity knows. */
  readonly knownOrganizations = new Set<string>();
  /** Descendants by organization code, for identity's subtree answer. */
  readonly subtrees = new Map<string, string[]>();

  async start(extra: Record<string, string | undefined> = {}): Promise<this> {
    this.tokens = await TestTokens.start();
    this.env = await testServiceEnv('documents', {
      JWKS_URL: this.tokens.jwksUrl,
      ATTACHMENTS_DIR: this.attachmentsDir,
      GRPC_PORT: '0',
      ...extra,
    });
    this.nc = await connect({ servers: this.env.NATS_URL });
    const sub = this.nc.subscribe(RpcSubjects.organizationResolve);
    void (async () => {
      for await (const m of sub) {
        const { id, data } = m.json<{ id: string; data: { codes: string[] } }>();
        const found = data.codes.filter((c) => this.knownOrganizations.has(c));
        const response = {
          found: found.map((code) => ({
            code,
            name: code,
            parentCode: null,
            level: 'province',
            sector: 'party',
            zone: 'party-wan',
            nodeId: 'central',
          })),
          missing: data.codes.filter((c) => !this.knownOrganizations.has(c)),
        };
        m.respond(JSON.stringify({ id, response, isDisposed: true }));
      }
    })();
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
    this.app = await createDocumentsApp(this.env);
    return this;
  }

  get http() {
    return request(this.app.getHttpServer());
  }

  get db(): DataSource {
    return this.app.get(DataSource);
  }

  token(org: string, roles: Role[] = ['clerk']): Promise<string> {
    return this.tokens.mint({ org, roles });
  }

  /** Publishes an event as the integration bus would (its documented subject and payload). */
  async publishBus(subject: string, type: string, data: unknown, id: string = randomUUID()): Promise<void> {
    const js = this.app.get(JetStreamService);
    const env: EventEnvelope = {
      id,
      type,
      occurredAt: new Date().toISOString(),
      source: 'integration-bus@test',
      data,
    };
    await js.publish(subject, env);
  }

  deliver(ev: DocumentDeliveryEvent, msgId?: string): Promise<void> {
    return this.publishBus(Subjects.busDelivery(), 'bus.delivery', ev, msgId);
  }

  /** Events the service put on the DOCUMENTS stream (through its outbox) on one subject. */
  async streamEvents<T>(
    subject: string,
    name: string = Streams.documents().name,
  ): Promise<EventEnvelope<T>[]> {
    const jsm = await this.app.get(JetStreamService).manager();
    const info = await jsm.streams.info(name);
    const out: EventEnvelope<T>[] = [];
    for (let seq = info.state.first_seq; seq > 0 && seq <= info.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(name, { seq }).catch(() => null);
      if (m && m.subject === subject)
        out.push(...unpackAuditEnvelopes(m.json<EventEnvelope<T>>()).flatMap(unpackStatusEnvelopes)); // batches: one per event
    }
    return out;
  }

  async stop(): Promise<void> {
    await this.app?.close();
    await this.nc?.drain().catch(() => undefined);
    await this.tokens?.close();
    if (this.env) await dropSchema(this.env.DATABASE_URL!, this.env.DB_SCHEMA!);
    rmSync(this.attachmentsDir, { recursive: true, force: true });
  }
}

/** Number and notation are unique per office and register year: each body gets the next number. */
let lastNumber = 26;

export function documentBody(overrides: Record<string, unknown> = {}) {
  return {
    number: String(++lastNumber),
    notation: 'QĐ/TW',
    type: 'QĐ',
    typeName: 'Quyết định',
    subject: 'Về việc triển khai thực hiện chuyển đổi số trong các cơ quan đảng',
    content: 'Nội dung quyết định',
    promulgationPlace: 'Hà Nội',
    promulgationDate: '2026-11-20',
    signer: { competence: 'TM. Ban Thường vụ', position: 'Bí thư', fullName: 'Nguyễn Văn A' },
    secrecy: 'none',
    urgency: 'normal',
    steering: false,
    recipients: ['000.00.00.H02'],
    ...overrides,
  };
}
