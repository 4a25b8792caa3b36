import {
  AuditActions,
  Streams,
  Subjects,
  type AuditEventPayload,
  type DocumentDeliveryEvent,
  type DocumentSendRequestedEvent,
  type DocumentStatusEvent,
  type EventEnvelope,
} from '@lienthong/contracts';
import { eventually } from '@lienthong/testing';
import { randomUUID } from 'node:crypto';
import { ExchangeService } from '../src/exchange/exchange.service';
import { documentBody, DocumentsHarness } from './support/harness';

jest.setTimeout(90_000);

const A = '000.00.00.H01';
const B = '000.00.00.H02';
const C = '000.00.00.H03';

describe('documents service on real PostgreSQL and NATS (identity and bus as contract doubles)', () => {
  const h = new DocumentsHarness();
  let clerkA: string;
  let clerkB: string;
  let clerkC: string;

  beforeAll(async () => {
    await h.start();
    [A, B, C].forEach((c) => h.knownOrganizations.add(c));
    clerkA = await h.token(A);
    clerkB = await h.token(B);
    clerkC = await h.token(C);
  });
  afterAll(() => h.stop());

  const auth = (t: string) => ({ Authorization: `Bearer ${t}` });

  async function create(token: string, overrides: Record<string, unknown> = {}) {
    const res = await h.http.post('/api/v1/documents').set(auth(token)).send(documentBody(overrides));
    expect(res.status).toBe(201);
    return res.body as { id: string; outgoingNumber: number; state: string };
  }

  async function auditEvents(): Promise<AuditEventPayload[]> {
    return (
      await h.streamEvents<AuditEventPayload>(Subjects.auditEvent('documents'), Streams.audit().name)
    ).map((e) => e.data);
  }

  /** The bus double: turns a send-requested event into one delivery per recipient, as the bus would. */
  async function busDeliver(documentId: string, businessType: 0 | 1 = 0): Promise<DocumentDeliveryEvent[]> {
    const subject =
      businessType === 1 ? Subjects.documentRecallRequested() : Subjects.documentSendRequested();
    const sent = (await eventually(async () =>
      (await h.streamEvents<DocumentSendRequestedEvent>(subject)).find(
        (e) => e.data.documentId === documentId,
      ),
    ))!;
    const deliveries = sent.data.recipients.map((to) => ({
      deliveryId: randomUUID(),
      sourceDocumentId: documentId,
      edxmlDocumentId: documentId,
      fromOrganizationCode: sent.data.fromOrganizationCode,
      toOrganizationCode: to,
      businessType,
      ...(sent.data.reason ? { reason: sent.data.reason } : {}),
      document: sent.data.document,
      attachments: sent.data.attachments,
    }));
    for (const d of deliveries) await h.deliver(d);
    return deliveries;
  }

  /** The bus double relays receiver statuses back to the sender. */
  async function busRelayStatuses(sourceDocumentId: string): Promise<DocumentStatusEvent[]> {
    const events = (await h.streamEvents<DocumentStatusEvent>(Subjects.documentStatusChanged())).filter(
      (e) => e.data.sourceDocumentId === sourceDocumentId,
    );
    for (const e of events) await h.publishBus(Subjects.busStatus(), 'bus.status', e.data, `relay-${e.id}`);
    return events.map((e) => e.data);
  }

  async function incomingFor(token: string, sourceId: string) {
    return eventually(async () => {
      const res = await h.http.get('/api/v1/documents?direction=incoming&limit=500').set(auth(token));
      const rows = await h.db.query(
        `SELECT id FROM documents WHERE source_document_id = $1 AND organization_code = $2`,
        [sourceId, token === clerkB ? B : C],
      );
      return rows[0] ? (res.body.items as { id: string }[]).find((i) => i.id === rows[0].id) : undefined;
    });
  }

  it('rejects bad input with 400 naming every failing field', async () => {
    const res = await h.http
      .post('/api/v1/documents')
      .set(auth(clerkA))
      .send({
        ...documentBody(),
        secrecy: 'very',
        promulgationDate: '20-11-2026',
        signer: { position: 'x' },
        extra: 1,
      });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    const fields = (res.body.fields as { field: string }[]).map((f) => f.field);
    expect(fields).toEqual(
      expect.arrayContaining(['secrecy', 'promulgationDate', 'signer.fullName', 'extra']),
    );
    const [{ n }] = await h.db.query('SELECT count(*)::int AS n FROM documents');
    expect(n).toBe(0);
  });

  it('needs the clerk role to register a document', async () => {
    const res = await h.http
      .post('/api/v1/documents')
      .set(auth(await h.token(A, ['specialist'])))
      .send(documentBody());
    expect(res.status).toBe(403);
  });

  it('registers a document for the caller organization and hides it from other organizations (404)', async () => {
    const doc = await create(clerkA);
    const mine = await h.http.get(`/api/v1/documents/${doc.id}`).set(auth(clerkA));
    expect(mine.status).toBe(200);
    expect(mine.body).toMatchObject({
      direction: 'outgoing',
      organizationCode: A,
      state: 'draft',
      notation: 'QĐ/TW',
    });
    expect(mine.body.recipients).toEqual([expect.objectContaining({ organizationCode: B, status: 'draft' })]);
    const theirs = await h.http.get(`/api/v1/documents/${doc.id}`).set(auth(clerkB));
    expect(theirs.status).toBe(404);
    const send = await h.http.post(`/api/v1/documents/${doc.id}/send`).set(auth(clerkB));
    expect(send.status).toBe(404);
    const bogus = await h.http.get('/api/v1/documents/not-a-uuid').set(auth(clerkA));
    expect(bogus.status).toBe(404);
  });

  it('keeps classified documents visible only to cleared roles and refuses to send them (audited)', async () => {
    const doc = await create(clerkA, { secrecy: 'secret' });
    expect((await h.http.get(`/api/v1/documents/${doc.id}`).set(auth(clerkA))).status).toBe(404);
    const cleared = await h.token(A, ['clerk', 'cleared']);
    const seen = await h.http.get(`/api/v1/documents/${doc.id}`).set(auth(cleared));
    expect(seen.status).toBe(200);
    expect(seen.body.secrecy).toBe('secret');
    const list = await h.http.get('/api/v1/documents?limit=500').set(auth(clerkA));
    expect((list.body.items as { id: string }[]).some((i) => i.id === doc.id)).toBe(false);

    const res = await h.http.post(`/api/v1/documents/${doc.id}/send`).set(auth(cleared));
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('DOCUMENT_CLASSIFIED');
    const [{ n }] = await h.db.query(
      'SELECT count(*)::int AS n FROM document_recipients WHERE document_id = $1',
      [doc.id],
    );
    expect(n).toBe(0);
    const refusals = await eventually(async () => {
      const found = (await auditEvents()).filter(
        (e) => e.action === AuditActions.documentSendRefused && e.resource.id === doc.id,
      );
      return found.length > 0 ? found : undefined;
    });
    expect(refusals![0]).toMatchObject({ outcome: 'denied', details: { reason: 'DOCUMENT_CLASSIFIED' } });
    const sends = await h.streamEvents<DocumentSendRequestedEvent>(Subjects.documentSendRequested());
    expect(sends.some((e) => e.data.documentId === doc.id)).toBe(false);
  });

  it('sends concurrent requests in shared batches: one document once, others alongside, a foreign one 404', async () => {
    const twice = await create(clerkA, { recipients: [B, C] });
    const others = await Promise.all([create(clerkA), create(clerkA, { recipients: [B, C] })]);
    const foreign = await create(clerkB, { recipients: [A] });
    const [same, other, foreignSend] = await Promise.all([
      Promise.all(
        Array.from({ length: 5 }, () => h.http.post(`/api/v1/documents/${twice.id}/send`).set(auth(clerkA))),
      ),
      Promise.all(others.map((d) => h.http.post(`/api/v1/documents/${d.id}/send`).set(auth(clerkA)))),
      h.http.post(`/api/v1/documents/${foreign.id}/send`).set(auth(clerkA)),
    ]);
    expect(same.map((r) => r.status).sort()).toEqual([202, 409, 409, 409, 409]);
    expect(same.find((r) => r.status === 202)!.body.recipients).toEqual([
      { organizationCode: B, status: 'queued' },
      { organizationCode: C, status: 'queued' },
    ]);
    expect(same.filter((r) => r.status === 409).every((r) => r.body.code === 'DOCUMENT_ALREADY_SENT')).toBe(
      true,
    );
    expect(other.map((r) => r.status)).toEqual([202, 202]);
    expect(foreignSend.status).toBe(404);
    const rows: { document_id: string; n: number }[] = await h.db.query(
      `SELECT document_id, count(*)::int AS n FROM document_recipients WHERE document_id = ANY($1::uuid[])
       GROUP BY document_id`,
      [[twice.id, ...others.map((d) => d.id), foreign.id]],
    );
    expect(Object.fromEntries(rows.map((r) => [r.document_id, r.n]))).toEqual({
      [twice.id]: 2,
      [others[0].id]: 1,
      [others[1].id]: 2,
    });
    const { state } = (await h.http.get(`/api/v1/documents/${foreign.id}`).set(auth(clerkB))).body;
    expect(state).toBe('draft');
    const sent = await eventually(async () => {
      const found = (await auditEvents()).filter(
        (e) => e.action === AuditActions.documentSent && e.resource.id === twice.id,
      );
      return found.length > 0 ? found : undefined;
    });
    const events = (
      await h.streamEvents<DocumentSendRequestedEvent>(Subjects.documentSendRequested())
    ).filter((e) => e.data.documentId === twice.id);
    expect(sent).toHaveLength(1);
    expect(events).toHaveLength(1);
    expect(events[0].data.recipients).toEqual([B, C]);
  });

  it('refuses unknown recipients with 422 naming them', async () => {
    const doc = await create(clerkA, { recipients: [B, '999.99.99.Z99'] });
    const res = await h.http.post(`/api/v1/documents/${doc.id}/send`).set(auth(clerkA));
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('RECIPIENT_UNKNOWN');
    expect(res.body.message).toContain('999.99.99.Z99');
    expect(res.body.message).not.toContain(B);
  });

  it('exchanges a document between two organizations through the bus event contract', async () => {
    const doc = await create(clerkA, { recipients: [B, C], dueDate: '2026-12-31' });
    const sent = await h.http.post(`/api/v1/documents/${doc.id}/send`).set(auth(clerkA));
    expect(sent.status).toBe(202);
    expect(sent.body).toEqual({
      id: doc.id,
      recipients: [
        { organizationCode: B, status: 'queued' },
        { organizationCode: C, status: 'queued' },
      ],
    });
    const again = await h.http.post(`/api/v1/documents/${doc.id}/send`).set(auth(clerkA));
    expect(again.status).toBe(409);

    const deliveries = await busDeliver(doc.id);
    const incoming = (await incomingFor(clerkB, doc.id)) as Record<string, unknown>;
    expect(incoming).toMatchObject({
      direction: 'incoming',
      fromOrganizationCode: A,
      status: 'arrived',
      statusCode: '01',
    });
    expect(incoming.arrivalNumber).toEqual(expect.any(Number));
    expect(incoming.arrivalDate).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    // The sender's copy is not visible to the receiver, nor the receiver's to the sender.
    expect((await h.http.get(`/api/v1/documents/${doc.id}`).set(auth(clerkB))).status).toBe(404);
    expect((await h.http.get(`/api/v1/documents/${incoming.id}`).set(auth(clerkA))).status).toBe(404);

    // Redelivery of the same delivery (new message id, same deliveryId) changes nothing.
    await h.deliver(deliveries[0]);
    await h.deliver({ ...deliveries[1] });
    await incomingFor(clerkC, doc.id);

    // Bus reports transport state, then relays the receivers' 01.
    await h.publishBus(Subjects.busExchangeState(), 'bus.exchange-state', {
      documentId: doc.id,
      organizationCode: C,
      state: 'sent',
      at: new Date().toISOString(),
    });
    await eventually(async () => (await busRelayStatuses(doc.id)).length >= 2);
    await eventually(async () => {
      const r = await h.http.get(`/api/v1/documents/${doc.id}`).set(auth(clerkA));
      return (r.body.recipients as { status: string }[]).every((x) => x.status === 'arrived');
    });

    // Receiver B: impossible transitions are 409, rejected needs a reason, then accepted → completed.
    const jump = await h.http
      .post(`/api/v1/documents/${incoming.id}/status`)
      .set(auth(clerkB))
      .send({ status: 'completed' });
    expect(jump.status).toBe(409);
    expect(jump.body.code).toBe('STATUS_TRANSITION');
    const noReason = await h.http
      .post(`/api/v1/documents/${incoming.id}/status`)
      .set(auth(clerkB))
      .send({ status: 'rejected' });
    expect(noReason.status).toBe(400);
    expect(noReason.body.fields.map((f: { field: string }) => f.field)).toContain('reason');
    const senderSide = await h.http
      .post(`/api/v1/documents/${doc.id}/status`)
      .set(auth(clerkA))
      .send({ status: 'accepted' });
    expect(senderSide.status).toBe(409);
    for (const status of ['accepted', 'assigned', 'processing', 'completed']) {
      const r = await h.http
        .post(`/api/v1/documents/${incoming.id}/status`)
        .set(auth(clerkB))
        .send({ status, ...(status === 'assigned' ? { assignee: 'Phòng Tổng hợp' } : {}) });
      expect(r.status).toBe(200);
      expect(r.body.status).toBe(status);
    }
    const back = await h.http
      .post(`/api/v1/documents/${incoming.id}/status`)
      .set(auth(clerkB))
      .send({ status: 'processing' });
    expect(back.status).toBe(409);

    await eventually(async () => (await busRelayStatuses(doc.id)).some((s) => s.status === 'completed'));
    const final = await eventually(async () => {
      const r = await h.http.get(`/api/v1/documents/${doc.id}`).set(auth(clerkA));
      const b = (r.body.recipients as { organizationCode: string; status: string }[]).find(
        (x) => x.organizationCode === B,
      );
      return b?.status === 'completed' ? r.body : undefined;
    });
    expect(
      final.recipients.find((x: { organizationCode: string }) => x.organizationCode === B),
    ).toMatchObject({ statusCode: '06' });
    expect(
      final.recipients.find((x: { organizationCode: string }) => x.organizationCode === C),
    ).toMatchObject({ status: 'arrived', statusCode: '01' });

    // Each recipient's status history at the sender: queued at the send, then every change once (statuses
    // relayed again above changed nothing and recorded nothing), in time order.
    type Entry = { status: string; statusCode?: string; reason?: string; at: string };
    const historyOf = async (code: string, token = clerkA) =>
      h.http.get(`/api/v1/documents/${doc.id}/recipients/${code}/history`).set(auth(token));
    const hb = await historyOf(B);
    expect(hb.status).toBe(200);
    const bItems = hb.body.items as Entry[];
    expect(bItems[0]).toMatchObject({ status: 'queued' });
    expect(bItems.find((e) => e.status === 'arrived')).toMatchObject({ statusCode: '01' });
    expect(bItems[bItems.length - 1]).toMatchObject({ status: 'completed', statusCode: '06' });
    expect(new Set(bItems.map((e) => e.status)).size).toBe(bItems.length);
    const times = bItems.map((e) => Date.parse(e.at));
    expect([...times].sort((x, y) => x - y)).toEqual(times);
    const [{ rows }] = await h.db.query(
      `SELECT count(*)::int AS rows FROM recipient_status_changes WHERE document_id = $1 AND organization_code = $2`,
      [doc.id, B],
    );
    expect(bItems).toHaveLength(rows + 1);
    const hc = (await historyOf(C)).body.items as Entry[];
    expect(hc.map((e) => e.status)).toEqual(['queued', 'arrived']);
    // Only the sender reads it; an unknown recipient or a malformed code is refused with a code.
    expect((await historyOf(B, clerkB)).status).toBe(404);
    const stranger = await historyOf('000.00.00.Z99');
    expect(stranger.status).toBe(404);
    expect(stranger.body.code).toBe('RECIPIENT_NOT_FOUND');
    const malformed = await historyOf('not-a-code');
    expect(malformed.status).toBe(400);
    expect(malformed.body.fields.map((f: { field: string }) => f.field)).toContain('organizationCode');
    const badCursor = await h.http
      .get(`/api/v1/documents/${doc.id}/recipients/${B}/history?cursor=abc`)
      .set(auth(clerkA));
    expect(badCursor.status).toBe(400);
    // Paging: one entry a page still yields every stored change once.
    const paged: Entry[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: Entry[]; nextCursor: string | null } } = await h.http
        .get(
          `/api/v1/documents/${doc.id}/recipients/${B}/history?limit=1${cursor ? `&cursor=${cursor}` : ''}`,
        )
        .set(auth(clerkA));
      paged.push(...page.body.items);
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(paged).toEqual(bItems);

    const [{ n }] = await h.db.query(
      `SELECT count(*)::int AS n FROM documents WHERE source_document_id = $1`,
      [doc.id],
    );
    expect(n).toBe(2);

    // Report: A sent one; B received one and completed it before its due date.
    const today = new Date(Date.now() + 7 * 3_600_000).toISOString().slice(0, 10);
    const report = await h.http
      .get(`/api/v1/reports/exchange?from=2026-01-01&to=${today}`)
      .set(auth(await h.token(A, ['auditor'])));
    expect(report.status).toBe(200);
    const orgB = report.body.organizations.find((o: { code: string }) => o.code === B);
    expect(orgB).toMatchObject({ received: expect.any(Number), onTimeShare: 1 });
    expect(orgB.byStatus.completed).toBe(1);
    expect(report.body.totals.sent).toBeGreaterThanOrEqual(1);
  });

  it('recalls a sent document: receivers mark it recalled (13) and answer 15', async () => {
    const doc = await create(clerkA, { recipients: [B] });
    expect((await h.http.post(`/api/v1/documents/${doc.id}/send`).set(auth(clerkA))).status).toBe(202);
    await busDeliver(doc.id);
    const incoming = (await incomingFor(clerkB, doc.id)) as { id: string };
    const recall = await h.http
      .post(`/api/v1/documents/${doc.id}/recall`)
      .set(auth(clerkA))
      .send({ reason: 'Sai sót trích yếu' });
    expect(recall.status).toBe(202);
    expect(
      (await h.http.post(`/api/v1/documents/${doc.id}/recall`).set(auth(clerkA)).send({ reason: 'again' }))
        .status,
    ).toBe(409);
    await busDeliver(doc.id, 1);
    await eventually(async () => {
      const r = await h.http.get(`/api/v1/documents/${incoming.id}`).set(auth(clerkB));
      return r.body.status === 'recalled' && r.body.statusCode === '13';
    });
    await eventually(async () => (await busRelayStatuses(doc.id)).some((s) => s.statusCode === '15'));
    await eventually(async () => {
      const r = await h.http.get(`/api/v1/documents/${doc.id}`).set(auth(clerkA));
      return r.body.recipients[0].statusCode === '15';
    });
    const after = await h.http
      .post(`/api/v1/documents/${incoming.id}/status`)
      .set(auth(clerkB))
      .send({ status: 'accepted' });
    expect(after.status).toBe(409);
  });

  it('numbers batches of multi-recipient deliveries set-based, gap-free per register under concurrency', async () => {
    const exchange = h.app.get(ExchangeService);
    const orgs = ['000.00.00.N61', '000.00.00.N62', '000.00.00.N63', '000.00.00.N64'];
    const base = documentBody() as unknown as DocumentDeliveryEvent['document'];
    // 12 batches of 5 messages, each message to 3 of the 4 organizations; applied concurrently, every
    // batch twice (a redelivery racing the first delivery).
    const batches = Array.from({ length: 12 }, (_, b) =>
      Array.from({ length: 5 }, (_, i): DocumentDeliveryEvent => {
        const to = orgs.filter((_, k) => k !== (b + i) % orgs.length);
        return {
          deliveryId: randomUUID(),
          sourceDocumentId: randomUUID(),
          edxmlDocumentId: randomUUID(),
          fromOrganizationCode: A,
          recipients: to.map((organizationCode) => ({ organizationCode, deliveryId: randomUUID() })),
          document: { ...base, subject: `Chỉ thị ${b}.${i}` },
          attachments: [],
        };
      }),
    );
    const outcomes = await Promise.all(
      [...batches, ...batches].map((batch) => exchange.applyDeliveries(batch)),
    );
    expect(outcomes.flat().filter((o) => o.applied)).toHaveLength(12 * 5 * 3);
    const expected = new Map<string, number>();
    for (const ev of batches.flat())
      for (const r of ev.recipients!)
        expected.set(r.organizationCode, (expected.get(r.organizationCode) ?? 0) + 1);
    for (const org of orgs) {
      const rows: { register_number: number }[] = await h.db.query(
        `SELECT register_number FROM documents WHERE organization_code = $1 AND direction = 'incoming'
         ORDER BY register_number`,
        [org],
      );
      expect(rows.map((r) => r.register_number)).toEqual(
        Array.from({ length: expected.get(org)! }, (_, i) => i + 1),
      );
    }
  });

  it("moves the sender's rows to 01 in the delivery's own transaction when the sender is served here", async () => {
    const exchange = h.app.get(ExchangeService);
    const doc = await create(clerkA, { recipients: [B, C] });
    expect((await h.http.post(`/api/v1/documents/${doc.id}/send`).set(auth(clerkA))).status).toBe(202);
    const sent = (await eventually(async () =>
      (await h.streamEvents<DocumentSendRequestedEvent>(Subjects.documentSendRequested())).find(
        (e) => e.data.documentId === doc.id,
      ),
    ))!;
    const [outcome] = await exchange.applyDeliveries([
      {
        deliveryId: randomUUID(),
        sourceDocumentId: doc.id,
        edxmlDocumentId: doc.id,
        fromOrganizationCode: A,
        recipients: [B, C].map((organizationCode) => ({ organizationCode, deliveryId: randomUUID() })),
        document: sent.data.document,
        attachments: [],
      },
    ]);
    expect(outcome.applied).toBe(true);
    // Committed together: no status event has travelled back, yet the sender sees 01 for both.
    const view = await h.http.get(`/api/v1/documents/${doc.id}`).set(auth(clerkA));
    expect(view.body.recipients.map((r: { statusCode?: string }) => r.statusCode)).toEqual(['01', '01']);
    expect(view.body.recipientCounts).toEqual({ total: 2, arrived: 2 });
    // The status events tell the bus the sender has it already (so nothing is relayed back).
    const statuses = await eventually(async () => {
      const e = (await h.streamEvents<DocumentStatusEvent>(Subjects.documentStatusChanged())).filter(
        (x) => x.data.sourceDocumentId === doc.id,
      );
      return e.length === 2 ? e : undefined;
    });
    expect(statuses!.every((e) => e.data.senderApplied === true && e.data.statusCode === '01')).toBe(true);
  });

  it('takes up to 20,000 recipients and pages them; the view lists the first 500 and counts all', async () => {
    const many = Array.from(
      { length: 1200 },
      (_, i) => `001.00.${String(Math.floor(i / 100)).padStart(2, '0')}.P${String(i % 100).padStart(2, '0')}`,
    );
    many.forEach((c) => h.knownOrganizations.add(c));
    const doc = await create(clerkA, { recipients: many });
    expect((await h.http.post(`/api/v1/documents/${doc.id}/send`).set(auth(clerkA))).status).toBe(202);
    const view = await h.http.get(`/api/v1/documents/${doc.id}`).set(auth(clerkA));
    expect(view.body.recipients).toHaveLength(500);
    expect(view.body.recipientCounts).toEqual({ total: 1200, queued: 1200 });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: {
        status: number;
        body: { items: { organizationCode: string }[]; nextCursor: string | null };
      } = await h.http
        .get(`/api/v1/documents/${doc.id}/recipients?limit=500${cursor ? `&cursor=${cursor}` : ''}`)
        .set(auth(clerkA));
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((r) => r.organizationCode));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...many].sort());
    const bad = await h.http.get(`/api/v1/documents/${doc.id}/recipients?cursor=%%%`).set(auth(clerkA));
    expect(bad.status).toBe(400);
    const tooMany = await h.http
      .post('/api/v1/documents')
      .set(auth(clerkA))
      .send(documentBody({ recipients: Array.from({ length: 20_001 }, (_, i) => `002.${i}`) }));
    expect(tooMany.status).toBe(400);
  });

  it('numbers 50 parallel deliveries to one organization exactly 1..50', async () => {
    const exchange = h.app.get(ExchangeService);
    const org = '000.00.00.H50';
    const base = documentBody() as unknown as DocumentDeliveryEvent['document'];
    const events: DocumentDeliveryEvent[] = Array.from({ length: 50 }, (_, i) => ({
      deliveryId: randomUUID(),
      sourceDocumentId: randomUUID(),
      edxmlDocumentId: randomUUID(),
      fromOrganizationCode: A,
      toOrganizationCode: org,
      document: { ...base, subject: `Công văn số ${i}` },
      attachments: [],
    }));
    // Every delivery twice, all at once: duplicates must neither number nor register twice.
    const results = await Promise.all([...events, ...events].map((e) => exchange.applyDelivery(e)));
    expect(results.filter((r) => r.applied)).toHaveLength(50);
    const rows: { register_number: number }[] = await h.db.query(
      `SELECT register_number FROM documents WHERE organization_code = $1 AND direction = 'incoming' ORDER BY register_number`,
      [org],
    );
    expect(rows.map((r) => r.register_number)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));

    const csv = await h.http
      .get(
        `/api/v1/registers/incoming?year=${new Date(Date.now() + 7 * 3_600_000).getUTCFullYear()}&format=csv`,
      )
      .set(auth(await h.token(org)));
    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toContain('text/csv');
    const lines = csv.text
      .replace(/^\uFEFF/, '')
      .trim()
      .split('\r\n');
    expect(lines[0]).toBe(
      'Ngày đến,Số đến,Tác giả,Số, ký hiệu,Ngày tháng,Tên loại và trích yếu nội dung,Đơn vị hoặc người nhận,Ghi chú'.replace(
        'Số, ký hiệu',
        '"Số, ký hiệu"',
      ),
    );
    expect(lines).toHaveLength(51);
    expect(lines[1].split(',')[1]).toBe('1');
  });

  it('numbers deliveries arriving through the bus consecutively and applies a redelivered one once', async () => {
    const org = '000.00.00.H51';
    const base = documentBody() as unknown as DocumentDeliveryEvent['document'];
    const events: DocumentDeliveryEvent[] = Array.from({ length: 5 }, () => ({
      deliveryId: randomUUID(),
      sourceDocumentId: randomUUID(),
      edxmlDocumentId: randomUUID(),
      fromOrganizationCode: A,
      toOrganizationCode: org,
      document: base,
      attachments: [],
    }));
    for (const e of [...events, events[0], events[3]]) await h.deliver(e);
    const rows = await eventually(async () => {
      const r: { register_number: number }[] = await h.db.query(
        `SELECT register_number FROM documents WHERE organization_code = $1 ORDER BY register_number`,
        [org],
      );
      return r.length === 5 ? r : undefined;
    });
    await new Promise((r) => setTimeout(r, 500));
    const [{ n }] = await h.db.query(
      `SELECT count(*)::int AS n FROM documents WHERE organization_code = $1`,
      [org],
    );
    expect(n).toBe(5);
    expect(rows!.map((r) => r.register_number)).toEqual([1, 2, 3, 4, 5]);
    const arrived = (await h.streamEvents<DocumentStatusEvent>(Subjects.documentStatusChanged())).filter(
      (e: EventEnvelope<DocumentStatusEvent>) => e.data.fromOrganizationCode === org,
    );
    expect(arrived).toHaveLength(5);
    expect(arrived.every((e) => e.data.statusCode === '01')).toBe(true);
  });

  it('finds documents without diacritics, combined with filters, and pages with a cursor', async () => {
    const org = '000.00.00.H60';
    const clerk = await h.token(org);
    await create(clerk, { subject: 'Kế hoạch triển khai Nghị quyết về đào tạo', recipients: [A] });
    await create(clerk, { subject: 'Báo cáo tổng kết công tác Đảng', recipients: [A] });
    await create(clerk, { subject: 'Hướng dẫn triển khai công tác kiểm tra', recipients: [A] });
    const q = async (query: string) => (await h.http.get(`/api/v1/documents?${query}`).set(auth(clerk))).body;
    expect((await q('q=trien%20khai')).items).toHaveLength(2);
    expect((await q('q=Tri%E1%BB%83n%20Khai')).items).toHaveLength(2);
    expect((await q('q=dang')).items.map((i: { subject: string }) => i.subject)).toEqual([
      'Báo cáo tổng kết công tác Đảng',
    ]);
    expect((await q('q=dao%20tao')).items).toHaveLength(1);
    expect((await q('q=trien%20khai&direction=incoming')).items).toHaveLength(0);
    expect((await q('q=trien%20khai&status=draft')).items).toHaveLength(2);
    expect((await q('q=trien%20khai&from=2000-01-01&to=2000-12-31')).items).toHaveLength(0);

    const first = await q('limit=2');
    expect(first.items).toHaveLength(2);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await q(`limit=2&cursor=${first.nextCursor}`);
    expect(second.items).toHaveLength(1);
    expect(second.nextCursor).toBeNull();
    const ids = [...first.items, ...second.items].map((i: { id: string }) => i.id);
    expect(new Set(ids).size).toBe(3);
    const bad = await h.http.get('/api/v1/documents?cursor=garbage').set(auth(clerk));
    expect(bad.status).toBe(400);
    expect((await h.http.get('/api/v1/documents?limit=501').set(auth(clerk))).status).toBe(400);
  });

  it('stores search as the unaccented, lowered text and folds with a function the planner inlines', async () => {
    const org = '000.00.00.H61';
    const clerk = await h.token(org);
    await create(clerk, { subject: 'Quyết định về việc Ủy ban ĐẢNG ủy', recipients: [A] });
    expect(
      (await h.http.get('/api/v1/documents?q=uy%20ban%20dang').set(auth(clerk))).body.items,
    ).toHaveLength(1);
    const [{ folded }] = await h.db.query(`SELECT fold_text('Quyết định Ủy ban ĐẢNG ủy') AS folded`);
    expect(folded).toBe('quyet dinh uy ban dang uy');
    const [{ ext }] = await h.db.query(
      `SELECT count(*)::int AS ext FROM pg_extension WHERE extname = 'unaccent'`,
    );
    if (ext === 1) {
      // Every stored vector is still the one the original definition (STABLE unaccent, called directly) gives.
      const [{ n }] = await h.db.query(
        `SELECT count(*)::int AS n FROM documents WHERE search IS DISTINCT FROM to_tsvector('simple',
           lower(unaccent(coalesce(subject, '') || ' ' || coalesce(notation, '') || ' ' || coalesce(content, ''))))`,
      );
      expect(n).toBe(0);
    }
    // A writer that leaves `search` out gets it from the trigger; a write of `search` itself is corrected.
    const [{ id: direct, search }] = await h.db.query(
      `INSERT INTO documents (id, organization_code, direction, number, notation, type, subject, promulgation_date,
         signer, secrecy, urgency, state, register_year, register_number, created_by)
       VALUES (gen_random_uuid(), $1, 'incoming', '9', 'X', 'CV', 'Ủy ban', '2026-01-01', '{}', 'none', 'normal',
         'arrived', 1999, 1, 'test') RETURNING id, search::text AS search`,
      [org],
    );
    expect(search).toBe(`'ban':2 'uy':1 'x':3`);
    const [{ again }] = await h.db.query(
      `WITH u AS (UPDATE documents SET search = NULL WHERE id = $1 RETURNING search) SELECT search::text AS again FROM u`,
      [direct],
    );
    expect(again).toBe(`'ban':2 'uy':1 'x':3`);
    const [{ superuser }] = await h.db.query(
      `SELECT rolsuper AS superuser FROM pg_roles WHERE rolname = current_user`,
    );
    if (ext === 1 && superuser) {
      // Inlined: no nested SQL statement per folded value.
      const plan: { 'QUERY PLAN': string }[] = await h.db.query(
        `EXPLAIN (VERBOSE, COSTS OFF) SELECT fold_text(subject) FROM documents`,
      );
      const text = plan.map((r) => r['QUERY PLAN']).join('\n');
      expect(text).not.toContain('fold_text(');
      expect(text).toContain('unaccent_immutable(');
    }
  });

  it('shows classified entries of the outgoing register only to cleared roles', async () => {
    const org = '000.00.00.H70';
    const clerk = await h.token(org);
    await create(clerk, { recipients: [A] });
    await create(clerk, { recipients: [A], secrecy: 'top-secret' });
    const year = new Date(Date.now() + 7 * 3_600_000).getUTCFullYear();
    const plain = await h.http.get(`/api/v1/registers/outgoing?year=${year}`).set(auth(clerk));
    expect(plain.body.items.map((i: { outgoingNumber: number }) => i.outgoingNumber)).toEqual([1]);
    const cleared = await h.http
      .get(`/api/v1/registers/outgoing?year=${year}`)
      .set(auth(await h.token(org, ['clerk', 'cleared'])));
    expect(cleared.body.items.map((i: { outgoingNumber: number }) => i.outgoingNumber)).toEqual([1, 2]);
    expect((await h.http.get('/api/v1/registers/outgoing').set(auth(clerk))).status).toBe(400);
  });

  it('marks a failed exchange on the recipient row from the bus exchange state', async () => {
    const doc = await create(clerkA, { recipients: [C] });
    await h.http.post(`/api/v1/documents/${doc.id}/send`).set(auth(clerkA)).expect(202);
    await h.publishBus(Subjects.busExchangeState(), 'bus.exchange-state', {
      documentId: doc.id,
      organizationCode: C,
      state: 'failed',
      error: 'unreachable',
      at: new Date().toISOString(),
    });
    await eventually(async () => {
      const r = await h.http.get(`/api/v1/documents/${doc.id}`).set(auth(clerkA));
      return r.body.recipients[0].status === 'failed';
    });
    expect(
      (await h.http.get(`/api/v1/documents?status=failed`).set(auth(clerkA))).body.items.map(
        (i: { id: string }) => i.id,
      ),
    ).toContain(doc.id);
  });

  it('applies a redelivered status once and never lets an older status overwrite a newer one', async () => {
    const doc = await create(clerkA, { recipients: [B] });
    await h.http.post(`/api/v1/documents/${doc.id}/send`).set(auth(clerkA)).expect(202);
    const t0 = Date.now();
    const status = (s: 'arrived' | 'accepted', code: string, ms: number): DocumentStatusEvent => ({
      statusId: randomUUID(),
      sourceDocumentId: doc.id,
      fromOrganizationCode: B,
      toOrganizationCode: A,
      status: s,
      statusCode: code,
      at: new Date(t0 + ms).toISOString(),
    });
    const accepted = status('accepted', '03', 2000);
    // The same status twice under different message ids, then an older 01 arriving late.
    await h.publishBus(Subjects.busStatus(), 'bus.status', accepted);
    await h.publishBus(Subjects.busStatus(), 'bus.status', accepted);
    await h.publishBus(Subjects.busStatus(), 'bus.status', status('arrived', '01', 1000));
    await eventually(async () => {
      const [{ n }] = await h.db.query(
        `SELECT count(*)::int AS n FROM processed_messages WHERE consumer = 'documents-status' AND message_id = ANY($1)`,
        [[accepted.statusId]],
      );
      const rows = await h.db.query(
        `SELECT count(*)::int AS n FROM processed_messages WHERE consumer = 'documents-status'`,
      );
      return n === 1 && rows[0].n >= 3;
    });
    await eventually(async () => {
      const events = (await auditEvents()).filter(
        (e) => e.action === AuditActions.documentStatusChanged && e.resource.id === doc.id,
      );
      return events.length >= 1;
    });
    await new Promise((r) => setTimeout(r, 300));
    const r = await h.http.get(`/api/v1/documents/${doc.id}`).set(auth(clerkA));
    expect(r.body.recipients[0]).toMatchObject({ organizationCode: B, status: 'accepted', statusCode: '03' });
    const applied = (await auditEvents()).filter(
      (e) => e.action === AuditActions.documentStatusChanged && e.resource.id === doc.id,
    );
    expect(applied).toHaveLength(1);
  });

  it('applies a batch of answers for distinct rows in one statement with the one-at-a-time rules and history', async () => {
    const doc = await create(clerkA, { recipients: [B, C] });
    await h.http.post(`/api/v1/documents/${doc.id}/send`).set(auth(clerkA)).expect(202);
    const t0 = Date.now();
    const status = (
      from: string,
      s: DocumentStatusEvent['status'],
      code: string,
      ms: number,
    ): DocumentStatusEvent => ({
      statusId: randomUUID(),
      sourceDocumentId: doc.id,
      fromOrganizationCode: from,
      toOrganizationCode: A,
      status: s,
      statusCode: code,
      at: new Date(t0 + ms).toISOString(),
    });
    const exchange = h.app.get(ExchangeService);
    // B and C answer in one batch (set-based); then a batch with an older answer of B (kept out by the
    // newer one) and a newer one of C.
    expect(
      await exchange.applyStatuses([status(B, 'accepted', '03', 2000), status(C, 'arrived', '01', 1000)]),
    ).toBe(2);
    expect(
      await exchange.applyStatuses([status(B, 'arrived', '01', 1000), status(C, 'accepted', '03', 3000)]),
    ).toBe(1);
    const r = await h.http.get(`/api/v1/documents/${doc.id}`).set(auth(clerkA));
    const of = (code: string) =>
      r.body.recipients.find((x: { organizationCode: string }) => x.organizationCode === code);
    expect(of(B)).toMatchObject({ status: 'accepted', statusCode: '03' });
    expect(of(C)).toMatchObject({ status: 'accepted', statusCode: '03' });
    const history = async (code: string) =>
      (
        await h.db.query(
          `SELECT status FROM recipient_status_changes WHERE document_id = $1 AND organization_code = $2 ORDER BY id`,
          [doc.id, code],
        )
      ).map((x: { status: string }) => x.status);
    expect(await history(B)).toEqual(['accepted']);
    expect(await history(C)).toEqual(['arrived', 'accepted']);
  });

  it('audits a refused status change', async () => {
    const base = documentBody() as unknown as DocumentDeliveryEvent['document'];
    const out = await h.app.get(ExchangeService).applyDelivery({
      deliveryId: randomUUID(),
      sourceDocumentId: randomUUID(),
      edxmlDocumentId: randomUUID(),
      fromOrganizationCode: A,
      toOrganizationCode: B,
      document: base,
      attachments: [],
    });
    const id = (out as { documentId: string }).documentId;
    const res = await h.http
      .post(`/api/v1/documents/${id}/status`)
      .set(auth(clerkB))
      .send({ status: 'processing' });
    expect(res.status).toBe(409);
    const refused = await eventually(async () =>
      (await auditEvents()).find(
        (e) => e.action === AuditActions.documentStatusRefused && e.resource.id === id,
      ),
    );
    expect(refused).toMatchObject({
      outcome: 'denied',
      details: { reason: 'STATUS_TRANSITION', requested: 'processing' },
    });
  });

  it('reports the electronic share of registered outgoing documents', async () => {
    const org = '000.00.00.H80';
    h.knownOrganizations.add(org);
    const clerk = await h.token(org);
    const sent = await create(clerk, { recipients: [A] });
    await create(clerk, { recipients: [A] });
    await create(clerk, { recipients: [A], secrecy: 'confidential' });
    await h.http.post(`/api/v1/documents/${sent.id}/send`).set(auth(clerk)).expect(202);
    const today = new Date(Date.now() + 7 * 3_600_000).toISOString().slice(0, 10);
    const mine = await h.http.get(`/api/v1/reports/exchange?from=${today}&to=${today}`).set(auth(clerk));
    expect(mine.status).toBe(200);
    expect(mine.body.organizations).toEqual([
      expect.objectContaining({
        code: org,
        sent: 1,
        received: 0,
        // One of the two documents that may go electronically was sent: the confidential one is paper-only
        // by rule, so it is in neither count (it was in the denominator before: 1/3).
        electronicShare: 0.5,
        registered: 3,
        electronicEligible: 2,
        signedShare: 0,
        onTimeShare: null,
        byStatus: { queued: 1 },
      }),
    ]);
    // Another organization's figures are not shown to a clerk.
    const other = await h.http
      .get(`/api/v1/reports/exchange?from=${today}&to=${today}&organizationCode=${A}`)
      .set(auth(clerk));
    expect(other.body.organizations).toEqual([]);
    // API.md (2026-11-30): a missing bound completes the year; an empty one counts as missing.
    const rest = await h.http.get(`/api/v1/reports/exchange?from=${today}&to=`).set(auth(clerk));
    expect(rest.status).toBe(200);
    expect(rest.body).toMatchObject({ from: today, to: `${today.slice(0, 4)}-12-31` });
    expect(rest.body.organizations).toEqual([expect.objectContaining({ code: org, sent: 1 })]);
    const bad = await h.http.get(`/api/v1/reports/exchange?from=30-11-2026`).set(auth(clerk));
    expect(bad.status).toBe(400);
    expect(bad.body.fields).toEqual([expect.objectContaining({ field: 'from' })]);
  });

  it('counts on-time handling only over incoming documents whose outcome is known', async () => {
    const org = '000.00.00.H81';
    h.knownOrganizations.add(org);
    const clerk = await h.token(org);
    const base = documentBody() as unknown as DocumentDeliveryEvent['document'];
    const inDays = (d: number) =>
      new Date(Date.now() + 7 * 3_600_000 + d * 86_400_000).toISOString().slice(0, 10);
    const deliver = async (dueDate: string) => {
      const source = randomUUID();
      await h.deliver({
        deliveryId: randomUUID(),
        sourceDocumentId: source,
        edxmlDocumentId: source,
        fromOrganizationCode: A,
        toOrganizationCode: org,
        document: { ...base, dueDate, subject: `Hạn ${dueDate}` },
        attachments: [],
      });
      return eventually(async () => {
        const [row] = await h.db.query(
          'SELECT id FROM documents WHERE source_document_id = $1 AND organization_code = $2',
          [source, org],
        );
        return row?.id as string | undefined;
      });
    };
    const stillInTime = await deliver(inDays(10)); // neither late nor on time yet: not counted
    await deliver('2020-01-02'); // overdue and not completed: late
    const done = await deliver(inDays(10)); // completed before its due date: on time
    for (const status of ['accepted', 'completed'])
      await h.http.post(`/api/v1/documents/${done}/status`).set(auth(clerk)).send({ status }).expect(200);
    const rejected = await deliver('2020-01-03'); // rejected: not to be handled
    await h.http
      .post(`/api/v1/documents/${rejected}/status`)
      .set(auth(clerk))
      .send({ status: 'rejected', reason: 'Không đúng thẩm quyền' })
      .expect(200);
    expect(stillInTime).toBeDefined();
    const today = inDays(0);
    const report = await h.http.get(`/api/v1/reports/exchange?from=${today}&to=${today}`).set(auth(clerk));
    expect(report.body.organizations).toEqual([
      expect.objectContaining({ code: org, received: 4, dueResolved: 2, onTimeShare: 0.5 }),
    ]);
  });

  it('lets an org-admin read its subtree but not act for it', async () => {
    const parent = '000.00.00.P10';
    const child = '000.00.10.C11';
    h.subtrees.set(parent, [child]);
    const childDoc = await create(await h.token(child), { recipients: [A] });
    const admin = await h.token(parent, ['org-admin']);
    expect((await h.http.get(`/api/v1/documents/${childDoc.id}`).set(auth(admin))).status).toBe(200);
    const list = await h.http.get('/api/v1/documents').set(auth(admin));
    expect(list.body.items.map((i: { id: string }) => i.id)).toContain(childDoc.id);
    // A clerk of the parent, or an org-admin elsewhere, does not see it; nobody sends for the child.
    expect(
      (await h.http.get(`/api/v1/documents/${childDoc.id}`).set(auth(await h.token(parent)))).status,
    ).toBe(404);
    expect(
      (await h.http.get(`/api/v1/documents/${childDoc.id}`).set(auth(await h.token(B, ['org-admin']))))
        .status,
    ).toBe(404);
    expect(
      (
        await h.http
          .post(`/api/v1/documents/${childDoc.id}/send`)
          .set(auth(await h.token(parent, ['org-admin', 'clerk'])))
      ).status,
    ).toBe(404);
  });

  it('refuses a classified document arriving from the bus (defence in depth)', async () => {
    const org = '000.00.00.H90';
    const out = await h.app.get(ExchangeService).applyDelivery({
      deliveryId: randomUUID(),
      sourceDocumentId: randomUUID(),
      edxmlDocumentId: randomUUID(),
      fromOrganizationCode: A,
      toOrganizationCode: org,
      document: { ...(documentBody() as unknown as DocumentDeliveryEvent['document']), secrecy: 'secret' },
      attachments: [],
    });
    expect(out.applied).toBe(false);
    const [{ n }] = await h.db.query(
      `SELECT count(*)::int AS n FROM documents WHERE organization_code = $1`,
      [org],
    );
    expect(n).toBe(0);
  });
});
