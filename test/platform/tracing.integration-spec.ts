import { Controller, type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Transport } from '@nestjs/microservices';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { randomUUID } from 'node:crypto';
import {
  Events,
  streamName,
  Streams,
  Subjects,
  type EventEnvelope,
  type NodeInboundEvent,
} from '@lienthong/contracts';
import { dropSchema, eventually, testDatabaseUrl, testNatsUrl, uniqueSchema } from '@lienthong/testing';
import express from 'express';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import request from 'supertest';
import { DataSource } from 'typeorm';
import type { BaseServiceConfig } from '../../libs/common/src/config/base-service.config';
import { JetStreamService, type ConsumerHandle } from '../../libs/common/src/nats/jetstream.service';
import type { ServiceIdentity } from '../../libs/common/src/nats/nats.tokens';
import { RpcClient } from '../../libs/common/src/nats/rpc-client';
import { RpcCorrelationInterceptor } from '../../libs/common/src/nats/rpc-correlation.interceptor';
import { AuditRecorder } from '../../libs/common/src/outbox/audit-recorder';
import { OutboxRelay } from '../../libs/common/src/outbox/outbox.relay';
import { createMessagingTables, outboxEnvelopeAsText } from '../../libs/common/src/outbox/outbox.schema';
import { OutboxService } from '../../libs/common/src/outbox/outbox.service';
import { ProcessedMessages } from '../../libs/common/src/outbox/processed-messages';
import { UnitOfWork } from '../../libs/common/src/outbox/unit-of-work';
import {
  currentTraceparent,
  flushTracing,
  inSpan,
  startTracing,
  stopTracing,
  tracingEnabled,
} from '../../libs/common/src/tracing/tracing';
import { tracingMiddleware } from '../../libs/common/src/tracing/tracing.middleware';

/**
 * Traces across the asynchronous path against real PostgreSQL, NATS JetStream and an OTLP/HTTP collector
 * (a plain HTTP server here, receiving the exporter's JSON): HTTP request → unit of work → outbox row →
 * relay → JetStream header → consumer span in the same trace. With OTEL_EXPORTER_OTLP_ENDPOINT unset
 * nothing is started, exported or added to the messages.
 */
jest.setTimeout(90_000);

const RPC_SUBJECT = `tracing-test.rpc.${randomUUID()}`;
/** This node's federation stream, as the bus declares it: what is in it leaves the node. */
const FEDOUT = () => ({
  name: streamName('FEDOUT'),
  subjects: [Subjects.federationAll()],
  duplicateWindowMs: 60_000,
});

/** A core NATS request/reply handler answering with the traceparent active while it runs. */
@Controller()
class TraceEchoHandler {
  @MessagePattern(RPC_SUBJECT)
  echo(): { traceparent: string | null } {
    return { traceparent: currentTraceparent() ?? null };
  }
}

@Module({ controllers: [TraceEchoHandler] })
class TraceEchoModule {}

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
}

describe('tracing through the outbox and JetStream (real PostgreSQL, NATS, OTLP/HTTP)', () => {
  const identity: ServiceIdentity = {
    service: 'tracing-test',
    nodeId: 'central',
    version: 't',
    startedAt: 0,
  };
  let dbUrl: string;
  let schema: string;
  let nc: NatsConnection;
  let js: JetStreamService;
  let ds: DataSource;
  let uow: UnitOfWork;
  let outbox: OutboxService;
  let relay: OutboxRelay;
  let consumer: ConsumerHandle;
  let collector: Server;
  let collectorUrl: string;
  const posts: { path: string; contentType: string; body: unknown }[] = [];
  /** Per consumed event id: the traceparent active in the handler. */
  const consumed = new Map<string, string | undefined>();

  const spans = (): OtlpSpan[] =>
    posts.flatMap(
      (p) =>
        (p.body as { resourceSpans?: { scopeSpans?: { spans?: OtlpSpan[] }[] }[] }).resourceSpans?.flatMap(
          (rs) => rs.scopeSpans?.flatMap((ss) => ss.spans ?? []) ?? [],
        ) ?? [],
    );
  const serviceNames = (): string[] =>
    posts.flatMap(
      (p) =>
        (
          p.body as {
            resourceSpans?: {
              resource?: { attributes?: { key: string; value: { stringValue?: string } }[] };
            }[];
          }
        ).resourceSpans?.flatMap(
          (rs) =>
            rs.resource?.attributes
              ?.filter((a) => a.key === 'service.name')
              .map((a) => a.value.stringValue ?? '') ?? [],
        ) ?? [],
    );

  const status = (statusId: string) => ({
    statusId,
    fromOrganizationCode: 'B',
    toOrganizationCode: 'A',
    status: 'arrived' as const,
    statusCode: '01',
    at: new Date().toISOString(),
  });

  /** The HTTP app of a "service": its route writes an event in a unit of work. */
  const app = () => {
    const a = express();
    a.use(tracingMiddleware);
    a.post('/status/:id', (req, res, next) => {
      uow
        .run(
          async (tx) =>
            void tx.emit(Events.documentStatusChanged, status(req.params.id), { id: req.params.id }),
        )
        .then(() => res.status(202).json({ traceparent: currentTraceparent() ?? null }), next);
    });
    return a;
  };

  const storedHeaders = async (id: string) => {
    const jsm = await js.manager();
    const seq = await eventually(async () => {
      const info = await jsm.streams.info(Streams.documents().name);
      for (let s = info.state.first_seq; s <= info.state.last_seq; s++) {
        const m = await jsm.streams.getMessage(Streams.documents().name, { seq: s });
        if (m && (m.json() as EventEnvelope).id === id) return s;
      }
      return undefined;
    });
    const m = await jsm.streams.getMessage(Streams.documents().name, { seq: seq! });
    if (!m) throw new Error(`message ${seq} vanished from the stream`);
    return { traceparent: m.header?.get('traceparent') ?? '', envelope: m.json() as EventEnvelope };
  };

  beforeAll(async () => {
    collector = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        posts.push({
          path: req.url ?? '',
          contentType: String(req.headers['content-type'] ?? ''),
          body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'),
        });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
    collectorUrl = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;

    dbUrl = await testDatabaseUrl();
    schema = uniqueSchema('tracing');
    const setup = new DataSource({ type: 'postgres', url: dbUrl });
    await setup.initialize();
    await setup.query(`CREATE SCHEMA "${schema}"`);
    await setup.destroy();
    ds = await new DataSource({
      type: 'postgres',
      url: dbUrl,
      schema,
      extra: { max: 4, options: `-c search_path=${schema},public` },
    }).initialize();
    const qr = ds.createQueryRunner();
    await createMessagingTables(qr);
    await outboxEnvelopeAsText(qr);
    await qr.release();
    nc = await connect({ servers: await testNatsUrl() });
    js = new JetStreamService(nc, identity);
    for (const s of [Streams.documents(), Streams.deadLetters(), FEDOUT()]) await js.ensureStream(s);
    outbox = new OutboxService(identity);
    uow = new UnitOfWork(ds, outbox, new AuditRecorder(outbox, identity), new ProcessedMessages());
    relay = new OutboxRelay(
      ds,
      js,
      { DB_SCHEMA: schema, OUTBOX_BATCH_SIZE: 100, OUTBOX_POLL_MS: 200 } as BaseServiceConfig,
      new Registry(),
      nc,
    );
    await relay.onApplicationBootstrap();
    consumer = await js.consume(
      {
        stream: Streams.documents().name,
        durable: 'tracing-consumer',
        filterSubject: Subjects.documentStatusChanged(),
      },
      async (batch) => {
        for (const m of batch) consumed.set(m.envelope.id, currentTraceparent());
      },
    );
  });

  afterAll(async () => {
    await consumer?.stop();
    await relay?.onApplicationShutdown();
    await stopTracing();
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    delete process.env.OTEL_SERVICE_NAME;
    await nc?.drain().catch(() => undefined);
    await ds?.destroy();
    if (dbUrl) await dropSchema(dbUrl, schema);
    await new Promise((r) => collector?.close(r));
  });

  it('is off without OTEL_EXPORTER_OTLP_ENDPOINT: no SDK, no header, nothing exported', async () => {
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    expect(startTracing('tracing-test')).toBe(false);
    expect(tracingEnabled()).toBe(false);

    const id = '0b6f3d7e-8c1a-4f0e-9a55-6e2d1c0b0001';
    const incoming = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const res = await request(app()).post(`/status/${id}`).set('traceparent', incoming).expect(202);
    expect(res.body).toEqual({ traceparent: null });
    await eventually(() => consumed.has(id), 15_000);
    expect(consumed.get(id)).toBeUndefined();
    const stored = await storedHeaders(id);
    expect(stored.traceparent).toBe('');
    expect(stored.envelope.traceparent).toBeUndefined();
    await flushTracing();
    expect(posts).toEqual([]);
  });

  it('carries the HTTP trace through the outbox and JetStream to a consumer span exported over OTLP', async () => {
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = collectorUrl;
    process.env.OTEL_SERVICE_NAME = 'tracing-test-svc';
    expect(startTracing('tracing-test')).toBe(true);

    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpan = '00f067aa0ba902b7';
    const id = '0b6f3d7e-8c1a-4f0e-9a55-6e2d1c0b0002';
    const res = await request(app())
      .post(`/status/${id}`)
      .set('traceparent', `00-${traceId}-${callerSpan}-01`)
      .expect(202);
    // The request's server span, child of the caller, is what the unit of work wrote into the outbox.
    const serverTp = String(res.body.traceparent);
    expect(serverTp).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    const serverSpanId = serverTp.split('-')[2];

    await eventually(() => consumed.has(id), 15_000);
    const stored = await storedHeaders(id);
    // The body keeps the writer's context (it survives the outbox); the header is the relay's producer span.
    expect(stored.envelope.traceparent).toBe(serverTp);
    const [, headerTrace, producerSpanId] = stored.traceparent.split('-');
    expect(headerTrace).toBe(traceId);
    expect(producerSpanId).not.toBe(serverSpanId);
    // The handler ran in a consumer span of the same trace, child of the producer's span.
    const handlerTp = consumed.get(id) ?? '';
    expect(handlerTp.split('-')[1]).toBe(traceId);
    const consumerSpanId = handlerTp.split('-')[2];

    await flushTracing();
    await eventually(() => spans().some((s) => s.spanId === consumerSpanId), 15_000);
    expect(posts.every((p) => p.path === '/v1/traces' && p.contentType.includes('application/json'))).toBe(
      true,
    );
    const server = spans().find((s) => s.spanId === serverSpanId);
    expect(server).toMatchObject({ traceId, parentSpanId: callerSpan, name: 'POST /status/:id', kind: 2 });
    // HTTP server span → producer span (the relay's publish) → consumer span.
    expect(spans().find((s) => s.spanId === producerSpanId)).toMatchObject({
      traceId,
      parentSpanId: serverSpanId,
      name: 'publish document.status-changed',
      kind: 4,
    });
    const consumerSpan = spans().find((s) => s.spanId === consumerSpanId);
    expect(consumerSpan).toMatchObject({
      traceId,
      parentSpanId: producerSpanId,
      name: 'tracing-consumer process',
      kind: 5,
    });
    expect(serviceNames()).toContain('tracing-test-svc');
  });

  it('a federation message leaves the node with no traceparent in its body (only the W3C header)', async () => {
    expect(tracingEnabled()).toBe(true);
    const id = randomUUID();
    const subject = Subjects.federationOut('peer-tracing');
    let writerTp = '';
    await inSpan('writer', {}, async () => {
      writerTp = currentTraceparent() ?? '';
      await ds.transaction((m) =>
        outbox.add(m, {
          subject,
          type: 'bus.node-inbound',
          id,
          data: { kind: 'status', fromNodeId: 'central', toNodeId: 'peer-tracing' } as NodeInboundEvent,
        }),
      );
    });
    // The outbox row still has it (the relay's producer span continues the writer's trace) …
    const jsm = await js.manager();
    const msg = await eventually(async () => {
      try {
        return (await jsm.streams.getMessage(FEDOUT().name, { last_by_subj: subject })) ?? undefined;
      } catch {
        return undefined;
      }
    }, 15_000);
    const text = new TextDecoder().decode(msg!.data);
    const body = JSON.parse(text) as EventEnvelope;
    expect(body.id).toBe(id);
    // … but the message that leaves the node carries it in no payload field.
    expect(body.traceparent).toBeUndefined();
    expect(text).not.toContain(writerTp.split('-')[1]);
    const header = msg!.header?.get('traceparent') ?? '';
    expect(header.split('-')[1]).toBe(writerTp.split('-')[1]);
    // A local event keeps it in its body (the path above), so the stripping is the boundary's doing.
    expect(Subjects.crossesNode(subject)).toBe(true);
    expect(Subjects.crossesNode(Subjects.documentStatusChanged())).toBe(false);
  });

  it("carries the caller's trace over core NATS request/reply into a server span", async () => {
    expect(tracingEnabled()).toBe(true);
    const natsUrl = await testNatsUrl();
    const server: INestMicroservice = await NestFactory.createMicroservice(TraceEchoModule, {
      transport: Transport.NATS,
      options: { servers: [natsUrl] },
      logger: false,
    });
    server.useGlobalInterceptors(new RpcCorrelationInterceptor());
    await server.listen();
    const rpc = new RpcClient(
      { NATS_URL: natsUrl, NATS_REQUEST_TIMEOUT_MS: 5000 } as BaseServiceConfig,
      identity,
    );
    try {
      let callerTp = '';
      const reply = (await inSpan('caller', {}, async () => {
        callerTp = currentTraceparent() ?? '';
        return rpc.requestRaw(RPC_SUBJECT, {});
      })) as { traceparent: string | null };
      const [, callerTrace, callerSpanId] = callerTp.split('-');
      expect(callerTrace).toMatch(/^[0-9a-f]{32}$/);
      const [, replyTrace, handlerSpanId] = String(reply.traceparent).split('-');
      expect(replyTrace).toBe(callerTrace);
      expect(handlerSpanId).not.toBe(callerSpanId);

      await flushTracing();
      await eventually(() => spans().some((s) => s.spanId === handlerSpanId), 15_000);
      expect(spans().find((s) => s.spanId === handlerSpanId)).toMatchObject({
        traceId: callerTrace,
        parentSpanId: callerSpanId,
        kind: 2,
      });
    } finally {
      await rpc.onApplicationShutdown();
      await server.close();
    }
  });
});
