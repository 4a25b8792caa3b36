import { RpcClient } from '@lienthong/common';
import { RpcMethods, Streams, Subjects, type OrganizationChangedEvent } from '@lienthong/contracts';
import { eventually } from '@lienthong/testing';
import { auth, IdentityHarness, ROOT } from './support/harness';

jest.setTimeout(90_000);

describe('identity organizations (real PG + NATS)', () => {
  const h = new IdentityHarness();
  const P1 = '001.00.00.H01';
  const P2 = '002.00.00.H02';
  const D1 = '001.01.00.H01';
  const C1 = '001.01.01.H01';

  beforeAll(async () => {
    await h.start();
    await h.org(P1, ROOT, 'province');
    await h.org(P2, ROOT, 'province');
    await h.org(D1, P1, 'district');
    await h.org(C1, D1, 'commune');
  });
  afterAll(() => h.stop());

  it('bootstraps the root organization and answers it with all documented fields', async () => {
    const res = await h.http.get(`/api/v1/organizations/${ROOT}`).set(auth(h.adminToken));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      code: ROOT,
      name: 'Trung ương',
      parentCode: null,
      level: 'central',
      sector: 'party',
      zone: 'party-wan',
      nodeId: 'central',
    });
    const d = await h.http.get(`/api/v1/organizations/${D1}`).set(auth(h.adminToken));
    expect(d.body).toMatchObject({ code: D1, parentCode: P1, level: 'district' });
  });

  it('refuses invalid codes with 400 and the failing field', async () => {
    for (const code of ['abc', '001..01', 'A'.repeat(36), '001-01', "1' OR '1'='1"]) {
      const res = await h.http
        .post('/api/v1/organizations')
        .set(auth(h.adminToken))
        .send({ code, name: 'x', level: 'province', sector: 'party', zone: 'internet' });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('VALIDATION_FAILED');
      expect(res.body.fields.map((f: { field: string }) => f.field)).toContain('code');
    }
  });

  it('answers 409 on a duplicate code and writes nothing', async () => {
    const res = await h.http.post('/api/v1/organizations').set(auth(h.adminToken)).send({
      code: P1,
      name: 'again',
      parentCode: ROOT,
      level: 'province',
      sector: 'party',
      zone: 'party-wan',
    });
    expect(res.status).toBe(409);
    const again = await h.http.get(`/api/v1/organizations/${P1}`).set(auth(h.adminToken));
    expect(again.body.name).toBe(`Org ${P1}`);
  });

  it('refuses unknown fields with 400', async () => {
    const res = await h.http.post('/api/v1/organizations').set(auth(h.adminToken)).send({
      code: '009.00.00.H09',
      name: 'x',
      level: 'province',
      sector: 'party',
      zone: 'party-wan',
      isAdmin: true,
    });
    expect(res.status).toBe(400);
    expect(res.body.fields.map((f: { field: string }) => f.field)).toContain('isAdmin');
  });

  it('refuses an unknown parent with 422', async () => {
    const res = await h.http.post('/api/v1/organizations').set(auth(h.adminToken)).send({
      code: '009.00.00.H08',
      name: 'x',
      parentCode: '999.99.99.Z99',
      level: 'province',
      sector: 'party',
      zone: 'party-wan',
    });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('PARENT_NOT_FOUND');
  });

  it('refuses to move an organization below itself or its descendants (no cycles)', async () => {
    for (const parentCode of [P1, C1]) {
      const res = await h.http
        .patch(`/api/v1/organizations/${P1}`)
        .set(auth(h.adminToken))
        .send({ parentCode });
      expect(res.status).toBe(422);
      expect(res.body.code).toBe('ORGANIZATION_CYCLE');
    }
    const still = await h.http.get(`/api/v1/organizations/${P1}`).set(auth(h.adminToken));
    expect(still.body.parentCode).toBe(ROOT);
  });

  it('moves a subtree and keeps subtree answers consistent', async () => {
    const X = '003.00.00.H03';
    const XD = '003.01.00.H03';
    await h.org(X, ROOT, 'province');
    await h.org(XD, X, 'district');
    await h.org('003.01.01.H03', XD, 'commune');
    const moved = await h.http
      .patch(`/api/v1/organizations/${XD}`)
      .set(auth(h.adminToken))
      .send({ parentCode: P2, name: 'Moved' });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ parentCode: P2, name: 'Moved' });
    const rpc = h.app.get(RpcClient);
    expect((await rpc.request(RpcMethods.organizationSubtree, { code: P2 })).codes.sort()).toEqual(
      [P2, XD, '003.01.01.H03'].sort(),
    );
    expect((await rpc.request(RpcMethods.organizationSubtree, { code: X })).codes).toEqual([X]);
  });

  it('lists with filters and cursor paging', async () => {
    const page1 = await h.http
      .get('/api/v1/organizations')
      .query({ parentCode: ROOT, level: 'province', limit: '2' })
      .set(auth(h.adminToken));
    expect(page1.status).toBe(200);
    expect(page1.body.items).toHaveLength(2);
    expect(page1.body.nextCursor).toEqual(expect.any(String));
    const page2 = await h.http
      .get('/api/v1/organizations')
      .query({ parentCode: ROOT, level: 'province', limit: '2', cursor: page1.body.nextCursor })
      .set(auth(h.adminToken));
    const all = [...page1.body.items, ...page2.body.items].map((o: { code: string }) => o.code);
    expect(new Set(all).size).toBe(all.length);
    expect(all).toEqual(expect.arrayContaining([P1, P2]));
    const q = await h.http.get('/api/v1/organizations').query({ q: 'Org 001.01' }).set(auth(h.adminToken));
    expect(q.body.items.map((o: { code: string }) => o.code).sort()).toEqual([C1, D1].sort());
    const state = await h.http
      .get('/api/v1/organizations')
      .query({ sector: 'state' })
      .set(auth(h.adminToken));
    expect(state.body.items.every((o: { sector: string }) => o.sector === 'state')).toBe(true);
  });

  it('treats SQL and JSON injection in filters as data or refuses it, never a 500', async () => {
    const sql = await h.http.get('/api/v1/organizations').query({ q: "' OR 1=1 --" }).set(auth(h.adminToken));
    expect(sql.status).toBe(200);
    expect(sql.body.items).toEqual([]);
    const pct = await h.http.get('/api/v1/organizations').query({ q: '%' }).set(auth(h.adminToken));
    expect(pct.body.items).toEqual([]);
    const parent = await h.http
      .get('/api/v1/organizations')
      .query({ parentCode: "x' OR '1'='1" })
      .set(auth(h.adminToken));
    expect(parent.status).toBe(400);
    const json = await h.http.get('/api/v1/organizations?q[$ne]=null&level[$gt]=').set(auth(h.adminToken));
    expect(json.status).toBe(400);
    const lvl = await h.http
      .get('/api/v1/organizations')
      .query({ level: "province' OR '1'='1" })
      .set(auth(h.adminToken));
    expect(lvl.status).toBe(400);
    const users = await h.http
      .get('/api/v1/users')
      .query({ organizationCode: "1' OR 1=1--" })
      .set(auth(h.adminToken));
    expect(users.status).toBe(400);
    const cursor = await h.http
      .get('/api/v1/organizations')
      .query({ cursor: "'; DROP TABLE organizations; --" })
      .set(auth(h.adminToken));
    expect(cursor.status).toBe(400);
    expect((await h.http.get(`/api/v1/organizations/${ROOT}`).set(auth(h.adminToken))).status).toBe(200);
  });

  it('lets an org-admin create children only in its subtree (403 elsewhere)', async () => {
    const admin = await h.user('p1-admin', P1, ['org-admin']);
    const t = (await h.login(admin.username, admin.password)).access_token;
    await h.org('001.02.00.H01', P1, 'district', t);
    const sibling = await h.http.post('/api/v1/organizations').set(auth(t)).send({
      code: '002.05.00.H02',
      name: 'x',
      parentCode: P2,
      level: 'district',
      sector: 'party',
      zone: 'party-wan',
    });
    expect(sibling.status).toBe(403);
    const root = await h.http
      .post('/api/v1/organizations')
      .set(auth(t))
      .send({ code: '008.00.00.H08', name: 'x', level: 'central', sector: 'party', zone: 'party-wan' });
    expect(root.status).toBe(403);
    const ownMove = await h.http
      .patch(`/api/v1/organizations/${P1}`)
      .set(auth(t))
      .send({ name: 'renamed by itself' });
    expect(ownMove.status).toBe(403);
    const clerk = await h.user('p1-clerk', P1, ['clerk']);
    const ct = (await h.login(clerk.username, clerk.password)).access_token;
    expect(
      (
        await h.http.post('/api/v1/organizations').set(auth(ct)).send({
          code: '001.03.00.H01',
          name: 'x',
          parentCode: P1,
          level: 'district',
          sector: 'party',
          zone: 'party-wan',
        })
      ).status,
    ).toBe(403);
  });

  it('publishes organization.changed through the outbox and audits the change', async () => {
    const code = '004.00.00.H04';
    await h.org(code, ROOT, 'province');
    await h.http
      .patch(`/api/v1/organizations/${code}`)
      .set(auth(h.adminToken))
      .send({ name: 'Tỉnh ủy mới' })
      .expect(200);
    const events = await eventually(async () => {
      const all = await h.streamEvents<OrganizationChangedEvent>(
        Subjects.organizationChanged(),
        Streams.identity().name,
      );
      const mine = all.filter((e) => e.data.organization.code === code);
      return mine.length >= 2 ? mine : undefined;
    }, 15_000);
    expect(events![0].type).toBe('organization.changed');
    expect(events!.map((e) => e.data.change)).toEqual(['created', 'updated']);
    expect(events![1].data.organization.name).toBe('Tỉnh ủy mới');
    await h.expectAudit(
      (e) => e.action === 'organization.updated' && e.resource.id === code && e.actor.type === 'user',
    );
  });

  it('deletes only empty leaves (409 otherwise) and announces the deletion', async () => {
    const leaf = '005.00.00.H05';
    await h.org(leaf, ROOT, 'province');
    await h.org('005.01.00.H05', leaf, 'district');
    const busy = await h.http.delete(`/api/v1/organizations/${leaf}`).set(auth(h.adminToken));
    expect(busy.status).toBe(409);
    expect((await h.http.delete('/api/v1/organizations/005.01.00.H05').set(auth(h.adminToken))).status).toBe(
      204,
    );
    expect((await h.http.delete(`/api/v1/organizations/${leaf}`).set(auth(h.adminToken))).status).toBe(204);
    expect((await h.http.get(`/api/v1/organizations/${leaf}`).set(auth(h.adminToken))).status).toBe(404);
    await eventually(async () => {
      const all = await h.streamEvents<OrganizationChangedEvent>(
        Subjects.organizationChanged(),
        Streams.identity().name,
      );
      return all.some((e) => e.data.change === 'deleted' && e.data.organization.code === leaf);
    }, 15_000);
    await h.expectAudit((e) => e.action === 'organization.deleted' && e.resource.id === leaf);
  });

  it('answers get/resolve/subtree/exists/upsert-state over NATS request/reply', async () => {
    const rpc = h.app.get(RpcClient);
    expect(await rpc.request(RpcMethods.organizationGet, { code: D1 })).toMatchObject({
      code: D1,
      parentCode: P1,
    });
    expect(await rpc.request(RpcMethods.organizationGet, { code: '999.99.99.Z99' })).toBeNull();
    const r = await rpc.request(RpcMethods.organizationResolve, { codes: [P1, 'nope', C1, '999.99.99.Z99'] });
    expect(r.found.map((o) => o.code)).toEqual([P1, C1]);
    expect(r.missing).toEqual(['nope', '999.99.99.Z99']);
    expect((await rpc.request(RpcMethods.organizationSubtree, { code: P1 })).codes).toEqual(
      expect.arrayContaining([P1, D1, C1]),
    );
    expect((await rpc.request(RpcMethods.organizationSubtree, { code: P1 })).codes).not.toContain(P2);
    expect(await rpc.request(RpcMethods.organizationExists, { code: C1 })).toEqual({ exists: true });
    expect(await rpc.request(RpcMethods.organizationExists, { code: 'X.Y' })).toEqual({ exists: false });
    const gov = await rpc.request(RpcMethods.organizationUpsertState, {
      code: '000.00.00.G09',
      name: 'Bộ Nội vụ',
    });
    expect(gov).toMatchObject({ code: '000.00.00.G09', sector: 'state', zone: 'internet', parentCode: null });
    const renamed = await rpc.request(RpcMethods.organizationUpsertState, {
      code: '000.00.00.G09',
      name: 'Bộ Nội vụ (mới)',
    });
    expect(renamed.name).toBe('Bộ Nội vụ (mới)');
    // A party organization is never turned into a state one by the bus.
    const party = await rpc.request(RpcMethods.organizationUpsertState, { code: P1, name: 'hijack' });
    expect(party).toMatchObject({ sector: 'party', name: `Org ${P1}` });
    await expect(
      rpc.request(RpcMethods.organizationUpsertState, { code: 'bad code', name: 'x' }),
    ).rejects.toMatchObject({ status: 400 });
  });

  it('keeps subtree queries correct on a tree of 10,000 organizations', async () => {
    // Bulk rows through SQL (the API path is covered above); the answer must use the path index.
    await h.db.query(
      `
      INSERT INTO organizations (code, name, parent_code, level, sector, zone, node_id, path)
      SELECT 'T' || p, 'bulk', $1, 'province', 'party', 'party-wan', 'central', '/${ROOT}/' || 'T' || p || '/' FROM generate_series(1, 100) p`,
      [ROOT],
    );
    await h.db.query(`
      INSERT INTO organizations (code, name, parent_code, level, sector, zone, node_id, path)
      SELECT 'T' || p || '.' || c, 'bulk', 'T' || p, 'district', 'party', 'party-wan', 'central', '/${ROOT}/T' || p || '/T' || p || '.' || c || '/'
      FROM generate_series(1, 100) p, generate_series(1, 99) c`);
    await h.db.query('ANALYZE organizations');
    const rpc = h.app.get(RpcClient);
    const sub = await rpc.request(RpcMethods.organizationSubtree, { code: 'T7' });
    expect(sub.codes).toHaveLength(100);
    expect(sub.codes.every((c) => c === 'T7' || c.startsWith('T7.'))).toBe(true);
    const plan: { 'QUERY PLAN': string }[] = await h.db.query(
      `EXPLAIN SELECT code FROM organizations WHERE path LIKE $1`,
      [`/${ROOT}/T7/%`],
    );
    expect(plan.map((p) => p['QUERY PLAN']).join('\n')).toMatch(/organizations_path_idx/);
  });
});
