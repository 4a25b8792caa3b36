import { randomBytes } from 'node:crypto';
import { buildPackage, parsePackage, type EdxmlPackage } from '../../services/integration-bus/src/edxml';
import { NationalAxisSimulator } from '../../services/integration-bus/src/national-axis-simulator/national-axis-simulator';
import { api as callApi, login as loginAt, until } from './support/api';
import { PlatformProcesses, type Service } from './support/platform-processes';

jest.setTimeout(240_000);

/**
 * Business types 1–3 across the real services, through the public REST API: an update seen by the recipients
 * with its history, a replacement linking their copies both ways, a recall answered 15 or 16, an edXML update
 * from an agency system, and the national axis route both ways.
 */
describe('document lifecycle: update, replace and recall between organizations', () => {
  const SENDER = '000.51.00.P51';
  const B = '000.52.00.P52';
  const C = '000.53.00.P53';
  const SYSTEM = '000.54.00.P54'; // an agency system connected with an `exchange` client
  const AGENCY = '000.00.00.B55'; // a government agency on the national axis
  const AXIS_SYSTEM_ID = '000.00.00.G01';
  const axisSecret = randomBytes(24).toString('hex');
  const axis = new NationalAxisSimulator({
    systems: { [AXIS_SYSTEM_ID]: axisSecret },
    agencies: [{ code: AGENCY, name: 'Bo Noi vu (mo phong)' }],
  });
  let platform: PlatformProcesses;
  let admin = '';
  let exchangeClient = '';
  const tokens: Record<string, string> = {};
  const year = Number(new Date(Date.now() + 7 * 3_600_000).toISOString().slice(0, 4));
  let n = 100;

  const api = (service: Service, method: string, path: string, token?: string, body?: unknown) =>
    callApi(platform, service, method, path, token, body);
  const postXml = async (xml: string) => {
    const r = await fetch(`${platform.url('integration-bus')}/api/v1/edxml`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/xml', Authorization: `Bearer ${exchangeClient}` },
      body: xml,
    });
    return { status: r.status, body: (await r.json()) as any };
  };
  const body = (over: Record<string, unknown> = {}) => ({
    number: String(++n),
    notation: 'CV/TU',
    type: 'CV',
    typeName: 'Công văn',
    subject: `Công văn số ${n}`,
    promulgationPlace: 'Hà Nội',
    promulgationDate: '2026-11-20',
    signer: { position: 'Bí thư', fullName: 'Nguyễn Văn A' },
    secrecy: 'none',
    urgency: 'normal',
    recipients: [B],
    ...over,
  });
  /** A sent document of SENDER; returns its id and subject. */
  const sendDocument = async (over: Record<string, unknown> = {}) => {
    const b = body(over);
    const created = await api('documents', 'POST', '/api/v1/documents', tokens[SENDER], b);
    expect(created.status).toBe(201);
    const sent = await api('documents', 'POST', `/api/v1/documents/${created.body.id}/send`, tokens[SENDER]);
    expect(sent.status).toBe(202);
    return { id: created.body.id as string, subject: b.subject };
  };
  /** The recipient's own copy of a document, found by its subject in the incoming list. */
  const copyAt = (org: string, subject: string) =>
    until(async () => {
      const r = await api('documents', 'GET', '/api/v1/documents?direction=incoming&limit=500', tokens[org]);
      return (r.body.items as any[] | undefined)?.find((d) => d.subject === subject);
    }, `${subject} at ${org}`);
  const get = async (org: string, id: string) => {
    const r = await api('documents', 'GET', `/api/v1/documents/${id}`, tokens[org]);
    expect(r.status).toBe(200);
    return r.body;
  };
  const statusOf = (doc: any, org: string) =>
    (doc.recipients as { organizationCode: string; statusCode?: string }[]).find(
      (r) => r.organizationCode === org,
    )?.statusCode;

  beforeAll(async () => {
    const axisUrl = await axis.start(0, '127.0.0.1');
    platform = new PlatformProcesses({
      all: { ROOT_ORG_CODE: AXIS_SYSTEM_ID },
      'integration-bus': {
        NATIONAL_AXIS_URL: axisUrl,
        NATIONAL_AXIS_SYSTEM_ID: AXIS_SYSTEM_ID,
        NATIONAL_AXIS_SECRET: axisSecret,
        NATIONAL_AXIS_POLL_MS: '250',
      },
    });
    await platform.start();
    admin = await loginAt(platform, 'admin', platform.adminPassword);
    const root = (await api('identity', 'GET', '/api/v1/auth/me', admin)).body.organizationCode;
    const password = `Lifecycle-${randomBytes(6).toString('hex')}-Aa1!`;
    for (const code of [SENDER, B, C, SYSTEM]) {
      const o = await api('identity', 'POST', '/api/v1/organizations', admin, {
        code,
        name: `Tỉnh ủy ${code}`,
        parentCode: root,
        level: 'province',
        sector: 'party',
        zone: 'party-wan',
      });
      expect(o.status).toBe(201);
      const username = `clerk.${code.replace(/\./g, '').toLowerCase()}`;
      const u = await api('identity', 'POST', '/api/v1/users', admin, {
        username,
        fullName: username,
        password,
        organizationCode: code,
        roles: ['clerk'],
      });
      expect(u.status).toBe(201);
      tokens[code] = await loginAt(platform, username, password);
    }
    const agency = await api('identity', 'POST', '/api/v1/organizations', admin, {
      code: AGENCY,
      name: 'Bộ Nội vụ',
      level: 'central',
      sector: 'state',
      zone: 'internet',
    });
    // 409: the bus registered it first from the axis's agency list.
    expect([201, 409]).toContain(agency.status);
    const client = await api('identity', 'POST', '/api/v1/clients', admin, {
      name: 'hệ thống quản lý văn bản',
      organizationCode: SYSTEM,
      roles: ['exchange'],
    });
    expect(client.status).toBe(201);
    const t = await api('identity', 'POST', '/api/v1/auth/token', undefined, {
      grant_type: 'client_credentials',
      client_id: client.body.clientId,
      client_secret: client.body.clientSecret,
    });
    expect(t.status).toBe(200);
    exchangeClient = t.body.access_token;
  });

  afterAll(async () => {
    await platform?.stop();
    await axis.stop();
  });

  it('an update reaches the recipients (local and national axis) and their copies show it in their history', async () => {
    const doc = await sendDocument({ recipients: [B, AGENCY] });
    const copy = await copyAt(B, doc.subject);
    const changes = {
      subject: `${doc.subject} (đính chính)`,
      dueDate: '2026-12-15',
      signer: { position: 'Phó Bí thư', fullName: 'Trần Thị B' },
    };
    const updated = await api('documents', 'POST', `/api/v1/documents/${doc.id}/update`, tokens[SENDER], {
      reason: 'Đính chính trích yếu',
      changes,
    });
    expect(updated.status).toBe(202);
    expect(updated.body).toMatchObject(changes);

    const seen = await until(async () => {
      const d = await get(B, copy.id);
      return d.history?.length ? d : undefined;
    }, 'the update at B');
    expect(seen).toMatchObject({ ...changes, direction: 'incoming' });
    expect(seen.history).toEqual([
      { businessType: 2, at: expect.any(String), reason: 'Đính chính trích yếu', changes },
    ]);
    // The agency on the national axis receives a package of business type 2 with the new values.
    const pkg = await until(
      async () =>
        axis
          .received(AGENCY)
          .filter((i) => i.messageType === 'edoc')
          .map((i) => parsePackage(i.content, { maxBytes: 1e7 }).package)
          .find((p) => p.subject === changes.subject),
      'the update at the national axis',
    );
    expect(pkg).toMatchObject({
      businessDocType: 2,
      businessDocReason: 'Đính chính trích yếu',
      documentId: `${SENDER},2026/11/20,${n}/CV/TU`,
      dueDate: '2026-12-15',
    });
    // Audited on both sides.
    const audit = await until(async () => {
      const r = await api('audit', 'GET', '/api/v1/audit/events?action=document.updated&limit=500', admin);
      const ids = (r.body.items as { resource: { id: string } }[]).map((e) => e.resource.id);
      return ids.includes(doc.id) && ids.includes(copy.id) ? ids : undefined;
    }, 'document.updated audit events');
    expect(audit).toEqual(expect.arrayContaining([doc.id, copy.id]));
  });

  it('bad updates and replacements are refused with 4xx and codes, and change nothing', async () => {
    const doc = await sendDocument();
    const update = (id: string, b: unknown, token = tokens[SENDER]) =>
      api('documents', 'POST', `/api/v1/documents/${id}/update`, token, b);
    const noReason = await update(doc.id, { changes: { subject: 'x' } });
    expect(noReason.status).toBe(400);
    expect(noReason.body.code).toBe('VALIDATION_FAILED');
    expect(noReason.body.fields.map((f: any) => f.field)).toContain('reason');
    const empty = await update(doc.id, { reason: 'r', changes: {} });
    expect(empty.status).toBe(400);
    expect(empty.body.fields.map((f: any) => f.field)).toContain('changes');
    const badType = await update(doc.id, { reason: 'r', changes: { urgency: 'asap', dueDate: 5 } });
    expect(badType.status).toBe(400);
    expect(badType.body.fields.map((f: any) => f.field)).toEqual(
      expect.arrayContaining(['changes.urgency', 'changes.dueDate']),
    );
    expect((await update(doc.id, { reason: 'r', changes: { subject: 'x' } }, tokens[B])).status).toBe(404);
    const draft = await api('documents', 'POST', '/api/v1/documents', tokens[SENDER], body());
    const notSent = await update(draft.body.id, { reason: 'r', changes: { subject: 'x' } });
    expect(notSent.status).toBe(409);
    expect(notSent.body.code).toBe('DOCUMENT_NOT_SENT');
    expect((await get(SENDER, doc.id)).history).toEqual([]);

    const replace = (replaces: string) =>
      api('documents', 'POST', '/api/v1/documents', tokens[SENDER], body({ replaces }));
    const unknown = await replace('3f0c9a6e-8d7b-4c1a-9e2f-5b6a7c8d9e0f');
    expect(unknown.status).toBe(422);
    expect(unknown.body.code).toBe('REPLACED_DOCUMENT_UNKNOWN');
    const ofDraft = await replace(draft.body.id);
    expect(ofDraft.status).toBe(409);
    expect(ofDraft.body.code).toBe('REPLACED_DOCUMENT_NOT_SENT');
    const malformed = await replace('12');
    expect(malformed.status).toBe(400);
    expect(malformed.body.fields.map((f: any) => f.field)).toContain('replaces');
  });

  it("a replacement links the recipient's copies both ways and its register shows the earlier one replaced", async () => {
    const earlier = await sendDocument();
    const oldCopy = await copyAt(B, earlier.subject);
    const b = body({ recipients: [], replaces: earlier.id, subject: `Thay thế ${earlier.subject}` });
    const created = await api('documents', 'POST', '/api/v1/documents', tokens[SENDER], b);
    expect(created.status).toBe(201);
    expect(created.body.recipients.map((r: any) => r.organizationCode)).toEqual([B]);
    const twice = await api(
      'documents',
      'POST',
      '/api/v1/documents',
      tokens[SENDER],
      body({ replaces: earlier.id }),
    );
    expect(twice.status).toBe(409);
    expect(twice.body.code).toBe('DOCUMENT_ALREADY_REPLACED');
    expect(
      (await api('documents', 'POST', `/api/v1/documents/${created.body.id}/send`, tokens[SENDER])).status,
    ).toBe(202);
    expect((await get(SENDER, earlier.id)).replacedBy).toBe(created.body.id);

    const newCopy = await copyAt(B, b.subject);
    const linked = await until(async () => {
      const d = await get(B, newCopy.id);
      return d.replaces ? d : undefined;
    }, 'the replacement linked at B');
    expect(linked.replaces).toBe(oldCopy.id);
    expect(linked.history[0]).toMatchObject({ businessType: 3 });
    expect(await get(B, oldCopy.id)).toMatchObject({ replacedBy: newCopy.id });
    const register = await api('documents', 'GET', `/api/v1/registers/incoming?year=${year}`, tokens[B]);
    expect(register.status).toBe(200);
    expect(register.body.items.find((e: any) => e.documentId === oldCopy.id)).toMatchObject({
      replaced: true,
      replacedBy: newCopy.id,
    });
  });

  it('a recall shows 13 to the sender, then 15 from a recipient that agrees and 16 from one that completed', async () => {
    const doc = await sendDocument({ recipients: [B, C] });
    const atB = await copyAt(B, doc.subject);
    const atC = await copyAt(C, doc.subject);
    for (const status of ['accepted', 'completed'])
      expect(
        (await api('documents', 'POST', `/api/v1/documents/${atC.id}/status`, tokens[C], { status })).status,
      ).toBe(200);
    await until(
      async () => statusOf(await get(SENDER, doc.id), C) === '06',
      'C completed, seen by the sender',
    );

    const recall = await api('documents', 'POST', `/api/v1/documents/${doc.id}/recall`, tokens[SENDER], {
      reason: 'Ban hành nhầm',
    });
    expect(recall.status).toBe(202);
    expect(statusOf(recall.body, B)).toBe('13');
    expect(statusOf(recall.body, C)).toBe('13');
    const answered = await until(async () => {
      const d = await get(SENDER, doc.id);
      return statusOf(d, B) === '15' && statusOf(d, C) === '16' ? d : undefined;
    }, 'the answers 15 and 16 at the sender');
    expect(answered.state).toBe('recalled');
    const b = await get(B, atB.id);
    expect(b).toMatchObject({ status: 'recalled', statusCode: '13' });
    expect(b.history).toEqual([{ businessType: 1, at: expect.any(String), reason: 'Ban hành nhầm' }]);
    // C refused (16): its copy stays completed, and C is told of the recall as B is, marked refused.
    const c = await until(async () => {
      const d = await get(C, atC.id);
      return d.history?.length ? d : undefined;
    }, 'the refused recall in the history of C');
    expect(c).toMatchObject({ status: 'completed', statusCode: '06' });
    expect(c.history).toEqual([
      { businessType: 1, at: expect.any(String), reason: 'Ban hành nhầm', refused: true },
    ]);
    // The sender's timeline of each recipient: the 13 of the recall, then its answer, alike for 15 and 16.
    for (const [org, answer] of [
      [B, { status: 'recall-agreed', statusCode: '15' }],
      [C, { status: 'recall-refused', statusCode: '16', reason: 'already completed' }],
    ] as const) {
      const timeline = await api(
        'documents',
        'GET',
        `/api/v1/documents/${doc.id}/recipients/${org}/history`,
        tokens[SENDER],
      );
      expect(timeline.status).toBe(200);
      expect(timeline.body.items.slice(-2)).toEqual([
        { status: 'recalled', statusCode: '13', reason: 'Ban hành nhầm', at: expect.any(String) },
        { ...answer, at: expect.any(String) },
      ]);
    }
  });

  /** An edXML package written here by hand (the public format, not the bus's builder). */
  const edxml = (o: {
    from: string;
    to: string;
    number: string;
    subject: string;
    businessDocType: 0 | 2 | 3;
    reason?: string;
    replaces?: string;
  }) => {
    const e = (name: string, inner: string) => `<edXML:${name}>${inner}</edXML:${name}>`;
    const documentId = `${o.from},2026/11/20,${o.number}/UBND-VP`;
    const header = e(
      'MessageHeader',
      e('From', e('OrganId', o.from)) +
        e('To', e('OrganId', o.to)) +
        e('DocumentId', documentId) +
        e('Code', e('CodeNumber', o.number) + e('CodeNotation', 'UBND-VP')) +
        e('PromulgationInfo', e('PromulgationDate', '2026/11/20')) +
        e('DocumentType', e('Type', '1')) +
        e('Subject', o.subject) +
        e('SignerInfo', e('Position', 'Chánh Văn phòng') + e('FullName', 'Lê Văn C')) +
        e('SteeringType', '0'),
    );
    const business = e(
      'TraceHeaderList',
      e(
        'Bussiness',
        e('DocumentId', documentId) +
          e('BussinessDocType', String(o.businessDocType)) +
          (o.reason ? e('BussinessDocReason', o.reason) : '') +
          (o.replaces
            ? e(
                'ReplacementInfoList',
                e('ReplacementInfo', e('DocumentId', o.replaces) + e('OrganIdList', e('OrganId', o.to))),
              )
            : ''),
      ),
    );
    return (
      '<?xml version="1.0" encoding="UTF-8"?><edXML:edXML xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">' +
      e('edXMLEnvelope', e('edXMLHeader', header + business) + e('edXMLBody', '')) +
      '</edXML:edXML>'
    );
  };

  it('an edXML update (type 2) posted by an agency system is applied to the recipient copy', async () => {
    const subject = 'Giấy mời họp giao ban';
    expect(
      (await postXml(edxml({ from: SYSTEM, to: B, number: '77', subject, businessDocType: 0 }))).status,
    ).toBe(202);
    const copy = await copyAt(B, subject);
    const update = edxml({
      from: SYSTEM,
      to: B,
      number: '77',
      subject: 'Giấy mời họp giao ban (đổi giờ)',
      businessDocType: 2,
      reason: 'Đổi giờ họp',
    });
    const first = await postXml(update);
    expect(first.status).toBe(202);
    const d = await until(async () => {
      const x = await get(B, copy.id);
      return x.history?.length ? x : undefined;
    }, 'the edXML update at B');
    expect(d.subject).toBe('Giấy mời họp giao ban (đổi giờ)');
    expect(d.history).toEqual([
      {
        businessType: 2,
        at: expect.any(String),
        reason: 'Đổi giờ họp',
        changes: { subject: 'Giấy mời họp giao ban (đổi giờ)' },
      },
    ]);
    // The same package again: the first answer, nothing applied twice.
    const again = await postXml(update);
    expect(again.status).toBe(200);
    expect((await get(B, copy.id)).history).toHaveLength(1);
  });

  it('an edXML replacement (type 3) posted by an agency system links the recipient copies', async () => {
    const subject = 'Kế hoạch công tác tháng 12';
    expect(
      (await postXml(edxml({ from: SYSTEM, to: B, number: '88', subject, businessDocType: 0 }))).status,
    ).toBe(202);
    const oldCopy = await copyAt(B, subject);
    const refused = await postXml(
      edxml({ from: SYSTEM, to: B, number: '89', subject: 'Kế hoạch (thay thế)', businessDocType: 3 }),
    );
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('EDXML_INVALID');
    const posted = await postXml(
      edxml({
        from: SYSTEM,
        to: B,
        number: '89',
        subject: 'Kế hoạch công tác tháng 12 (thay thế)',
        businessDocType: 3,
        reason: 'Thay thế kế hoạch',
        replaces: `${SYSTEM},2026/11/20,88/UBND-VP`,
      }),
    );
    expect(posted.status).toBe(202);
    const newCopy = await copyAt(B, 'Kế hoạch công tác tháng 12 (thay thế)');
    const linked = await until(async () => {
      const d = await get(B, newCopy.id);
      return d.replaces ? d : undefined;
    }, 'the edXML replacement linked at B');
    expect(linked.replaces).toBe(oldCopy.id);
    expect(linked.history).toEqual([
      { businessType: 3, at: expect.any(String), reason: 'Thay thế kế hoạch' },
    ]);
    expect((await get(B, oldCopy.id)).replacedBy).toBe(newCopy.id);
  });

  it('an update from an agency on the national axis is applied to the recipient copy', async () => {
    const base: EdxmlPackage = {
      from: { organId: AGENCY },
      to: [{ organId: B }],
      documentId: `${AGENCY},2026/11/20,501/BNV-VP`,
      codeNumber: '501',
      codeNotation: 'BNV-VP',
      promulgationDate: '2026-11-20',
      type: '1',
      subject: 'Công văn của Bộ Nội vụ',
      signer: { position: 'Chánh Văn phòng', fullName: 'Phạm D' },
      priority: 0,
      steeringType: 0,
      toPlaces: [],
      responseFor: [],
      traces: [],
      businessDocType: 0,
      attachments: [],
    };
    axis.inject({
      from: AGENCY,
      to: [AXIS_SYSTEM_ID],
      messageType: 'edoc',
      content: Buffer.from(buildPackage(base)),
    });
    const copy = await copyAt(B, base.subject);
    axis.inject({
      from: AGENCY,
      to: [AXIS_SYSTEM_ID],
      messageType: 'edoc',
      content: Buffer.from(
        buildPackage({ ...base, priority: 2, businessDocType: 2, businessDocReason: 'Nâng độ khẩn' }),
      ),
    });
    const d = await until(async () => {
      const x = await get(B, copy.id);
      return x.history?.length ? x : undefined;
    }, 'the axis update at B');
    expect(d.urgency).toBe('very-urgent');
    expect(d.history[0]).toMatchObject({
      businessType: 2,
      reason: 'Nâng độ khẩn',
      changes: { urgency: 'very-urgent' },
    });
  });
});
