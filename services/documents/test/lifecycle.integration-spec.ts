import {
  AuditActions,
  Streams,
  Subjects,
  type AuditEventPayload,
  type DocumentDeliveryEvent,
  type DocumentSendRequestedEvent,
  type DocumentStatusEvent,
} from '@lienthong/contracts';
import { eventually } from '@lienthong/testing';
import { randomUUID } from 'node:crypto';
import { ExchangeService } from '../src/exchange/exchange.service';
import { documentBody, DocumentsHarness } from './support/harness';

jest.setTimeout(90_000);

const A = '000.00.00.L01';
const B = '000.00.00.L02';
const C = '000.00.00.L03';

/** Business types 1–3 (recall, update, replace) on real PostgreSQL and NATS, the bus as a contract double. */
describe('document lifecycle: update, replace, recall', () => {
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

  async function sent(overrides: Record<string, unknown> = {}) {
    const res = await h.http
      .post('/api/v1/documents')
      .set(auth(clerkA))
      .send(documentBody({ recipients: [B, C], ...overrides }));
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    expect((await h.http.post(`/api/v1/documents/${id}/send`).set(auth(clerkA))).status).toBe(202);
    return id;
  }

  /** The send-requested events of a document, of one business type. */
  async function requested(
    documentId: string,
    businessType: number,
    subject = Subjects.documentSendRequested(),
  ) {
    return (await eventually(async () => {
      const all = (await h.streamEvents<DocumentSendRequestedEvent>(subject)).filter(
        (e) => e.data.documentId === documentId && e.data.businessType === businessType,
      );
      return all.length ? all : undefined;
    }))!;
  }

  /** The bus double: one delivery per recipient, carrying what the bus carries for the business type. */
  async function busDeliver(ev: DocumentSendRequestedEvent, businessType: 0 | 1 | 2 | 3) {
    const deliveries: DocumentDeliveryEvent[] = ev.recipients.map((to) => ({
      deliveryId: randomUUID(),
      sourceDocumentId: ev.documentId,
      edxmlDocumentId: ev.edxmlDocumentId ?? ev.documentId,
      fromOrganizationCode: ev.fromOrganizationCode,
      recipients: [{ organizationCode: to, deliveryId: randomUUID() }],
      ...(businessType ? { businessType } : {}),
      ...(ev.reason ? { reason: ev.reason } : {}),
      ...(ev.changes ? { changes: ev.changes } : {}),
      ...(ev.replaces ? { replaces: ev.replaces } : {}),
      document: ev.document,
      attachments: ev.attachments,
    }));
    for (const d of deliveries) await h.deliver(d);
    return deliveries;
  }

  async function copyOf(org: string, sourceId: string): Promise<string> {
    return eventually(async () => {
      const rows: { id: string }[] = await h.db.query(
        `SELECT id FROM documents WHERE source_document_id = $1 AND organization_code = $2`,
        [sourceId, org],
      );
      return rows[0]?.id;
    });
  }

  async function feed(org: string, type: string) {
    return h.db.query(
      `SELECT document_id, data FROM organization_events WHERE organization_code = $1 AND type = $2 ORDER BY seq`,
      [org, type],
    ) as Promise<{ document_id: string; data: Record<string, unknown> }[]>;
  }

  async function audits(action: string): Promise<AuditEventPayload[]> {
    return (await h.streamEvents<AuditEventPayload>(Subjects.auditEvent('documents'), Streams.audit().name))
      .map((e) => e.data)
      .filter((e) => e.action === action);
  }

  describe('update (business type 2)', () => {
    it('refuses bad input with 400 and the failing fields, a draft with 409, another office with 404', async () => {
      const id = await sent();
      const post = (body: unknown, token = clerkA, docId = id) =>
        h.http
          .post(`/api/v1/documents/${docId}/update`)
          .set(auth(token))
          .send(body as object);
      const noReason = await post({ changes: { subject: 'x' } });
      expect(noReason.status).toBe(400);
      expect(noReason.body.code).toBe('VALIDATION_FAILED');
      expect(noReason.body.fields.map((f: { field: string }) => f.field)).toContain('reason');
      const noChange = await post({ reason: 'r', changes: {} });
      expect(noChange.status).toBe(400);
      expect(noChange.body.fields.map((f: { field: string }) => f.field)).toContain('changes');
      const badTypes = await post({
        reason: 'r',
        changes: { urgency: 'soon', dueDate: '2026/12/01', signer: { position: 1 }, number: '9' },
      });
      expect(badTypes.status).toBe(400);
      expect(badTypes.body.fields.map((f: { field: string }) => f.field)).toEqual(
        expect.arrayContaining([
          'changes.urgency',
          'changes.dueDate',
          'changes.signer.position',
          'changes.number',
        ]),
      );
      const dueBefore = await post({ reason: 'r', changes: { dueDate: '2020-01-01' } });
      expect(dueBefore.status).toBe(400);
      expect(dueBefore.body.fields[0].field).toBe('changes.dueDate');

      const draft = await h.http.post('/api/v1/documents').set(auth(clerkA)).send(documentBody());
      const notSent = await post({ reason: 'r', changes: { subject: 'x' } }, clerkA, draft.body.id);
      expect(notSent.status).toBe(409);
      expect(notSent.body.code).toBe('DOCUMENT_NOT_SENT');
      const other = await post({ reason: 'r', changes: { subject: 'x' } }, clerkB);
      expect(other.status).toBe(404);
      const specialist = await post(
        { reason: 'r', changes: { subject: 'x' } },
        await h.token(A, ['specialist']),
      );
      expect(specialist.status).toBe(403);
      // Nothing of the refused attempts was written.
      const doc = await h.http.get(`/api/v1/documents/${id}`).set(auth(clerkA));
      expect(doc.body.history).toEqual([]);
      expect(doc.body.subject).toBe(documentBody().subject);
    });

    it("changes the sender's record, tells every recipient (type 2) and their copies follow with history", async () => {
      const id = await sent();
      const [first] = await requested(id, 0);
      await busDeliver(first.data, 0);
      const copyB = await copyOf(B, id);
      const copyC = await copyOf(C, id);

      const changes = {
        subject: 'Về việc điều chỉnh thời hạn',
        urgency: 'urgent',
        dueDate: '2026-12-31',
        promulgationDate: '2026-11-21',
        signer: { position: 'Phó Bí thư', fullName: 'Trần Thị B' },
      };
      const res = await h.http
        .post(`/api/v1/documents/${id}/update`)
        .set(auth(clerkA))
        .send({ reason: 'Sai ngày ban hành', changes });
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ ...changes, state: 'sent' });
      expect(res.body.history).toEqual([
        { businessType: 2, at: expect.any(String), reason: 'Sai ngày ban hành', changes },
      ]);

      const [update] = await requested(id, 2);
      // The DocumentId recipients know stays the one of the first promulgation date.
      expect(update.data).toMatchObject({
        businessType: 2,
        reason: 'Sai ngày ban hành',
        changes,
        edxmlDocumentId: `${A},2026/11/20,${first.data.document.number}/QĐ/TW`,
        businessKey: expect.any(String),
        document: expect.objectContaining({ subject: changes.subject, promulgationDate: '2026-11-21' }),
      });
      const deliveries = await busDeliver(update.data, 2);
      // A redelivered update changes nothing twice.
      for (const d of deliveries) await h.deliver(d);

      for (const [token, copy] of [
        [clerkB, copyB],
        [clerkC, copyC],
      ]) {
        const seen = await eventually(async () => {
          const r = await h.http.get(`/api/v1/documents/${copy}`).set(auth(token));
          return r.body.history?.length ? r.body : undefined;
        });
        expect(seen).toMatchObject({ ...changes, direction: 'incoming', status: 'arrived' });
        expect(seen.history).toEqual([
          { businessType: 2, at: expect.any(String), reason: 'Sai ngày ban hành', changes },
        ]);
      }
      expect(await feed(B, 'document.updated')).toEqual([
        { document_id: copyB, data: { changes, reason: 'Sai ngày ban hành' } },
      ]);
      await eventually(async () => (await audits(AuditActions.documentUpdated)).length >= 3);
      const updated = await audits(AuditActions.documentUpdated);
      expect(updated.map((a) => a.resource.id)).toEqual(expect.arrayContaining([id, copyB, copyC]));

      // A second update is a second message (its own key) and a second history entry.
      const again = await h.http
        .post(`/api/v1/documents/${id}/update`)
        .set(auth(clerkA))
        .send({ reason: 'Đổi độ khẩn', changes: { urgency: 'flash' } });
      expect(again.status).toBe(202);
      const updates = (await eventually(async () => {
        const all = await requested(id, 2);
        return all.length === 2 ? all : undefined;
      }))!;
      expect(updates[1].data.businessKey).not.toBe(updates[0].data.businessKey);
      await busDeliver(updates[1].data, 2);
      const b2 = await eventually(async () => {
        const r = await h.http.get(`/api/v1/documents/${copyB}`).set(auth(clerkB));
        return r.body.history.length === 2 ? r.body : undefined;
      });
      expect(b2).toMatchObject({ urgency: 'flash', subject: changes.subject });
      expect(b2.history[1]).toMatchObject({ businessType: 2, changes: { urgency: 'flash' } });

      // The new subject is what search finds, at the sender and in each copy: the stored vector followed it.
      for (const [token, doc] of [
        [clerkA, id],
        [clerkB, copyB],
        [clerkC, copyC],
      ]) {
        const found = await h.http.get('/api/v1/documents?q=dieu%20chinh%20thoi%20han').set(auth(token));
        expect(found.body.items.map((i: { id: string }) => i.id)).toContain(doc);
      }
      const [{ stale }] = await h.db.query(
        `SELECT count(*)::int AS stale FROM documents WHERE id = ANY($1::uuid[])
           AND search IS DISTINCT FROM to_tsvector('simple', fold_text(coalesce(subject, '') || ' ' ||
             coalesce(notation, '') || ' ' || coalesce(content, '')))`,
        [[id, copyB, copyC]],
      );
      expect(stale).toBe(0);
    });

    it('applies an update from outside (values only): the copy takes the fields that differ', async () => {
      const id = await sent({ recipients: [B] });
      const [first] = await requested(id, 0);
      await busDeliver(first.data, 0);
      const copyB = await copyOf(B, id);
      // As the bus delivers a package from the national axis or an agency system: no `changes`.
      await h.deliver({
        deliveryId: randomUUID(),
        sourceDocumentId: id,
        edxmlDocumentId: 'ignored',
        fromOrganizationCode: A,
        recipients: [{ organizationCode: B, deliveryId: randomUUID() }],
        businessType: 2,
        reason: 'Cập nhật người ký',
        document: { ...first.data.document, signer: { position: 'Chánh Văn phòng', fullName: 'Lê C' } },
        attachments: [],
      });
      const seen = await eventually(async () => {
        const r = await h.http.get(`/api/v1/documents/${copyB}`).set(auth(clerkB));
        return r.body.history?.length ? r.body : undefined;
      });
      expect(seen.signer).toEqual({ position: 'Chánh Văn phòng', fullName: 'Lê C' });
      expect(seen.history[0].changes).toEqual({ signer: { position: 'Chánh Văn phòng', fullName: 'Lê C' } });
    });
  });

  it('applies a batch in stream order: an update right behind its document reaches the copy just made', async () => {
    const source = randomUUID();
    const base = documentBody() as unknown as DocumentDeliveryEvent['document'];
    const doc = { ...base, dueDate: null, steering: false };
    const outcomes = await h.app.get(ExchangeService).applyDeliveries([
      {
        deliveryId: randomUUID(),
        sourceDocumentId: source,
        edxmlDocumentId: source,
        fromOrganizationCode: A,
        recipients: [{ organizationCode: B, deliveryId: randomUUID() }],
        document: doc,
        attachments: [],
      },
      {
        deliveryId: randomUUID(),
        sourceDocumentId: source,
        edxmlDocumentId: source,
        fromOrganizationCode: A,
        recipients: [{ organizationCode: B, deliveryId: randomUUID() }],
        businessType: 2,
        reason: 'Ngay sau',
        changes: { subject: 'Trích yếu sửa ngay' },
        document: { ...doc, subject: 'Trích yếu sửa ngay' },
        attachments: [],
      },
    ]);
    expect(outcomes.map((o) => o.applied)).toEqual([true, true]);
    const copy = await copyOf(B, source);
    const r = await h.http.get(`/api/v1/documents/${copy}`).set(auth(clerkB));
    expect(r.body).toMatchObject({
      subject: 'Trích yếu sửa ngay',
      history: [{ businessType: 2, reason: 'Ngay sau' }],
    });
  });

  describe('replace (business type 3)', () => {
    it('refuses a replacement of a document not sent, not its own, unknown or already replaced', async () => {
      const draft = await h.http.post('/api/v1/documents').set(auth(clerkA)).send(documentBody());
      const create = (replaces: string, token = clerkA) =>
        h.http.post('/api/v1/documents').set(auth(token)).send(documentBody({ replaces }));
      const notSent = await create(draft.body.id);
      expect(notSent.status).toBe(409);
      expect(notSent.body.code).toBe('REPLACED_DOCUMENT_NOT_SENT');
      const unknown = await create(randomUUID());
      expect(unknown.status).toBe(422);
      expect(unknown.body.code).toBe('REPLACED_DOCUMENT_UNKNOWN');
      expect(unknown.body.fields[0].field).toBe('replaces');
      const id = await sent({ recipients: [B] });
      expect((await create(id, clerkB)).body.code).toBe('REPLACED_DOCUMENT_UNKNOWN');
      const bad = await create('not-an-id');
      expect(bad.status).toBe(400);
      expect(bad.body.fields[0].field).toBe('replaces');
      expect((await create(id)).status).toBe(201);
      const twice = await create(id);
      expect(twice.status).toBe(409);
      expect(twice.body.code).toBe('DOCUMENT_ALREADY_REPLACED');
    });

    it('lets exactly one of concurrent replacements of a document through (409 for the others)', async () => {
      const id = await sent({ recipients: [B] });
      const results = await Promise.all(
        [1, 2, 3, 4].map(() =>
          h.http
            .post('/api/v1/documents')
            .set(auth(clerkA))
            .send(documentBody({ replaces: id })),
        ),
      );
      expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409]);
      for (const r of results.filter((x) => x.status === 409))
        expect(r.body.code).toBe('DOCUMENT_ALREADY_REPLACED');
      const [{ n }] = await h.db.query('SELECT count(*)::int AS n FROM documents WHERE replaces_id = $1', [
        id,
      ]);
      expect(n).toBe(1);
    });

    it("links the recipients' copies both ways and marks the earlier one replaced in their register", async () => {
      const earlierId = await sent();
      const [first] = await requested(earlierId, 0);
      await busDeliver(first.data, 0);
      const oldB = await copyOf(B, earlierId);
      const oldC = await copyOf(C, earlierId);

      // Empty recipients: the earlier document's are taken.
      const created = await h.http
        .post('/api/v1/documents')
        .set(auth(clerkA))
        .send(documentBody({ recipients: [], replaces: earlierId, subject: 'Quyết định thay thế' }));
      expect(created.status).toBe(201);
      expect(created.body.recipients.map((r: { organizationCode: string }) => r.organizationCode)).toEqual([
        B,
        C,
      ]);
      expect(created.body.replaces).toBe(earlierId);
      const newId = created.body.id as string;
      expect((await h.http.post(`/api/v1/documents/${newId}/send`).set(auth(clerkA))).status).toBe(202);
      const sender = await h.http.get(`/api/v1/documents/${earlierId}`).set(auth(clerkA));
      expect(sender.body).toMatchObject({ replacedBy: newId });

      const [replacement] = await requested(newId, 3);
      expect(replacement.data.replaces).toEqual({
        sourceDocumentId: earlierId,
        edxmlDocumentId: `${A},2026/11/20,${first.data.document.number}/QĐ/TW`,
      });
      await busDeliver(replacement.data, 3);
      const newB = await copyOf(B, newId);
      await copyOf(C, newId);
      const nb = await eventually(async () => {
        const r = await h.http.get(`/api/v1/documents/${newB}`).set(auth(clerkB));
        return r.body.replaces ? r.body : undefined;
      });
      expect(nb).toMatchObject({ replaces: oldB, subject: 'Quyết định thay thế', status: 'arrived' });
      expect(nb.history).toEqual([{ businessType: 3, at: expect.any(String) }]);
      const ob = await h.http.get(`/api/v1/documents/${oldB}`).set(auth(clerkB));
      expect(ob.body).toMatchObject({ replacedBy: newB });
      expect(ob.body.history[0].businessType).toBe(3);
      // C's copies link to C's own copies, never B's.
      const oc = await h.http.get(`/api/v1/documents/${oldC}`).set(auth(clerkC));
      expect(oc.body.replacedBy).not.toBe(newB);
      expect(oc.body.replacedBy).toEqual(expect.any(String));

      const year = new Date(Date.now() + 7 * 3_600_000).getUTCFullYear();
      const register = await h.http.get(`/api/v1/registers/incoming?year=${year}`).set(auth(clerkB));
      const oldEntry = register.body.items.find((e: { documentId: string }) => e.documentId === oldB);
      expect(oldEntry).toMatchObject({ replaced: true, replacedBy: newB });
      expect(oldEntry.notes).toContain('replaced');
      expect(register.body.items.find((e: { documentId: string }) => e.documentId === newB)).toMatchObject({
        replaces: oldB,
      });
      expect(await feed(B, 'document.replaced')).toEqual(
        expect.arrayContaining([{ document_id: newB, data: { replaces: oldB } }]),
      );
      await eventually(async () =>
        (await audits(AuditActions.documentReplaced)).some((a) => a.resource.id === oldB),
      );
    });
  });

  describe('recall (business type 1)', () => {
    async function relayStatuses(sourceDocumentId: string) {
      const events = (await h.streamEvents<DocumentStatusEvent>(Subjects.documentStatusChanged())).filter(
        (e) => e.data.sourceDocumentId === sourceDocumentId,
      );
      for (const e of events) await h.publishBus(Subjects.busStatus(), 'bus.status', e.data, `relay-${e.id}`);
      return events.map((e) => e.data);
    }

    it('shows 13 to the sender at once, then 15 from a recipient that agrees and 16 from one that completed', async () => {
      const id = await sent();
      const [first] = await requested(id, 0);
      await busDeliver(first.data, 0);
      const copyB = await copyOf(B, id);
      const copyC = await copyOf(C, id);
      await eventually(async () => (await relayStatuses(id)).length >= 2);
      // C completes the document before the recall reaches it.
      for (const status of ['accepted', 'completed'])
        expect(
          (await h.http.post(`/api/v1/documents/${copyC}/status`).set(auth(clerkC)).send({ status })).status,
        ).toBe(200);

      const recall = await h.http
        .post(`/api/v1/documents/${id}/recall`)
        .set(auth(clerkA))
        .send({ reason: 'Ban hành nhầm' });
      expect(recall.status).toBe(202);
      expect(recall.body.recipients.map((r: { statusCode: string }) => r.statusCode)).toEqual(['13', '13']);
      expect(recall.body.history).toEqual([
        { businessType: 1, at: expect.any(String), reason: 'Ban hành nhầm' },
      ]);

      const [ev] = await requested(id, 1, Subjects.documentRecallRequested());
      await busDeliver(ev.data, 1);
      const b = await eventually(async () => {
        const r = await h.http.get(`/api/v1/documents/${copyB}`).set(auth(clerkB));
        return r.body.status === 'recalled' ? r.body : undefined;
      });
      expect(b).toMatchObject({ statusCode: '13' });
      expect(b.history).toEqual([{ businessType: 1, at: expect.any(String), reason: 'Ban hành nhầm' }]);
      // C refused (16): its copy stays completed, but C is told of the recall as B is, marked refused.
      const c = await eventually(async () => {
        const r = await h.http.get(`/api/v1/documents/${copyC}`).set(auth(clerkC));
        return r.body.history?.length ? r.body : undefined;
      });
      expect(c).toMatchObject({ status: 'completed', statusCode: '06' });
      expect(c.history).toEqual([
        { businessType: 1, at: expect.any(String), reason: 'Ban hành nhầm', refused: true },
      ]);

      await eventually(async () => {
        await relayStatuses(id);
        const r = await h.http.get(`/api/v1/documents/${id}`).set(auth(clerkA));
        const by = Object.fromEntries(
          (r.body.recipients as { organizationCode: string; statusCode: string }[]).map((x) => [
            x.organizationCode,
            x.statusCode,
          ]),
        );
        return by[B] === '15' && by[C] === '16';
      });
      expect(await feed(B, 'document.recalled')).toEqual([
        { document_id: copyB, data: { reason: 'Ban hành nhầm' } },
      ]);
      expect(await feed(C, 'document.recalled')).toEqual([
        { document_id: copyC, data: { reason: 'Ban hành nhầm', refused: true, statusCode: '16' } },
      ]);
      // The sender sees both answers the same way: a status change in its feed and in each recipient's history,
      // after the 13 the recall itself recorded.
      const told = (await feed(A, 'document.status')).filter((e) => e.document_id === id).map((e) => e.data);
      expect(told).toEqual(
        expect.arrayContaining([
          { organizationCode: B, status: 'recall-agreed', statusCode: '15' },
          { organizationCode: C, status: 'recall-refused', statusCode: '16', reason: 'already completed' },
        ]),
      );
      for (const [org, last] of [
        [B, { status: 'recall-agreed', statusCode: '15' }],
        [C, { status: 'recall-refused', statusCode: '16', reason: 'already completed' }],
      ] as const) {
        const timeline = await h.http
          .get(`/api/v1/documents/${id}/recipients/${org}/history`)
          .set(auth(clerkA));
        expect(timeline.status).toBe(200);
        expect(timeline.body.items.slice(-2)).toEqual([
          { status: 'recalled', statusCode: '13', reason: 'Ban hành nhầm', at: expect.any(String) },
          { ...last, at: expect.any(String) },
        ]);
      }
      // A recalled document is not updated.
      const upd = await h.http
        .post(`/api/v1/documents/${id}/update`)
        .set(auth(clerkA))
        .send({ reason: 'r', changes: { subject: 'x' } });
      expect(upd.status).toBe(409);
    });
  });
});
