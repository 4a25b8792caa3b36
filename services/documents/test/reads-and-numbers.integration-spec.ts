import { AuditActions, Streams, Subjects, type AuditEventPayload } from '@lienthong/contracts';
import { eventually } from '@lienthong/testing';
import { documentBody, DocumentsHarness } from './support/harness';

jest.setTimeout(90_000);

const A = '000.00.00.H31';
const B = '000.00.00.H32';

/** Issue 13.10 (reads audited) and 13.11 (DOCUMENT_NUMBER_TAKEN) on real PostgreSQL and NATS. */
describe('documents: number and notation unique per office and year; reads leave audit events', () => {
  const h = new DocumentsHarness();
  let clerkA: string;
  let clerkB: string;
  const auth = (t: string) => ({ Authorization: `Bearer ${t}` });

  beforeAll(async () => {
    await h.start();
    [A, B].forEach((c) => h.knownOrganizations.add(c));
    clerkA = await h.token(A);
    clerkB = await h.token(B);
  });
  afterAll(() => h.stop());

  const auditEvents = async (): Promise<AuditEventPayload[]> =>
    (await h.streamEvents<AuditEventPayload>(Subjects.auditEvent('documents'), Streams.audit().name)).map(
      (e) => e.data,
    );
  const post = (token: string, body: Record<string, unknown>) =>
    h.http.post('/api/v1/documents').set(auth(token)).send(body);

  it('refuses a second registration of a number and notation with 409 DOCUMENT_NUMBER_TAKEN, audited', async () => {
    const body = documentBody({ recipients: [B] });
    expect((await post(clerkA, body)).status).toBe(201);
    const again = await post(clerkA, { ...body, subject: 'Khác nội dung' });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('DOCUMENT_NUMBER_TAKEN');
    expect(again.body.fields.map((f: { field: string }) => f.field)).toEqual(['number', 'notation']);
    // Another notation, or another office, may use the number.
    expect((await post(clerkA, { ...body, notation: 'CV/TU' })).status).toBe(201);
    expect((await post(clerkB, { ...body, recipients: [A] })).status).toBe(201);
    await eventually(async () => {
      const refusal = (await auditEvents()).find(
        (e) =>
          e.action === AuditActions.documentCreated &&
          e.outcome === 'denied' &&
          e.details?.reason === 'DOCUMENT_NUMBER_TAKEN',
      );
      if (!refusal) throw new Error('refusal not audited');
      return true;
    });
    // Nothing half-written: one outgoing row for the pair.
    const [{ n }] = await h.db.query(
      `SELECT count(*)::int AS n FROM documents WHERE organization_code = $1 AND number = $2 AND notation = $3`,
      [A, body.number, body.notation],
    );
    expect(n).toBe(1);
  });

  it('lets exactly one of several concurrent registrations of the same number through', async () => {
    const body = documentBody({ recipients: [B] });
    const answers = await Promise.all(Array.from({ length: 6 }, () => post(clerkA, body)));
    expect(answers.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
  });

  it('refuses a number and notation already used with the same promulgation date in another register year (same edXML DocumentId)', async () => {
    const body = documentBody({ recipients: [B] });
    const first = await post(clerkA, body);
    expect(first.status).toBe(201);
    // As if registered last year with the same promulgation date (a January registration of a December document).
    await h.db.query(`UPDATE documents SET register_year = register_year - 1 WHERE id = $1`, [first.body.id]);
    const again = await post(clerkA, body);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('DOCUMENT_NUMBER_TAKEN');
    expect((await post(clerkA, { ...body, promulgationDate: '2026-11-21' })).status).toBe(201);
  });

  it('audits reading a document and exporting a register as CSV, not listing', async () => {
    const created = await post(clerkA, documentBody({ recipients: [B] }));
    const id = created.body.id as string;
    expect((await h.http.get(`/api/v1/documents/${id}`).set(auth(clerkA))).status).toBe(200);
    // A document the caller cannot see is not a read.
    expect((await h.http.get(`/api/v1/documents/${id}`).set(auth(clerkB))).status).toBe(404);
    const year = new Date(Date.now() + 7 * 3_600_000).getUTCFullYear();
    const csv = await h.http.get(`/api/v1/registers/outgoing?year=${year}&format=csv`).set(auth(clerkA));
    expect(csv.status).toBe(200);
    const json = await h.http.get(`/api/v1/registers/outgoing?year=${year}&format=`).set(auth(clerkA));
    expect(json.status).toBe(200);
    const events = await eventually(async () => {
      const all = await auditEvents();
      const reads = all.filter((e) => e.action === AuditActions.documentRead && e.resource.id === id);
      const exports = all.filter((e) => e.action === AuditActions.registerExported);
      if (reads.length === 0 || exports.length === 0) throw new Error('not yet');
      return { reads, exports };
    });
    expect(events.reads).toHaveLength(1);
    expect(events.reads[0].actor).toMatchObject({ organizationCode: A });
    expect(events.exports).toEqual([
      expect.objectContaining({
        resource: { type: 'register', id: `${A}/outgoing/${year}` },
        details: expect.objectContaining({ format: 'csv', direction: 'outgoing', year }),
      }),
    ]);
  });

  it('pages a register by number with limit and cursor (JSON), the same entries as the whole year; the CSV stays whole', async () => {
    const year = new Date(Date.now() + 7 * 3_600_000).getUTCFullYear();
    for (let i = 0; i < 3; i++)
      expect((await post(clerkA, documentBody({ recipients: [B] }))).status).toBe(201);
    const whole = await h.http.get(`/api/v1/registers/outgoing?year=${year}`).set(auth(clerkA));
    expect(whole.status).toBe(200);
    expect(whole.body.nextCursor).toBeUndefined();
    const all = whole.body.items as { outgoingNumber: number; documentId: string }[];
    expect(all.length).toBeGreaterThanOrEqual(5);

    const paged: typeof all = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r: { status: number; body: { items: typeof all; nextCursor: string | null } } = await h.http
        .get(`/api/v1/registers/outgoing?year=${year}&limit=2${cursor ? `&cursor=${cursor}` : ''}`)
        .set(auth(clerkA));
      expect(r.status).toBe(200);
      expect(r.body.items.length).toBeLessThanOrEqual(2);
      paged.push(...r.body.items);
      cursor = r.body.nextCursor;
      pages++;
    } while (cursor && pages < 100);
    expect(paged).toEqual(all);
    expect(pages).toBe(Math.ceil(all.length / 2));

    // The CSV file ignores limit: every entry of the year.
    const csv = await h.http
      .get(`/api/v1/registers/outgoing?year=${year}&format=csv&limit=1`)
      .set(auth(clerkA));
    expect(csv.status).toBe(200);
    expect(csv.text.trim().split('\n')).toHaveLength(all.length + 1);

    for (const bad of ['limit=0', 'limit=501', 'limit=2&cursor=bm90LWEtbnVtYmVy']) {
      const r = await h.http.get(`/api/v1/registers/outgoing?year=${year}&${bad}`).set(auth(clerkA));
      expect({ bad, status: r.status, code: r.body.code }).toEqual({
        bad,
        status: 400,
        code: 'VALIDATION_FAILED',
      });
    }
  });
});
