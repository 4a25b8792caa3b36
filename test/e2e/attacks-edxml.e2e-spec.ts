import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ProtoFiles } from '@lienthong/contracts';
import forge from 'node-forge';
import { api as callApi, login as loginAt, until } from './support/api';
import { PlatformProcesses, type Service } from './support/platform-processes';

jest.setTimeout(240_000);

/** A TLS server certificate for 127.0.0.1 (the gRPC endpoint under test). */
function tlsCertificate(): { certPem: string; keyPem: string } {
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  const name = [{ name: 'commonName', value: 'documents.lienthong.test' }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true },
    { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
}

const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** An edXML package as any agency system could write it (unsigned: the API accepts unsigned packages). */
function edxmlPackage(o: {
  from: string;
  to: string[];
  documentId: string;
  businessDocType?: 0 | 1;
  subject?: string;
}): string {
  const e = (name: string, body: string) => `<edXML:${name}>${body}</edXML:${name}>`;
  const number = o.documentId.split(',')[2].split('/')[0];
  const header = e(
    'MessageHeader',
    e('From', e('OrganId', o.from)) +
      o.to.map((t) => e('To', e('OrganId', t))).join('') +
      e('DocumentId', xmlEscape(o.documentId)) +
      e('Code', e('CodeNumber', number) + e('CodeNotation', 'CV')) +
      e('PromulgationInfo', e('PromulgationDate', '2026/11/20')) +
      e('DocumentType', e('Type', '1')) +
      e('Subject', xmlEscape(o.subject ?? 'Thông báo')) +
      e('SteeringType', '0'),
  );
  const business = e(
    'TraceHeaderList',
    e(
      'Bussiness',
      e('DocumentId', xmlEscape(o.documentId)) +
        e('BussinessDocType', String(o.businessDocType ?? 0)) +
        (o.businessDocType === 1 ? e('BussinessDocReason', 'Thu hồi') : ''),
    ),
  );
  return (
    '<?xml version="1.0" encoding="UTF-8"?><edXML:edXML xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">' +
    e('edXMLEnvelope', e('edXMLHeader', header + business) + e('edXMLBody', '')) +
    '</edXML:edXML>'
  );
}

function edxmlStatus(o: { from: string; responseFor: string; documentId: string; code: string }): string {
  const e = (name: string, body: string) => `<edXML:${name}>${body}</edXML:${name}>`;
  return (
    '<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/" xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016"><SOAP-ENV:Header>' +
    e(
      'Status',
      e('ResponseFor', e('OrganId', o.responseFor) + e('DocumentId', xmlEscape(o.documentId))) +
        e('From', e('OrganId', o.from)) +
        e('StatusCode', o.code) +
        e('Timestamp', '2026/11/30 09:00:00'),
    ) +
    '</SOAP-ENV:Header><SOAP-ENV:Body/></SOAP-ENV:Envelope>'
  );
}

/**
 * Issue 13, items 1, 10 and 11, and issue 14 item 6, each as the attacker's (or outsider's) request against
 * the four real services. Every case failed on main before the fixes.
 */
describe('attacks: edXML callers, unaudited reads, things left hanging, API rough edges', () => {
  const tls = tlsCertificate();
  const platform = new PlatformProcesses({
    documents: { GRPC_TLS_CERT: tls.certPem, GRPC_TLS_KEY: tls.keyPem },
    // Small enough that the memory case below needs only a few megabytes.
    'integration-bus': { EDXML_INFLIGHT_BYTES: String(4 * 1024 * 1024) },
  });
  const VICTIM = '000.21.00.P21';
  const RECEIVER = '000.22.00.P22';
  const ATTACKER = '000.23.00.P23';
  const tokens: Record<string, string> = {};
  let admin = '';
  let exchangeClient = '';

  const api = (service: Service, method: string, path: string, token?: string, body?: unknown) =>
    callApi(platform, service, method, path, token, body);
  const postXml = async (path: string, xml: string, token = exchangeClient) => {
    const r = await fetch(`${platform.url('integration-bus')}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/xml', Authorization: `Bearer ${token}` },
      body: xml,
    });
    const text = await r.text();
    let body: any = text;
    try {
      body = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: r.status, body };
  };
  const auditEvents = async (query: string): Promise<any[]> => {
    const r = await api('audit', 'GET', `/api/v1/audit/events?limit=500&${query}`, admin);
    expect(r.status).toBe(200);
    return r.body.items;
  };
  const document = (number: string, over: Record<string, unknown> = {}) => ({
    number,
    notation: 'CV/TU',
    type: 'CV',
    typeName: 'Công văn',
    subject: `Công văn số ${number}`,
    promulgationPlace: 'Hà Nội',
    promulgationDate: '2026-11-20',
    signer: { position: 'Bí thư', fullName: 'Nguyễn Văn A' },
    secrecy: 'none',
    urgency: 'normal',
    recipients: [RECEIVER],
    ...over,
  });

  beforeAll(async () => {
    await platform.start();
    admin = await loginAt(platform, 'admin', platform.adminPassword);
    const root = (await api('identity', 'GET', '/api/v1/auth/me', admin)).body.organizationCode;
    for (const code of [VICTIM, RECEIVER, ATTACKER]) {
      const r = await api('identity', 'POST', '/api/v1/organizations', admin, {
        code,
        name: `Tỉnh ủy ${code}`,
        parentCode: root,
        level: 'province',
        sector: 'party',
        zone: 'party-wan',
      });
      expect(r.status).toBe(201);
    }
    const password = 'Attacks-e2e-Passw0rd!';
    for (const [username, org] of [
      ['clerk.victim', VICTIM],
      ['clerk.receiver', RECEIVER],
    ] as const) {
      const r = await api('identity', 'POST', '/api/v1/users', admin, {
        username,
        fullName: username,
        password,
        organizationCode: org,
        roles: ['clerk'],
      });
      expect(r.status).toBe(201);
      tokens[username] = await loginAt(platform, username, password);
    }
    const client = await api('identity', 'POST', '/api/v1/clients', admin, {
      name: 'hệ thống của tỉnh ủy 23',
      organizationCode: ATTACKER,
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
    await platform.stop();
  });

  describe('13.1 inbound edXML speaks for its caller only', () => {
    let victimDocumentId = '';

    beforeAll(async () => {
      const created = await api(
        'documents',
        'POST',
        '/api/v1/documents',
        tokens['clerk.victim'],
        document('101'),
      );
      expect(created.status).toBe(201);
      const sent = await api(
        'documents',
        'POST',
        `/api/v1/documents/${created.body.id}/send`,
        tokens['clerk.victim'],
      );
      expect(sent.status).toBe(202);
      victimDocumentId = `${VICTIM},2026/11/20,101/CV/TU`;
      await until(async () => {
        const r = await api(
          'documents',
          'GET',
          '/api/v1/documents?direction=incoming',
          tokens['clerk.receiver'],
        );
        return r.body.items?.some((d: any) => d.subject === 'Công văn số 101');
      }, 'the genuine document at the receiver');
    });

    const refusedAndAudited = async (r: { status: number; body: any }, documentId: string) => {
      expect(r.status).toBe(403);
      expect(r.body.code).toBe('EDXML_SENDER_MISMATCH');
      await until(
        async () =>
          (await auditEvents('action=edxml.rejected')).find(
            (e) =>
              e.details?.reason === 'EDXML_SENDER_MISMATCH' &&
              e.resource.id === documentId &&
              e.actor.organizationCode === ATTACKER &&
              e.outcome === 'denied',
          ),
        `the audited refusal of ${documentId}`,
      );
    };

    it('a package sent as another organization is refused (403) and audited', async () => {
      const documentId = `${VICTIM},2026/11/20,777/CV`;
      const r = await postXml(
        '/api/v1/edxml',
        edxmlPackage({ from: VICTIM, to: [RECEIVER], documentId, subject: 'Chỉ thị giả mạo' }),
      );
      await refusedAndAudited(r, documentId);
    });

    it("a recall (business type 1) of another organization's document is refused", async () => {
      const r = await postXml(
        '/api/v1/edxml',
        edxmlPackage({ from: VICTIM, to: [RECEIVER], documentId: victimDocumentId, businessDocType: 1 }),
      );
      await refusedAndAudited(r, victimDocumentId);
      // The receiver's copy is untouched.
      const incoming = await api(
        'documents',
        'GET',
        '/api/v1/documents?direction=incoming',
        tokens['clerk.receiver'],
      );
      const copy = incoming.body.items.find((d: any) => d.subject === 'Công văn số 101');
      expect(copy.state).not.toBe('recalled');
    });

    it('a status posted as the receiver is refused', async () => {
      const r = await postXml(
        '/api/v1/edxml/status',
        edxmlStatus({ from: RECEIVER, responseFor: VICTIM, documentId: victimDocumentId, code: '03' }),
      );
      await refusedAndAudited(r, victimDocumentId);
    });

    it("the attacker's own From with the victim's next DocumentId (to have the genuine one dropped) is refused", async () => {
      const documentId = `${VICTIM},2026/11/20,102/CV/TU`;
      const r = await postXml('/api/v1/edxml', edxmlPackage({ from: ATTACKER, to: [RECEIVER], documentId }));
      await refusedAndAudited(r, documentId);
    });

    it('its own packages still go through', async () => {
      const r = await postXml(
        '/api/v1/edxml',
        edxmlPackage({ from: ATTACKER, to: [RECEIVER], documentId: `${ATTACKER},2026/11/20,5/CV` }),
      );
      expect(r.status).toBe(202);
    });
  });

  describe('13.10 reads are audited', () => {
    it('reading a document over REST and over gRPC (TLS), a register CSV and an audit export each leave an event', async () => {
      const created = await api(
        'documents',
        'POST',
        '/api/v1/documents',
        tokens['clerk.victim'],
        document('201'),
      );
      expect(created.status).toBe(201);
      const id = created.body.id;
      expect((await api('documents', 'GET', `/api/v1/documents/${id}`, tokens['clerk.victim'])).status).toBe(
        200,
      );

      const def = protoLoader.loadSync(ProtoFiles.documents(), {
        keepCase: false,
        longs: Number,
        enums: String,
      });
      const pkg = grpc.loadPackageDefinition(def) as any;
      const secure = new pkg.lienthong.documents.v1.DocumentExchange(
        `127.0.0.1:${platform.grpcPort}`,
        grpc.credentials.createSsl(Buffer.from(tls.certPem)),
      );
      const md = new grpc.Metadata();
      md.set('authorization', `Bearer ${tokens['clerk.victim']}`);
      const viaGrpc = await new Promise<any>((resolve, reject) =>
        secure.getDocument({ id }, md, (e: Error | null, r: any) => (e ? reject(e) : resolve(r))),
      );
      secure.close();
      expect(viaGrpc.id).toBe(id);

      const csv = await fetch(`${platform.url('documents')}/api/v1/registers/outgoing?year=2026&format=csv`, {
        headers: { Authorization: `Bearer ${tokens['clerk.victim']}` },
      });
      expect(csv.status).toBe(200);
      await csv.text();
      const exported = await fetch(`${platform.url('audit')}/api/v1/audit/export`, {
        headers: { Authorization: `Bearer ${admin}` },
      });
      expect(exported.status).toBe(200);
      await exported.text();

      await until(async () => {
        const reads = (await auditEvents('action=document.read')).filter((e) => e.resource.id === id);
        return reads.length >= 2;
      }, 'two document.read events (REST and gRPC)');
      await until(
        async () =>
          (await auditEvents('action=register.exported')).find(
            (e) => e.resource.id === `${VICTIM}/outgoing/2026` && e.details?.format === 'csv',
          ),
        'register.exported',
      );
      await until(
        async () =>
          (await auditEvents('action=audit.exported')).find((e) => e.actor.sub && e.outcome === 'success'),
        'audit.exported',
      );
    });

    it('gRPC refuses a plaintext connection when TLS is configured', async () => {
      const def = protoLoader.loadSync(ProtoFiles.documents(), { keepCase: false });
      const pkg = grpc.loadPackageDefinition(def) as any;
      const plain = new pkg.lienthong.documents.v1.DocumentExchange(
        `127.0.0.1:${platform.grpcPort}`,
        grpc.credentials.createInsecure(),
      );
      const md = new grpc.Metadata();
      md.set('authorization', `Bearer ${tokens['clerk.victim']}`);
      const err = await new Promise<grpc.ServiceError>((resolve) =>
        plain.getDocument({ id: '00000000-0000-4000-8000-000000000000' }, md, (e: grpc.ServiceError) =>
          resolve(e),
        ),
      );
      plain.close();
      expect(err?.code).toBe(grpc.status.UNAVAILABLE);
    });
  });

  describe('13.11 nothing is left hanging silently', () => {
    it('a second outgoing document with the same number and notation in the year is refused: 409 DOCUMENT_NUMBER_TAKEN', async () => {
      const first = await api(
        'documents',
        'POST',
        '/api/v1/documents',
        tokens['clerk.victim'],
        document('301'),
      );
      expect(first.status).toBe(201);
      const second = await api(
        'documents',
        'POST',
        '/api/v1/documents',
        tokens['clerk.victim'],
        document('301', { subject: 'Một công văn khác cùng số' }),
      );
      expect(second.status).toBe(409);
      expect(second.body.code).toBe('DOCUMENT_NUMBER_TAKEN');
      // Another office may use the same number.
      const other = await api('documents', 'POST', '/api/v1/documents', tokens['clerk.receiver'], {
        ...document('301'),
        recipients: [VICTIM],
      });
      expect(other.status).toBe(201);
    });

    it('a package with more To entries than allowed is 400, not 500', async () => {
      const to = Array.from({ length: 20_001 }, (_, i) => `000.99.${String(i % 100).padStart(2, '0')}.X${i}`);
      const r = await postXml(
        '/api/v1/edxml',
        edxmlPackage({ from: ATTACKER, to, documentId: `${ATTACKER},2026/11/20,6/CV` }),
      );
      expect(r.status).toBe(400);
      expect(r.body.code).toBe('EDXML_INVALID');
      expect(r.body.message).toContain('To');
    });

    it('edXML bodies beyond the in-flight memory budget are refused with 413 before being read', async () => {
      const padding = 'A'.repeat(5 * 1024 * 1024);
      const r = await postXml(
        '/api/v1/edxml',
        edxmlPackage({
          from: ATTACKER,
          to: [RECEIVER],
          documentId: `${ATTACKER},2026/11/20,7/CV`,
          subject: padding,
        }),
      );
      expect(r.status).toBe(413);
      expect(r.body.code).toBe('EDXML_TOO_LARGE');
    });

    it('an audit field longer than its column is kept, cut with a marker, instead of the event being lost', async () => {
      const documentId = `${ATTACKER},2026/11/20,8/${'X'.repeat(300)}`;
      const r = await postXml('/api/v1/edxml', edxmlPackage({ from: ATTACKER, to: [RECEIVER], documentId }));
      expect(r.status).toBe(202);
      const e = await until(
        async () =>
          (await auditEvents('action=edxml.received')).find((x) =>
            x.resource.id.startsWith(`${ATTACKER},2026/11/20,8/XXXX`),
          ),
        'the edxml.received event of a 300-character DocumentId',
      );
      expect([...e.resource.id].length).toBe(200);
      expect(e.resource.id.endsWith('…[truncated]')).toBe(true);
      expect(e.details.truncated).toEqual(['resource.id']);
    });
  });

  describe('14.6 API rough edges', () => {
    it('an empty query parameter means absent', async () => {
      // `action=` matched the empty action (no event) before; now it is no filter at all.
      const empty = await auditEvents('action=&actor=&resourceId=');
      expect(empty.length).toBeGreaterThan(0);
      expect(new Set(empty.map((e) => e.action)).size).toBeGreaterThan(1);
      const docs = await api(
        'documents',
        'GET',
        '/api/v1/documents?direction=&status=',
        tokens['clerk.victim'],
      );
      expect(docs.status).toBe(200);
      expect(docs.body.items.length).toBeGreaterThan(0);
    });

    it('the exchange report without from/to covers the current year', async () => {
      const r = await api('documents', 'GET', '/api/v1/reports/exchange', tokens['clerk.victim']);
      expect(r.status).toBe(200);
      const year = new Date(Date.now() + 7 * 3_600_000).getUTCFullYear();
      expect(r.body).toMatchObject({ from: `${year}-01-01`, to: `${year}-12-31` });
    });

    it("OpenAPI documents every list endpoint's maximum limit", async () => {
      const lists: [Service, string][] = [
        ['audit', '/api/v1/audit/events'],
        ['audit', '/api/v1/audit/checkpoints'],
        ['documents', '/api/v1/documents'],
        ['identity', '/api/v1/users'],
        ['identity', '/api/v1/organizations'],
        ['integration-bus', '/api/v1/exchanges'],
      ];
      for (const [service, path] of lists) {
        const doc = (await api(service, 'GET', '/docs-json')).body;
        const limit = doc.paths[path].get.parameters.find((p: any) => p.name === 'limit' && p.in === 'query');
        expect({ path, maximum: limit?.schema?.maximum }).toEqual({ path, maximum: 500 });
      }
    });
  });
});
