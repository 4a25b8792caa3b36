import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import {
  AuditActions,
  ProtoFiles,
  Streams,
  Subjects,
  type AuditEventPayload,
  type DocumentSendRequestedEvent,
} from '@lienthong/contracts';
import { eventually } from '@lienthong/testing';
import type request from 'supertest';
import { randomUUID } from 'node:crypto';
import { RecipientExpansion } from '../src/documents/recipient-expansion';
import { DocumentsGrpcServer } from '../src/grpc/documents.grpc-server';
import { documentBody, DocumentsHarness } from './support/harness';

jest.setTimeout(120_000);

/** A province tree in documents' local directory (fed by `organization.changed` in service). */
const P = 'G48';
const D1 = 'G48.D1';
const D2 = 'G48.D2';
const S = 'G48.D3'; // the sender: inside the tree, so a rule under P reaches it and must leave it out
const X = 'G01';
const Y = 'G02';
const OTHER = 'G03'; // another organization with groups of its own
const COMMUNES_D1 = ['G48.D1.C1', 'G48.D1.C2', 'G48.D1.C3'];
const COMMUNES_D2 = ['G48.D2.C1', 'G48.D2.C2'];
const DISSOLVED = 'G48.D1.C4';

type Row = [code: string, parent: string | null, level: string, sector: string, deleted?: boolean];

describe('recipient groups and recipient rules (real PostgreSQL and NATS)', () => {
  const h = new DocumentsHarness();
  let clerk: string;
  let otherClerk: string;

  const auth = (t: string) => ({ Authorization: `Bearer ${t}` });

  async function directory(rows: Row[]): Promise<void> {
    await h.db.query(
      `INSERT INTO organization_directory (code, parent_code, level, sector, zone, node_id, deleted, changed_at)
       SELECT t.code, t.parent, t.level, t.sector, 'party-wan', 'central', t.deleted, now()
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bool[]) AS t(code, parent, level, sector, deleted)`,
      [
        rows.map((r) => r[0]),
        rows.map((r) => r[1]),
        rows.map((r) => r[2]),
        rows.map((r) => r[3]),
        rows.map((r) => r[4] ?? false),
      ],
    );
  }

  /** A big tree: `root` with 100 districts of 100 communes each (10,100 organizations), in one statement. */
  async function bigTree(root: string): Promise<void> {
    await h.db.query(
      `INSERT INTO organization_directory (code, parent_code, level, sector, zone, node_id, deleted, changed_at)
       SELECT $1, NULL, 'province', 'party', 'party-wan', 'central', false, now()
       UNION ALL
       SELECT $1 || '.D' || d, $1, 'district', 'party', 'party-wan', 'central', false, now()
       FROM generate_series(1, 100) d
       UNION ALL
       SELECT $1 || '.D' || d || '.C' || c, $1 || '.D' || d, 'commune', 'party', 'party-wan', 'central', false, now()
       FROM generate_series(1, 100) d, generate_series(1, 100) c`,
      [root],
    );
  }

  async function createGroup(token: string, name: string, members: string[]) {
    const res = await h.http.post('/api/v1/recipient-groups').set(auth(token)).send({ name, members });
    expect(res.status).toBe(201);
    return res.body as { id: string; name: string; members: string[] };
  }

  async function createDocument(token: string, overrides: Record<string, unknown>) {
    const res = await h.http.post('/api/v1/documents').set(auth(token)).send(documentBody(overrides));
    expect(res.status).toBe(201);
    return res.body as { id: string; recipientRules: unknown[]; recipientGroups: string[] };
  }

  async function sendRequested(documentId: string) {
    return (await eventually(async () =>
      (await h.streamEvents<DocumentSendRequestedEvent>(Subjects.documentSendRequested())).find(
        (e) => e.data.documentId === documentId,
      ),
    ))!.data;
  }

  async function auditEvents(): Promise<AuditEventPayload[]> {
    return (
      await h.streamEvents<AuditEventPayload>(Subjects.auditEvent('documents'), Streams.audit().name)
    ).map((e) => e.data);
  }

  async function allRecipients(token: string, id: string): Promise<string[]> {
    const out: string[] = [];
    let cursor: string | null = null;
    do {
      const res: request.Response = await h.http
        .get(`/api/v1/documents/${id}/recipients`)
        .query({ limit: 500, ...(cursor ? { cursor } : {}) })
        .set(auth(token));
      expect(res.status).toBe(200);
      out.push(...(res.body.items as { organizationCode: string }[]).map((i) => i.organizationCode));
      cursor = res.body.nextCursor;
    } while (cursor);
    return out;
  }

  beforeAll(async () => {
    await h.start();
    await directory([
      [P, null, 'province', 'party'],
      [D1, P, 'district', 'party'],
      [D2, P, 'district', 'state'],
      [S, P, 'district', 'party'],
      ...COMMUNES_D1.map((c): Row => [c, D1, 'commune', 'party']),
      ...COMMUNES_D2.map((c): Row => [c, D2, 'commune', 'state']),
      [DISSOLVED, D1, 'commune', 'party', true],
      [X, null, 'province', 'party'],
      [Y, null, 'province', 'state'],
      [OTHER, null, 'province', 'party'],
    ]);
    clerk = await h.token(S);
    otherClerk = await h.token(OTHER);
  });
  afterAll(() => h.stop());

  describe('groups', () => {
    it('creates a group (members deduplicated), reads, lists, replaces and deletes it, audited', async () => {
      const g = await createGroup(clerk, 'Huyện ủy', [X, Y, X, D1]);
      expect(g).toMatchObject({ name: 'Huyện ủy', members: [X, Y, D1] });
      expect(g.id).toMatch(/^[0-9a-f-]{36}$/);

      const got = await h.http.get(`/api/v1/recipient-groups/${g.id}`).set(auth(clerk));
      expect(got.status).toBe(200);
      expect(got.body).toMatchObject({ id: g.id, name: 'Huyện ủy', members: [X, Y, D1] });
      // Leaders and specialists may read.
      const byLeader = await h.http
        .get(`/api/v1/recipient-groups/${g.id}`)
        .set(auth(await h.token(S, ['leader'])));
      expect(byLeader.status).toBe(200);

      const put = await h.http
        .put(`/api/v1/recipient-groups/${g.id}`)
        .set(auth(clerk))
        .send({ name: 'Huyện ủy (mới)', members: [Y] });
      expect(put.status).toBe(200);
      expect(put.body).toMatchObject({ id: g.id, name: 'Huyện ủy (mới)', members: [Y] });

      const del = await h.http.delete(`/api/v1/recipient-groups/${g.id}`).set(auth(clerk));
      expect(del.status).toBe(204);
      expect((await h.http.get(`/api/v1/recipient-groups/${g.id}`).set(auth(clerk))).status).toBe(404);
      expect((await h.http.delete(`/api/v1/recipient-groups/${g.id}`).set(auth(clerk))).status).toBe(404);

      const audited = await eventually(async () => {
        const mine = (await auditEvents()).filter((e) => e.resource?.id === g.id);
        return mine.length >= 3 ? mine : undefined;
      });
      expect(audited!.map((e) => e.action)).toEqual([
        AuditActions.recipientGroupCreated,
        AuditActions.recipientGroupUpdated,
        AuditActions.recipientGroupDeleted,
      ]);
      expect(audited![0]).toMatchObject({
        actor: { organizationCode: S },
        outcome: 'success',
        details: { name: 'Huyện ủy', memberCount: 3 },
      });
    });

    it("answers 404 for another organization's group and lists only the caller's own", async () => {
      const mine = await createGroup(clerk, 'Của tôi', [X]);
      const theirs = await createGroup(otherClerk, 'Của họ', [X]);
      for (const [method, body] of [
        ['get', undefined],
        ['put', { name: 'Chiếm', members: [Y] }],
        ['delete', undefined],
      ] as const) {
        const res = await h.http[method](`/api/v1/recipient-groups/${theirs.id}`).set(auth(clerk)).send(body);
        expect(res.status).toBe(404);
        expect(res.body.code).toBe('RECIPIENT_GROUP_NOT_FOUND');
      }
      // Untouched by the attempts.
      const still = await h.http.get(`/api/v1/recipient-groups/${theirs.id}`).set(auth(otherClerk));
      expect(still.body).toMatchObject({ name: 'Của họ', members: [X] });

      const list = await h.http.get('/api/v1/recipient-groups').query({ limit: 500 }).set(auth(clerk));
      expect(list.status).toBe(200);
      const ids = (list.body.items as { id: string }[]).map((i) => i.id);
      expect(ids).toContain(mine.id);
      expect(ids).not.toContain(theirs.id);
      expect(list.body.nextCursor).toBeNull();
    });

    it('pages the list by name with limit and cursor', async () => {
      const org = 'G04';
      await directory([[org, null, 'province', 'party']]);
      const t = await h.token(org);
      for (const name of ['c', 'A', 'b', 'd', 'E']) await createGroup(t, name, [X]);
      const names: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: request.Response = await h.http
          .get('/api/v1/recipient-groups')
          .query({ limit: 2, ...(cursor ? { cursor } : {}) })
          .set(auth(t));
        expect(res.status).toBe(200);
        expect(res.body.items.length).toBeLessThanOrEqual(2);
        names.push(...(res.body.items as { name: string }[]).map((i) => i.name));
        cursor = res.body.nextCursor;
        pages++;
      } while (cursor);
      expect(names).toEqual(['A', 'b', 'c', 'd', 'E']);
      expect(pages).toBe(3);
      const bad = await h.http.get('/api/v1/recipient-groups').query({ cursor: 'garbage' }).set(auth(t));
      expect(bad.status).toBe(400);
      expect(bad.body.code).toBe('VALIDATION_FAILED');
    });

    it('refuses a duplicate name in the same organization (409), allows it in another', async () => {
      await createGroup(clerk, 'Các xã', [X]);
      const dup = await h.http
        .post('/api/v1/recipient-groups')
        .set(auth(clerk))
        .send({ name: ' các XÃ ', members: [Y] });
      expect(dup.status).toBe(409);
      expect(dup.body.code).toBe('RECIPIENT_GROUP_NAME_TAKEN');
      await createGroup(otherClerk, 'Các xã', [X]);
      // Renaming onto a taken name is refused too, and leaves the group as it was.
      const other = await createGroup(clerk, 'Khác', [Y]);
      const rename = await h.http
        .put(`/api/v1/recipient-groups/${other.id}`)
        .set(auth(clerk))
        .send({ name: 'Các xã', members: [X] });
      expect(rename.status).toBe(409);
      expect(rename.body.code).toBe('RECIPIENT_GROUP_NAME_TAKEN');
      const after = await h.http.get(`/api/v1/recipient-groups/${other.id}`).set(auth(clerk));
      expect(after.body).toMatchObject({ name: 'Khác', members: [Y] });
    });

    it('refuses unknown members with 422 naming them, and bad input with 400 naming the fields', async () => {
      const unknown = await h.http
        .post('/api/v1/recipient-groups')
        .set(auth(clerk))
        .send({ name: 'Lạ', members: [X, '999.99.99.Z99', DISSOLVED] });
      expect(unknown.status).toBe(422);
      expect(unknown.body.code).toBe('RECIPIENT_UNKNOWN');
      expect(unknown.body.message).toContain('999.99.99.Z99');
      expect(unknown.body.message).toContain(DISSOLVED);
      expect(unknown.body.message).not.toContain(X);

      const bad = await h.http
        .post('/api/v1/recipient-groups')
        .set(auth(clerk))
        .send({ name: 5, members: ['not a code', 7], extra: true });
      expect(bad.status).toBe(400);
      expect(bad.body.code).toBe('VALIDATION_FAILED');
      expect((bad.body.fields as { field: string }[]).map((f) => f.field)).toEqual(
        expect.arrayContaining(['name', 'members', 'extra']),
      );
      const noMembers = await h.http.post('/api/v1/recipient-groups').set(auth(clerk)).send({ name: '  ' });
      expect(noMembers.status).toBe(400);
      expect((noMembers.body.fields as { field: string }[]).map((f) => f.field)).toEqual(
        expect.arrayContaining(['name', 'members']),
      );
      const tooMany = await h.http
        .post('/api/v1/recipient-groups')
        .set(auth(clerk))
        .send({ name: 'Quá nhiều', members: Array.from({ length: 20_001 }, (_, i) => `Z${i}`) });
      expect(tooMany.status).toBe(400);
      expect((tooMany.body.fields as { field: string }[]).map((f) => f.field)).toContain('members');
      const json = await h.http
        .post('/api/v1/recipient-groups')
        .set({ ...auth(clerk), 'Content-Type': 'application/json' })
        .send('{"name": ');
      expect(json.status).toBe(400);

      const [{ n }] = await h.db.query(
        `SELECT count(*)::int AS n FROM recipient_groups WHERE name IN ('Lạ', 'Quá nhiều')`,
      );
      expect(n).toBe(0);
    });

    it('lets only clerks and org-admins change groups', async () => {
      for (const role of ['leader', 'specialist'] as const) {
        const res = await h.http
          .post('/api/v1/recipient-groups')
          .set(auth(await h.token(S, [role])))
          .send({ name: `Của ${role}`, members: [X] });
        expect(res.status).toBe(403);
      }
      await createGroup(await h.token(S, ['org-admin']), 'Của quản trị', [X]);
    });
  });

  describe('documents addressed with rules and groups', () => {
    it('expands "every commune under P" + a group + explicit codes at send time, each once, sender left out', async () => {
      const group = await createGroup(clerk, 'Nhóm gửi', [X, COMMUNES_D1[0]]);
      const doc = await createDocument(clerk, {
        recipients: [Y, COMMUNES_D2[0]],
        recipientRules: [{ under: P, level: 'commune' }],
        recipientGroups: [group.id],
      });
      expect(doc.recipientRules).toEqual([{ under: P, level: 'commune' }]);
      expect(doc.recipientGroups).toEqual([group.id]);

      const sent = await h.http.post(`/api/v1/documents/${doc.id}/send`).set(auth(clerk));
      expect(sent.status).toBe(202);
      const expected = [Y, X, ...COMMUNES_D1, ...COMMUNES_D2].sort();
      const answered = (sent.body.recipients as { organizationCode: string }[]).map(
        (r) => r.organizationCode,
      );
      expect([...answered].sort()).toEqual(expected);
      // The explicit codes come first, in their order.
      expect(answered.slice(0, 2)).toEqual([Y, COMMUNES_D2[0]]);

      const event = await sendRequested(doc.id);
      expect([...event.recipients].sort()).toEqual(expected);

      const view = await h.http.get(`/api/v1/documents/${doc.id}`).set(auth(clerk));
      expect(view.body.recipientRules).toEqual([{ under: P, level: 'commune' }]);
      expect(view.body.recipientGroups).toEqual([group.id]);
      expect(view.body.recipientCounts).toMatchObject({ total: expected.length, queued: expected.length });
      expect((await allRecipients(clerk, doc.id)).sort()).toEqual(expected);

      // The expansion is stored: changing (then deleting) the group changes nothing for the sent document.
      const put = await h.http
        .put(`/api/v1/recipient-groups/${group.id}`)
        .set(auth(clerk))
        .send({ name: 'Nhóm gửi', members: [OTHER] });
      expect(put.status).toBe(200);
      expect((await h.http.delete(`/api/v1/recipient-groups/${group.id}`).set(auth(clerk))).status).toBe(204);
      expect((await allRecipients(clerk, doc.id)).sort()).toEqual(expected);
      const [{ n }] = await h.db.query(
        `SELECT count(*)::int AS n FROM document_recipients WHERE document_id = $1`,
        [doc.id],
      );
      expect(n).toBe(expected.length);

      const audit = await eventually(async () =>
        (await auditEvents()).find(
          (e) => e.action === AuditActions.documentSent && e.resource?.id === doc.id,
        ),
      );
      expect(audit!.details).toMatchObject({
        recipientRules: [{ under: P, level: 'commune' }],
        recipientGroups: [group.id],
      });
    });

    it('filters a rule by level and sector and takes the group members as they are at send time', async () => {
      const group = await createGroup(clerk, 'Thay đổi', [X]);
      const doc = await createDocument(clerk, {
        recipients: undefined,
        recipientRules: [
          { under: P, level: 'district', sector: 'party' },
          { under: P, sector: 'state', level: 'commune' },
        ],
        recipientGroups: [group.id],
      });
      const put = await h.http
        .put(`/api/v1/recipient-groups/${group.id}`)
        .set(auth(clerk))
        .send({ name: 'Thay đổi', members: [OTHER] });
      expect(put.status).toBe(200);
      const sent = await h.http.post(`/api/v1/documents/${doc.id}/send`).set(auth(clerk));
      expect(sent.status).toBe(202);
      // S is a party district under P, but it is the sender.
      expect((await allRecipients(clerk, doc.id)).sort()).toEqual([D1, ...COMMUNES_D2, OTHER].sort());
    });

    it('validates rules and groups at registration (400 shapes, 422 unknown)', async () => {
      const bad = await h.http
        .post('/api/v1/documents')
        .set(auth(clerk))
        .send(
          documentBody({
            recipientRules: [{ under: 'lower case', level: 'village', sector: 'army', extra: 1 }, 'x'],
            recipientGroups: ['not-a-uuid'],
          }),
        );
      expect(bad.status).toBe(400);
      const fields = (bad.body.fields as { field: string }[]).map((f) => f.field);
      expect(fields).toEqual(expect.arrayContaining(['recipientGroups']));
      expect(fields.some((f) => f.startsWith('recipientRules'))).toBe(true);
      expect(fields.join(' ')).toContain('under');
      expect(fields.join(' ')).toContain('level');
      expect(fields.join(' ')).toContain('sector');

      const unknownUnder = await h.http
        .post('/api/v1/documents')
        .set(auth(clerk))
        .send(documentBody({ recipients: [], recipientRules: [{ under: '999.99.99.Z98' }] }));
      expect(unknownUnder.status).toBe(422);
      expect(unknownUnder.body.code).toBe('RECIPIENT_UNKNOWN');
      expect(unknownUnder.body.message).toContain('999.99.99.Z98');

      const theirs = await createGroup(otherClerk, `Của họ ${randomUUID()}`, [X]);
      const missing = randomUUID();
      const notOwn = await h.http
        .post('/api/v1/documents')
        .set(auth(clerk))
        .send(documentBody({ recipients: [], recipientGroups: [theirs.id, missing] }));
      expect(notOwn.status).toBe(422);
      expect(notOwn.body.code).toBe('RECIPIENT_GROUP_UNKNOWN');
      expect(notOwn.body.message).toContain(theirs.id);
      expect(notOwn.body.message).toContain(missing);

      const [{ n }] = await h.db.query(
        `SELECT count(*)::int AS n FROM documents WHERE organization_code = $1 AND recipient_groups @> ARRAY[$2::uuid]`,
        [S, theirs.id],
      );
      expect(n).toBe(0);
    });

    it('refuses to send when a group was deleted, when nothing is reached, or when the expansion is over 20,000', async () => {
      const group = await createGroup(clerk, 'Sẽ xóa', [X]);
      const doc = await createDocument(clerk, { recipients: [], recipientGroups: [group.id] });
      await h.http.delete(`/api/v1/recipient-groups/${group.id}`).set(auth(clerk));
      const gone = await h.http.post(`/api/v1/documents/${doc.id}/send`).set(auth(clerk));
      expect(gone.status).toBe(422);
      expect(gone.body.code).toBe('RECIPIENT_GROUP_UNKNOWN');

      // A rule under a leaf reaches nobody.
      const empty = await createDocument(clerk, { recipients: [], recipientRules: [{ under: X }] });
      const none = await h.http.post(`/api/v1/documents/${empty.id}/send`).set(auth(clerk));
      expect(none.status).toBe(422);
      expect(none.body.code).toBe('NO_RECIPIENTS');

      await bigTree('M48');
      await bigTree('N48');
      const huge = await createDocument(clerk, {
        recipients: [],
        recipientRules: [{ under: 'M48' }, { under: 'N48' }],
      });
      const over = await h.http.post(`/api/v1/documents/${huge.id}/send`).set(auth(clerk));
      expect(over.status).toBe(422);
      expect(over.body.code).toBe('RECIPIENTS_TOO_MANY');
      expect(over.body.message).toContain('20200');

      const states: { id: string; state: string; n: number }[] = await h.db.query(
        `SELECT d.id, d.state, (SELECT count(*)::int FROM document_recipients r WHERE r.document_id = d.id) AS n
         FROM documents d WHERE d.id = ANY($1::uuid[])`,
        [[doc.id, empty.id, huge.id]],
      );
      expect(states.map((s) => [s.state, s.n])).toEqual([
        ['draft', 0],
        ['draft', 0],
        ['draft', 0],
      ]);
    });

    it('expands a rule reaching 10,000 communes with one query and stores all of them', async () => {
      await bigTree('L48');
      const doc = await createDocument(clerk, {
        recipients: [],
        recipientRules: [{ under: 'L48', level: 'commune' }],
      });
      const started = process.hrtime.bigint();
      const sent = await h.http.post(`/api/v1/documents/${doc.id}/send`).set(auth(clerk));
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      expect(sent.status).toBe(202);
      expect(sent.body.recipients).toHaveLength(10_000);
      console.log(`send with a rule expanding to 10,000 communes: ${ms.toFixed(0)} ms`);
      const [{ n, distinct }] = await h.db.query(
        `SELECT count(*)::int AS n, count(DISTINCT organization_code)::int AS distinct
         FROM document_recipients WHERE document_id = $1 AND organization_code LIKE 'L48.D%.C%'`,
        [doc.id],
      );
      expect([n, distinct]).toEqual([10_000, 10_000]);
      const view = await h.http.get(`/api/v1/documents/${doc.id}`).set(auth(clerk));
      expect(view.body.recipientCounts.total).toBe(10_000);
      expect(view.body.recipients).toHaveLength(500);
      const event = await sendRequested(doc.id);
      expect(new Set(event.recipients).size).toBe(10_000);

      // The expansion alone: one statement.
      const t0 = process.hrtime.bigint();
      const again = await h.app
        .get(RecipientExpansion)
        .expand(h.db.manager, S, [], [{ under: 'L48', level: 'commune' }], []);
      const expandMs = Number(process.hrtime.bigint() - t0) / 1e6;
      expect(again.recipients).toHaveLength(10_000);
      console.log(`the expansion statement alone: ${expandMs.toFixed(0)} ms`);
    });
  });

  describe('gRPC CreateDocument', () => {
    type Client = grpc.Client &
      Record<
        string,
        (req: unknown, md: grpc.Metadata, cb: (e: grpc.ServiceError | null, r: any) => void) => void
      >;
    let client: Client;
    beforeAll(() => {
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
      ) as Client;
    });
    afterAll(() => client?.close());

    function call<T = any>(method: string, req: unknown, token: string): Promise<T> {
      const md = new grpc.Metadata();
      md.set('authorization', `Bearer ${token}`);
      return new Promise((resolve, reject) =>
        client[method](req, md, (e, r) => (e ? reject(e) : resolve(r))),
      );
    }
    function grpcBody(overrides: Record<string, unknown>) {
      const b = documentBody(overrides) as Record<string, any>;
      return { ...b, signer: { fullName: b.signer.fullName, position: b.signer.position } };
    }

    it('takes recipient_rules and recipient_groups (empty level/sector = any) and expands them at send', async () => {
      const group = await createGroup(clerk, `gRPC ${randomUUID()}`, [Y]);
      const doc = await call(
        'createDocument',
        grpcBody({
          recipients: [],
          recipientRules: [{ under: D2, level: 'commune', sector: '' }],
          recipientGroups: [group.id],
        }),
        clerk,
      );
      const view = await h.http.get(`/api/v1/documents/${doc.id}`).set(auth(clerk));
      expect(view.body.recipientRules).toEqual([{ under: D2, level: 'commune' }]);
      expect(view.body.recipientGroups).toEqual([group.id]);
      await call('sendDocument', { id: doc.id }, clerk);
      expect((await allRecipients(clerk, doc.id)).sort()).toEqual([...COMMUNES_D2, Y].sort());

      await expect(
        call('createDocument', grpcBody({ recipientRules: [{ under: D2, level: 'village' }] }), clerk),
      ).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
      await expect(
        call('createDocument', grpcBody({ recipients: [], recipientGroups: [randomUUID()] }), clerk),
      ).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION });
    });
  });
});
