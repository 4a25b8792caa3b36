import { Client } from 'pg';
import { api as callApi, login as loginAt, until } from './support/api';
import { PlatformProcesses, type Service } from './support/platform-processes';

jest.setTimeout(240_000);

/**
 * Recipient groups and recipient rules through the public REST API of the four real services: a province
 * tree made in identity reaches documents' directory through `organization.changed`, and a document sent
 * with a rule, a group and explicit codes arrives at exactly the expected organizations, once each.
 */
describe('recipient groups and rules, end to end', () => {
  const platform = new PlatformProcesses();
  let admin: string;
  const tokens: Record<string, string> = {};
  const SENDER = '000.21.00.S21';
  const OTHER = '000.22.00.S22';
  const PROVINCE = '000.23.00.P23';
  const D1 = '000.23.01.H01';
  const D2 = '000.23.02.H02';
  const D1C1 = '000.23.01.X01';
  const D1C2 = '000.23.01.X02';
  const D2C1 = '000.23.02.X03';
  const X = '000.24.00.P24';
  const Y = '000.25.00.P25';
  const EXPECTED = [D1C1, D1C2, D2C1, X, Y].sort();

  const api = (service: Service, method: string, path: string, token?: string, body?: unknown) =>
    callApi(platform, service, method, path, token, body);
  const login = (username: string, password: string) => loginAt(platform, username, password);
  const groups = (method: string, path: string, token: string, body?: unknown) =>
    api('documents', method, `/api/v1/recipient-groups${path}`, token, body);

  let lastNumber = 100;
  const document = (subject: string, extra: Record<string, unknown>) => ({
    number: String(++lastNumber),
    notation: 'CV/TU',
    type: 'CV',
    typeName: 'Công văn',
    subject,
    promulgationDate: '2026-11-30',
    signer: { position: 'Chánh Văn phòng', fullName: 'Trần Thị B' },
    secrecy: 'none',
    urgency: 'normal',
    ...extra,
  });

  async function allRecipients(id: string): Promise<string[]> {
    const out: string[] = [];
    let cursor: string | null = null;
    do {
      const r = await api(
        'documents',
        'GET',
        `/api/v1/documents/${id}/recipients?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        tokens.sender,
      );
      expect(r.status).toBe(200);
      out.push(...r.body.items.map((i: { organizationCode: string }) => i.organizationCode));
      cursor = r.body.nextCursor;
    } while (cursor);
    return out.sort();
  }

  beforeAll(async () => {
    await platform.start();
    admin = await login('admin', platform.adminPassword);
    const me = await api('identity', 'GET', '/api/v1/auth/me', admin);
    const root = me.body.organizationCode;
    for (const [code, parentCode, level] of [
      [SENDER, root, 'province'],
      [OTHER, root, 'province'],
      [PROVINCE, root, 'province'],
      [D1, PROVINCE, 'district'],
      [D2, PROVINCE, 'district'],
      [D1C1, D1, 'commune'],
      [D1C2, D1, 'commune'],
      [D2C1, D2, 'commune'],
      [X, root, 'province'],
      [Y, root, 'province'],
    ]) {
      const r = await api('identity', 'POST', '/api/v1/organizations', admin, {
        code,
        name: `Tổ chức ${code}`,
        parentCode,
        level,
        sector: 'party',
        zone: 'party-wan',
      });
      expect(r.status).toBe(201);
    }
    const password = 'Groups-e2e-Passw0rd!';
    const users: [string, string, string[]][] = [
      ['sender', SENDER, ['clerk']],
      ['sender.leader', SENDER, ['leader']],
      ['other', OTHER, ['clerk']],
      ['d1', D1, ['clerk']],
      ...[D1C1, D1C2, D2C1, X, Y].map((c): [string, string, string[]] => [c, c, ['clerk']]),
    ];
    for (const [username, org, roles] of users) {
      const r = await api('identity', 'POST', '/api/v1/users', admin, {
        username: `u.${username.toLowerCase()}`,
        fullName: username,
        password,
        organizationCode: org,
        roles,
      });
      expect(r.status).toBe(201);
      tokens[username] = await login(`u.${username.toLowerCase()}`, password);
    }
    // The rule is expanded from documents' own copy of the directory, fed by `organization.changed`: wait
    // until the whole tree has reached it (eventual consistency, not a timing assumption).
    const env = platform.envOf('documents');
    const db = new Client({ connectionString: env.DATABASE_URL });
    await db.connect();
    try {
      await until(async () => {
        const { rows } = await db.query(
          `SELECT count(*)::int AS n FROM "${env.DB_SCHEMA}".organization_directory
           WHERE code = ANY($1::text[]) AND parent_code IS NOT NULL AND NOT deleted`,
          [[D1, D2, D1C1, D1C2, D2C1]],
        );
        return rows[0].n === 5;
      }, "the province tree in documents' directory");
    } finally {
      await db.end();
    }
  });

  afterAll(async () => {
    await platform.stop();
  });

  it('keeps each organization its own groups: CRUD, 404 for another organization, validation', async () => {
    const created = await groups('POST', '', tokens.sender, { name: 'Các huyện', members: [D1, D2, D1] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Các huyện', members: [D1, D2] });
    const id = created.body.id;

    expect((await groups('GET', `/${id}`, tokens['sender.leader'])).body).toMatchObject({
      id,
      members: [D1, D2],
    });
    const list = await groups('GET', '?limit=50', tokens.sender);
    expect(list.status).toBe(200);
    expect(list.body.items.map((g: { id: string }) => g.id)).toContain(id);
    expect(list.body).toHaveProperty('nextCursor');

    for (const [method, body] of [
      ['GET', undefined],
      ['PUT', { name: 'Lấy', members: [X] }],
      ['DELETE', undefined],
    ] as const) {
      const r = await groups(method, `/${id}`, tokens.other, body);
      expect(r.status).toBe(404);
    }
    const otherList = await groups('GET', '', tokens.other);
    expect(otherList.body.items.map((g: { id: string }) => g.id)).not.toContain(id);

    const dup = await groups('POST', '', tokens.sender, { name: 'Các huyện', members: [X] });
    expect(dup.status).toBe(409);
    expect(dup.body.code).toBe('RECIPIENT_GROUP_NAME_TAKEN');
    const unknown = await groups('POST', '', tokens.sender, { name: 'Lạ', members: [X, '000.99.99.Z99'] });
    expect(unknown.status).toBe(422);
    expect(unknown.body.code).toBe('RECIPIENT_UNKNOWN');
    expect(unknown.body.message).toContain('000.99.99.Z99');
    const bad = await groups('POST', '', tokens.sender, { name: '', members: 'all' });
    expect(bad.status).toBe(400);
    expect(bad.body.fields.map((f: { field: string }) => f.field)).toEqual(
      expect.arrayContaining(['name', 'members']),
    );
    expect((await groups('POST', '', tokens['sender.leader'], { name: 'L', members: [X] })).status).toBe(403);

    const put = await groups('PUT', `/${id}`, tokens.sender, { name: 'Các huyện', members: [D2] });
    expect(put.status).toBe(200);
    expect(put.body.members).toEqual([D2]);
    expect((await groups('DELETE', `/${id}`, tokens.sender)).status).toBe(204);
    expect((await groups('GET', `/${id}`, tokens.sender)).status).toBe(404);
  });

  it('sends to "every commune under the province" + a group + explicit codes: each exactly once, expansion stored', async () => {
    const group = await groups('POST', '', tokens.sender, { name: 'Nhóm nhận', members: [X, D1C1] });
    expect(group.status).toBe(201);
    const subject = 'Về việc gửi theo quy tắc và nhóm nơi nhận';
    const created = await api(
      'documents',
      'POST',
      '/api/v1/documents',
      tokens.sender,
      document(subject, {
        recipients: [Y, D2C1],
        recipientRules: [{ under: PROVINCE, level: 'commune' }],
        recipientGroups: [group.body.id],
      }),
    );
    expect(created.status).toBe(201);
    const id = created.body.id;
    expect(created.body.recipientRules).toEqual([{ under: PROVINCE, level: 'commune' }]);

    const sent = await api('documents', 'POST', `/api/v1/documents/${id}/send`, tokens.sender);
    expect(sent.status).toBe(202);
    expect(sent.body.recipients.map((r: { organizationCode: string }) => r.organizationCode).sort()).toEqual(
      EXPECTED,
    );

    // Each expected organization receives it once, as the first entry of its incoming register.
    for (const code of EXPECTED) {
      const copies = await until(async () => {
        const r = await api('documents', 'GET', '/api/v1/documents?direction=incoming', tokens[code]);
        const mine = r.body.items?.filter((d: { subject: string }) => d.subject === subject);
        return mine?.length ? mine : undefined;
      }, `the copy of ${code}`);
      expect(copies).toHaveLength(1);
      expect(copies[0]).toMatchObject({ fromOrganizationCode: SENDER, arrivalNumber: 1 });
    }
    // Every recipient's copy arrived: the sender sees each one as arrived, and no one else is listed.
    await until(async () => {
      const r = await api('documents', 'GET', `/api/v1/documents/${id}`, tokens.sender);
      return r.body.recipientCounts?.arrived === EXPECTED.length ? r : undefined;
    }, 'all five arrivals at the sender');
    const view = await api('documents', 'GET', `/api/v1/documents/${id}`, tokens.sender);
    expect(view.body.recipients.map((r: { organizationCode: string }) => r.organizationCode).sort()).toEqual(
      EXPECTED,
    );
    expect(view.body.recipientCounts.total).toBe(EXPECTED.length);
    expect(view.body.recipientGroups).toEqual([group.body.id]);
    expect(await allRecipients(id)).toEqual(EXPECTED);
    // A district (level filter) got nothing.
    const district = await api('documents', 'GET', '/api/v1/documents?direction=incoming', tokens.d1);
    expect(district.body.items.filter((d: { subject: string }) => d.subject === subject)).toEqual([]);

    // The expansion is stored: changing the group afterwards changes nothing for this document.
    const changed = await groups('PUT', `/${group.body.id}`, tokens.sender, {
      name: 'Nhóm nhận',
      members: [OTHER],
    });
    expect(changed.status).toBe(200);
    expect(await allRecipients(id)).toEqual(EXPECTED);
    const register = await api(
      'documents',
      'GET',
      `/api/v1/registers/outgoing?year=${created.body.registerYear}`,
      tokens.sender,
    );
    expect(register.status).toBe(200);
    const line = JSON.stringify(
      (register.body.items as { documentId: string }[]).find((e) => e.documentId === id),
    );
    for (const code of EXPECTED) expect(line).toContain(code);
    expect(line).not.toContain(OTHER);
  });

  it("refuses another organization's group and an unknown rule root at registration", async () => {
    const theirs = await groups('POST', '', tokens.other, { name: 'Của S22', members: [X] });
    expect(theirs.status).toBe(201);
    const r = await api(
      'documents',
      'POST',
      '/api/v1/documents',
      tokens.sender,
      document('Nhóm của đơn vị khác', { recipientGroups: [theirs.body.id] }),
    );
    expect(r.status).toBe(422);
    expect(r.body.code).toBe('RECIPIENT_GROUP_UNKNOWN');
    const rule = await api(
      'documents',
      'POST',
      '/api/v1/documents',
      tokens.sender,
      document('Quy tắc lạ', { recipientRules: [{ under: '000.98.00.Z98', level: 'commune' }] }),
    );
    expect(rule.status).toBe(422);
    expect(rule.body.code).toBe('RECIPIENT_UNKNOWN');
    const shape = await api(
      'documents',
      'POST',
      '/api/v1/documents',
      tokens.sender,
      document('Sai kiểu', { recipientRules: [{ under: PROVINCE, level: 'hamlet' }], recipientGroups: 'g' }),
    );
    expect(shape.status).toBe(400);
    expect(shape.body.fields.map((f: { field: string }) => f.field).join(' ')).toMatch(
      /recipientRules.*level|level/,
    );
    expect(shape.body.fields.map((f: { field: string }) => f.field)).toContain('recipientGroups');
  });
});
