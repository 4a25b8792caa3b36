import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import {
  AuditActions,
  ProtoFiles,
  Streams,
  Subjects,
  type AuditEventPayload,
  type DocumentDeliveryEvent,
  type DocumentSendRequestedEvent,
  type DocumentStatusEvent,
} from '@lienthong/contracts';
import { eventually, verifyWebhookSignature, WebhookReceiver } from '@lienthong/testing';
import { randomUUID } from 'node:crypto';
import { DocumentsGrpcServer } from '../src/grpc/documents.grpc-server';
import { WebhookDispatcher } from '../src/subscriptions/webhook-dispatcher';
import { documentBody, DocumentsHarness } from './support/harness';

jest.setTimeout(90_000);

/** `eventually` for a value that is absent until it is there. */
async function until<T>(fn: () => Promise<T | undefined | false> | T | undefined | false): Promise<T> {
  return (await eventually(fn)) as T;
}

const A = '000.00.00.H11';
const B = '000.00.00.H12';
const C = '000.00.00.H13';
const SECRET_KEY = 'test-only-subscriptions-key-0123456789abcdef';

describe('subscriptions: signed webhooks and Watch on real PostgreSQL and NATS', () => {
  const h = new DocumentsHarness();
  const receivers: WebhookReceiver[] = [];
  let clerkA: string;
  let clerkB: string;
  let clerkC: string;
  let client: grpc.Client & Record<string, any>;

  beforeAll(async () => {
    await h.start({
      SUBSCRIPTIONS_RETRY_BASE_MS: '50',
      SUBSCRIPTIONS_RETRY_MAX_MS: '200',
      SUBSCRIPTIONS_TIMEOUT_MS: '1000',
      SUBSCRIPTIONS_SECRET_KEY: SECRET_KEY,
      // The test's receivers listen on loopback, which webhooks may reach only when allowed.
      SUBSCRIPTIONS_ALLOW_PRIVATE: '127.0.0.1/32',
    });
    [A, B, C].forEach((c) => h.knownOrganizations.add(c));
    clerkA = await h.token(A);
    clerkB = await h.token(B);
    clerkC = await h.token(C);
    const def = protoLoader.loadSync(ProtoFiles.documents(), {
      keepCase: false,
      longs: Number,
      enums: String,
      defaults: false,
      arrays: true,
    });
    const pkg = grpc.loadPackageDefinition(def) as any;
    client = new pkg.lienthong.documents.v1.DocumentExchange(
      `127.0.0.1:${h.app.get(DocumentsGrpcServer).port}`,
      grpc.credentials.createInsecure(),
    );
  });
  afterAll(async () => {
    client?.close();
    await Promise.all(receivers.map((r) => r.close()));
    await h.stop();
  });

  const auth = (t: string) => ({ Authorization: `Bearer ${t}` });

  async function receiver(): Promise<WebhookReceiver> {
    const r = await new WebhookReceiver().start();
    receivers.push(r);
    return r;
  }

  async function subscribe(token: string, url: string, events: string[]) {
    const res = await h.http.post('/api/v1/subscriptions').set(auth(token)).send({ url, events });
    expect(res.status).toBe(201);
    return res.body as { id: string; url: string; events: string[]; secret: string };
  }

  /** A registers and sends a document to `to`; the bus double delivers it; returns the sender's id. */
  async function sendAndDeliver(to: string[]): Promise<{ id: string; deliveries: DocumentDeliveryEvent[] }> {
    const created = await h.http
      .post('/api/v1/documents')
      .set(auth(clerkA))
      .send(documentBody({ recipients: to }));
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await h.http.post(`/api/v1/documents/${id}/send`).set(auth(clerkA))).status).toBe(202);
    const sent = (await until(async () =>
      (await h.streamEvents<DocumentSendRequestedEvent>(Subjects.documentSendRequested())).find(
        (e) => e.data.documentId === id,
      ),
    ))!;
    const deliveries = sent.data.recipients.map((code) => ({
      deliveryId: randomUUID(),
      sourceDocumentId: id,
      edxmlDocumentId: id,
      fromOrganizationCode: A,
      toOrganizationCode: code,
      businessType: 0 as const,
      document: sent.data.document,
      attachments: sent.data.attachments,
    }));
    for (const d of deliveries) await h.deliver(d);
    return { id, deliveries };
  }

  async function incomingCopy(org: string, sourceId: string): Promise<string> {
    return until(async () => {
      const rows = await h.db.query(
        'SELECT id FROM documents WHERE source_document_id = $1 AND organization_code = $2',
        [sourceId, org],
      );
      return rows[0]?.id as string | undefined;
    });
  }

  it('validates: absolute http(s) URL, known events, the clerk or exchange role; nothing half-written', async () => {
    for (const [body, field] of [
      [{ url: 'ftp://example.org/x', events: ['document.incoming'] }, 'url'],
      [{ url: '/relative/hook', events: ['document.incoming'] }, 'url'],
      [{ url: 'not a url', events: ['document.incoming'] }, 'url'],
      [{ url: 'http://127.0.0.1:9/x', events: ['document.deleted'] }, 'events'],
      [{ url: 'http://127.0.0.1:9/x', events: [] }, 'events'],
      [{ url: 'http://127.0.0.1:9/x' }, 'events'],
      [{ events: ['document.incoming'] }, 'url'],
    ] as const) {
      const res = await h.http.post('/api/v1/subscriptions').set(auth(clerkA)).send(body);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect((res.body.fields as { field: string }[]).map((f) => f.field)).toContain(field);
    }
    const specialist = await h.token(A, ['specialist']);
    const denied = await h.http
      .post('/api/v1/subscriptions')
      .set(auth(specialist))
      .send({ url: 'http://127.0.0.1:9/x', events: ['document.incoming'] });
    expect(denied.status).toBe(403);
    const [{ n }] = await h.db.query('SELECT count(*)::int AS n FROM subscriptions');
    expect(n).toBe(0);
  });

  it('registers (secret shown once, encrypted at rest), lists, shows, hides other organizations and deletes; audited', async () => {
    const r = await receiver();
    const exchangeClient = await h.token(C, ['exchange']);
    const sub = await subscribe(exchangeClient, r.url, ['document.incoming', 'document.status']);
    expect(sub).toMatchObject({ url: r.url, events: ['document.incoming', 'document.status'] });
    expect(sub.secret.length).toBeGreaterThanOrEqual(32);

    const [stored] = await h.db.query('SELECT secret FROM subscriptions WHERE id = $1', [sub.id]);
    expect(stored.secret).toMatch(/^gcm1:/);
    expect(stored.secret).not.toContain(sub.secret);

    const list = await h.http.get('/api/v1/subscriptions').set(auth(clerkC));
    expect(list.status).toBe(200);
    expect(list.body.items).toEqual([expect.objectContaining({ id: sub.id, url: r.url })]);
    expect(list.body.items[0].secret).toBeUndefined();
    expect(list.body.nextCursor).toBeNull();

    const one = await h.http.get(`/api/v1/subscriptions/${sub.id}`).set(auth(clerkC));
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: sub.id, backlog: 0 });
    expect(one.body.secret).toBeUndefined();
    expect(one.body.lastError).toBeUndefined();

    // Another organization sees nothing of it.
    expect((await h.http.get(`/api/v1/subscriptions/${sub.id}`).set(auth(clerkA))).status).toBe(404);
    expect((await h.http.delete(`/api/v1/subscriptions/${sub.id}`).set(auth(clerkA))).status).toBe(404);
    expect((await h.http.get('/api/v1/subscriptions').set(auth(clerkA))).body.items).toEqual([]);
    expect((await h.http.get(`/api/v1/subscriptions/not-a-uuid`).set(auth(clerkC))).status).toBe(404);

    expect((await h.http.delete(`/api/v1/subscriptions/${sub.id}`).set(auth(clerkC))).status).toBe(204);
    expect((await h.http.get(`/api/v1/subscriptions/${sub.id}`).set(auth(clerkC))).status).toBe(404);

    const audits = await until(async () => {
      const all = (
        await h.streamEvents<AuditEventPayload>(Subjects.auditEvent('documents'), Streams.audit().name)
      ).map((e) => e.data);
      const mine = all.filter((a) => a.resource.id === sub.id);
      return mine.length >= 2 ? mine : undefined;
    });
    expect(audits.map((a) => a.action)).toEqual([
      AuditActions.subscriptionCreated,
      AuditActions.subscriptionDeleted,
    ]);
    expect(JSON.stringify(audits)).not.toContain(sub.secret);
  });

  it('POSTs document.incoming to the recipient and document.status (01, 03) to the sender, signed', async () => {
    const rb = await receiver();
    const ra = await receiver();
    const subB = await subscribe(clerkB, rb.url, ['document.incoming']);
    const subA = await subscribe(clerkA, ra.url, ['document.status']);

    const { id, deliveries } = await sendAndDeliver([B]);
    const copy = await incomingCopy(B, id);
    const incoming = await until(() => rb.acknowledged.find((w) => w.body?.data?.documentId === copy));
    expect(incoming.headers['lienthong-event']).toBe('document.incoming');
    expect(incoming.headers['lienthong-delivery']).toMatch(/^[0-9a-f-]{36}$/);
    // API.md: `Lienthong-Delivery: <id>`, the body's id.
    expect(incoming.headers['lienthong-delivery']).toBe(incoming.body.id);
    expect(incoming.headers['content-type']).toMatch(/^application\/json/);
    expect(verifyWebhookSignature(subB.secret, incoming.headers['lienthong-signature'], incoming.raw)).toBe(
      true,
    );
    // A wrong secret or a changed body does not verify.
    expect(verifyWebhookSignature(subA.secret, incoming.headers['lienthong-signature'], incoming.raw)).toBe(
      false,
    );
    expect(
      verifyWebhookSignature(subB.secret, incoming.headers['lienthong-signature'], incoming.raw + ' '),
    ).toBe(false);
    expect(incoming.body).toMatchObject({
      type: 'document.incoming',
      organizationCode: B,
      data: { documentId: copy, fromOrganizationCode: A, arrivalNumber: expect.any(Number) },
    });
    expect(Object.keys(incoming.body).sort()).toEqual(['data', 'id', 'organizationCode', 'time', 'type']);
    expect(new Date(incoming.body.time).toISOString()).toBe(incoming.body.time);

    const arrived = await until(() =>
      ra.acknowledged.find((w) => w.body?.data?.documentId === id && w.body.data.statusCode === '01'),
    );
    expect(arrived.body).toMatchObject({
      type: 'document.status',
      organizationCode: A,
      data: { documentId: id, organizationCode: B, status: 'arrived', statusCode: '01' },
    });
    expect(verifyWebhookSignature(subA.secret, arrived.headers['lienthong-signature'], arrived.raw)).toBe(
      true,
    );

    // B accepts; the bus double relays the answer to the sender.
    const accepted = await h.http
      .post(`/api/v1/documents/${copy}/status`)
      .set(auth(clerkB))
      .send({ status: 'accepted' });
    expect(accepted.status).toBe(200);
    const statusEvent = (await until(async () =>
      (await h.streamEvents<DocumentStatusEvent>(Subjects.documentStatusChanged())).find(
        (e) => e.data.sourceDocumentId === id && e.data.status === 'accepted',
      ),
    ))!;
    await h.publishBus(Subjects.busStatus(), 'bus.status', statusEvent.data, `relay-${statusEvent.id}`);
    // A redelivered answer is told once.
    await h.publishBus(Subjects.busStatus(), 'bus.status', statusEvent.data, `relay-${statusEvent.id}-again`);
    const acc = await until(() =>
      ra.acknowledged.find((w) => w.body?.data?.documentId === id && w.body.data.statusCode === '03'),
    );
    expect(acc.body.data).toMatchObject({ organizationCode: B, status: 'accepted' });
    // In feed order: 01 before 03; the subscription that wants only statuses got no incoming event.
    const codes = ra.acknowledged
      .filter((w) => w.body.data.documentId === id)
      .map((w) => w.body.data.statusCode);
    expect(codes.slice(0, 2)).toEqual(['01', '03']);
    expect(rb.received.every((w) => w.body.type === 'document.incoming')).toBe(true);
    const [{ n }] = await h.db.query(
      `SELECT count(*)::int AS n FROM organization_events WHERE document_id = $1 AND data->>'statusCode' = '03'`,
      [id],
    );
    expect(n).toBe(1);
    expect(deliveries).toHaveLength(1);
  });

  it('tells the sender a failed transport (bus exchange state) as document.status', async () => {
    const ra = await receiver();
    await subscribe(clerkA, ra.url, ['document.status']);
    const created = await h.http
      .post('/api/v1/documents')
      .set(auth(clerkA))
      .send(documentBody({ recipients: [C] }));
    expect((await h.http.post(`/api/v1/documents/${created.body.id}/send`).set(auth(clerkA))).status).toBe(
      202,
    );
    await h.publishBus(Subjects.busExchangeState(), 'bus.exchange-state', {
      documentId: created.body.id,
      organizationCode: C,
      state: 'failed',
      error: 'unreachable',
      at: new Date().toISOString(),
    });
    const failed = await until(() => ra.acknowledged.find((w) => w.body.data.documentId === created.body.id));
    expect(failed.body).toMatchObject({
      type: 'document.status',
      organizationCode: A,
      data: { organizationCode: C, status: 'failed', reason: 'unreachable' },
    });
    expect(failed.body.data.statusCode).toBeUndefined();
  });

  it('retries a failing receiver with back-off, shows backlog and lastError, then delivers in order', async () => {
    const r = await receiver();
    r.status = 500;
    const sub = await subscribe(clerkC, r.url, ['document.incoming']);
    const first = await sendAndDeliver([C]);
    const second = await sendAndDeliver([C]);
    const copies = [await incomingCopy(C, first.id), await incomingCopy(C, second.id)];

    // The receiver keeps failing: the first event is tried again and again, never the second.
    await until(() => r.received.length >= 3);
    const failing = await until(async () => {
      const res = await h.http.get(`/api/v1/subscriptions/${sub.id}`).set(auth(clerkC));
      return res.body.lastError ? res.body : undefined;
    });
    expect(failing).toMatchObject({ backlog: 2, lastError: 'HTTP 500' });
    expect(new Set(r.received.map((w) => w.body.data.documentId))).toEqual(new Set([copies[0]]));
    expect(new Set(r.received.map((w) => w.headers['lienthong-delivery'])).size).toBe(1);
    const [{ attempts }] = await h.db.query(
      'SELECT count(*)::int AS attempts FROM subscription_deliveries WHERE subscription_id = $1 AND status_code = 500',
      [sub.id],
    );
    expect(attempts).toBeGreaterThanOrEqual(3);

    r.status = 200;
    await until(() => r.acknowledged.length >= 2);
    expect(r.acknowledged.map((w) => w.body.data.documentId)).toEqual(copies);
    const healthy = await until(async () => {
      const res = await h.http.get(`/api/v1/subscriptions/${sub.id}`).set(auth(clerkC));
      return res.body.backlog === 0 && !res.body.lastError ? res.body : undefined;
    });
    expect(healthy.lastDeliveredAt).toEqual(expect.any(String));
  });

  it('records a timeout and a refused connection as errors, and retries them', async () => {
    const slow = await receiver();
    slow.status = 0; // never answers: SUBSCRIPTIONS_TIMEOUT_MS (1 s here) ends each attempt
    const subSlow = await subscribe(clerkB, slow.url, ['document.incoming']);
    const refused = await subscribe(clerkB, 'http://127.0.0.1:1/unreachable', ['document.incoming']);
    const { id } = await sendAndDeliver([B]);
    const copy = await incomingCopy(B, id);
    const timedOut = await until(async () => {
      const r = await h.http.get(`/api/v1/subscriptions/${subSlow.id}`).set(auth(clerkB));
      return r.body.lastError ? r.body : undefined;
    });
    expect(timedOut).toMatchObject({ lastError: 'timeout after 1000 ms', backlog: 1 });
    const unreachable = await until(async () => {
      const r = await h.http.get(`/api/v1/subscriptions/${refused.id}`).set(auth(clerkB));
      return r.body.lastError ? r.body : undefined;
    });
    expect(unreachable.lastError).toMatch(/^connection error: /);
    expect(unreachable.backlog).toBe(1);
    expect((await h.http.delete(`/api/v1/subscriptions/${refused.id}`).set(auth(clerkB))).status).toBe(204);

    slow.status = 200;
    const ok = await until(() => slow.acknowledged.find((w) => w.body.data.documentId === copy));
    // The retry is the same delivery of the same event.
    expect(slow.received.filter((w) => w.answered === 0)[0].headers['lienthong-delivery']).toBe(
      ok.headers['lienthong-delivery'],
    );
  });

  it('stops delivering once deleted', async () => {
    const kept = await receiver();
    const dropped = await receiver();
    await subscribe(clerkB, kept.url, ['document.incoming']);
    const gone = await subscribe(clerkB, dropped.url, ['document.incoming']);
    expect((await h.http.delete(`/api/v1/subscriptions/${gone.id}`).set(auth(clerkB))).status).toBe(204);
    const { id } = await sendAndDeliver([B]);
    const copy = await incomingCopy(B, id);
    await until(() => kept.acknowledged.find((w) => w.body.data.documentId === copy));
    expect(dropped.received).toEqual([]);
  });

  it('Watch streams the same events from a cursor, resumes after one, and goes on live', async () => {
    const md = (t?: string) => {
      const m = new grpc.Metadata();
      if (t) m.set('authorization', `Bearer ${t}`);
      return m;
    };
    const collect = (req: unknown, token: string | undefined, n: number) =>
      new Promise<any[]>((resolve, reject) => {
        const got: any[] = [];
        const call = client.watch(req, md(token));
        call.on('data', (e: any) => {
          got.push(e);
          if (got.length === n) {
            call.cancel();
            resolve(got);
          }
        });
        call.on('error', (e: grpc.ServiceError) =>
          e.code === grpc.status.CANCELLED ? resolve(got) : reject(e),
        );
      });

    await expect(collect({ cursor: '0' }, undefined, 1)).rejects.toMatchObject({
      code: grpc.status.UNAUTHENTICATED,
    });
    await expect(collect({ cursor: '0', events: ['document.bogus'] }, clerkB, 1)).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
    await expect(collect({ cursor: 'x' }, clerkB, 1)).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });

    const feed: { id: string; seq: string; document_id: string; type: string }[] = await h.db.query(
      'SELECT id, seq::text, document_id, type FROM organization_events WHERE organization_code = $1 ORDER BY seq',
      [B],
    );
    expect(feed.length).toBeGreaterThanOrEqual(3);
    const all = await collect({ cursor: '0', events: ['document.incoming'] }, clerkB, feed.length);
    expect(all.map((e) => e.id)).toEqual(feed.map((f) => f.id));
    expect(all[0]).toMatchObject({ type: 'document.incoming', organizationCode: B, cursor: feed[0].seq });
    expect(JSON.parse(all[0].dataJson)).toMatchObject({
      documentId: feed[0].document_id,
      fromOrganizationCode: A,
    });

    const resumed = await collect({ cursor: all[0].cursor }, clerkB, feed.length - 1);
    expect(resumed.map((e) => e.id)).toEqual(feed.slice(1).map((f) => f.id));

    // Live after catch-up: a stream resumed after the last event waits for the next one.
    const live = collect({ cursor: all[all.length - 1].cursor }, clerkB, 1);
    const { id } = await sendAndDeliver([B]);
    const copy = await incomingCopy(B, id);
    const [event] = await live;
    expect(event).toMatchObject({ type: 'document.incoming', documentId: copy });
  });

  it('prunes feed rows older than FEED_RETENTION_DAYS', async () => {
    await h.db.query(
      `INSERT INTO organization_events (id, organization_code, seq, type, document_id, time, data)
       VALUES ($1, 'ZZZ.OLD', 1, 'document.incoming', $2, now() - interval '400 days', '{}')`,
      [randomUUID(), randomUUID()],
    );
    const removed = await h.app.get(WebhookDispatcher).prune();
    expect(removed).toBeGreaterThanOrEqual(1);
    const [{ n }] = await h.db.query(
      `SELECT count(*)::int AS n FROM organization_events WHERE organization_code = 'ZZZ.OLD'`,
    );
    expect(n).toBe(0);
  });
});
