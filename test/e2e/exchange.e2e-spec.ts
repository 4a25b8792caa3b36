import { createHash, createPublicKey, verify as verifySignature } from 'node:crypto';
import { api as callApi, login as loginAt, until } from './support/api';
import { PlatformProcesses, type Service } from './support/platform-processes';

const sha256 = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();

/** RFC 9162 §2.1.3.2, written here independently of the audit service's own code. */
function rootFromInclusionProof(
  leafIndex: number,
  treeSize: number,
  leafHash: Buffer,
  path: Buffer[],
): Buffer {
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r = leafHash;
  for (const p of path) {
    if (sn === 0) throw new Error('proof too long');
    if (fn % 2 === 1 || fn === sn) {
      r = sha256(Buffer.from([1]), p, r);
      if (fn % 2 === 0)
        while (fn % 2 === 0 && fn !== 0) {
          fn >>= 1;
          sn >>= 1;
        }
    } else {
      r = sha256(Buffer.from([1]), r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn !== 0) throw new Error('proof too short');
  return r;
}

jest.setTimeout(180_000);

/** The exchange path of ARCHITECTURE.md across the four real services, HTTP only. */
describe('a document travels between two party organizations', () => {
  const platform = new PlatformProcesses();
  let admin: string;
  const tokens: Record<string, string> = {};
  const PROVINCE_A = '000.11.00.P11';
  const PROVINCE_B = '000.12.00.P12';

  const api = (service: Service, method: string, path: string, token?: string, body?: unknown) =>
    callApi(platform, service, method, path, token, body);
  const login = (username: string, password: string) => loginAt(platform, username, password);

  beforeAll(async () => {
    await platform.start();
    admin = await login('admin', platform.adminPassword);
    const me = await api('identity', 'GET', '/api/v1/auth/me', admin);
    const root = me.body.organizationCode;
    for (const [code, name] of [
      [PROVINCE_A, 'Tỉnh ủy A'],
      [PROVINCE_B, 'Tỉnh ủy B'],
    ]) {
      const r = await api('identity', 'POST', '/api/v1/organizations', admin, {
        code,
        name,
        parentCode: root,
        level: 'province',
        sector: 'party',
        zone: 'party-wan',
      });
      expect(r.status).toBe(201);
    }
    const password = 'Exchange-e2e-Passw0rd!';
    for (const [username, org, roles] of [
      ['clerk.a', PROVINCE_A, ['clerk']],
      ['clerk.b', PROVINCE_B, ['clerk']],
      ['auditor.root', root, ['auditor']],
    ] as const) {
      const r = await api('identity', 'POST', '/api/v1/users', admin, {
        username,
        fullName: username,
        password,
        organizationCode: org,
        roles,
      });
      expect(r.status).toBe(201);
      tokens[username] = await login(username, password);
    }
  });

  afterAll(async () => {
    await platform.stop();
  });

  it('is sent, arrives with an arrival number, and its acceptance returns to the sender; every step is audited', async () => {
    const created = await api('documents', 'POST', '/api/v1/documents', tokens['clerk.a'], {
      number: '15',
      notation: 'CV/TU',
      type: 'CV',
      typeName: 'Công văn',
      subject: 'Về việc triển khai nghị quyết',
      promulgationPlace: 'Hà Nội',
      promulgationDate: '2026-11-20',
      signer: { position: 'Phó Bí thư', fullName: 'Nguyễn Văn A' },
      secrecy: 'none',
      urgency: 'urgent',
      recipients: [PROVINCE_B],
    });
    expect(created.status).toBe(201);
    const id = created.body.id;

    const sent = await api('documents', 'POST', `/api/v1/documents/${id}/send`, tokens['clerk.a']);
    expect(sent.status).toBe(202);
    expect(sent.body.recipients).toEqual([{ organizationCode: PROVINCE_B, status: 'queued' }]);

    const incoming = await until(async () => {
      const r = await api('documents', 'GET', '/api/v1/documents?direction=incoming', tokens['clerk.b']);
      return r.body.items?.find((d: any) => d.subject === 'Về việc triển khai nghị quyết');
    }, 'the incoming document');
    expect(incoming.fromOrganizationCode).toBe(PROVINCE_A);
    expect(incoming.arrivalNumber).toBe(1);

    await until(async () => {
      const r = await api('documents', 'GET', `/api/v1/documents/${id}`, tokens['clerk.a']);
      return r.body.recipients?.[0]?.statusCode === '01';
    }, 'status 01 at the sender');

    const accepted = await api(
      'documents',
      'POST',
      `/api/v1/documents/${incoming.id}/status`,
      tokens['clerk.b'],
      { status: 'accepted' },
    );
    expect(accepted.status).toBeLessThan(300);
    const recipient = await until(async () => {
      const r = await api('documents', 'GET', `/api/v1/documents/${id}`, tokens['clerk.a']);
      return r.body.recipients?.[0]?.statusCode === '03' && r.body.recipients[0];
    }, 'status 03 at the sender');
    expect(recipient).toMatchObject({ organizationCode: PROVINCE_B, status: 'accepted', statusCode: '03' });

    // The other organization cannot read the sender's document.
    expect((await api('documents', 'GET', `/api/v1/documents/${id}`, tokens['clerk.b'])).status).toBe(404);

    // Audit: the send is in the Merkle log and its inclusion proof verifies against a signed checkpoint.
    const events = await until(async () => {
      const r = await api('audit', 'GET', `/api/v1/audit/events?resourceId=${id}`, admin);
      return r.status === 200 && r.body.items.some((e: any) => e.action === 'document.sent') && r.body.items;
    }, 'audit events for the document');
    expect(events.map((e: any) => e.service)).toContain('documents');

    // A signed checkpoint covering the send event, checked with our own code: Ed25519 over the API.md text,
    // and the inclusion proof of the event's leaf up to the checkpoint's root.
    const sentEvent = events.find((e: any) => e.action === 'document.sent');
    const checkpoint = await until(async () => {
      const c = await api('audit', 'GET', '/api/v1/audit/checkpoint', admin);
      return c.status === 200 && c.body.treeSize > sentEvent.leafIndex && c.body;
    }, 'a checkpoint covering the event');
    const keys = await api('audit', 'GET', '/api/v1/audit/keys', admin);
    const key = keys.body.keys.find((k: any) => k.keyId === checkpoint.keyId);
    const text = `${checkpoint.origin}\n${checkpoint.treeSize}\n${Buffer.from(checkpoint.rootHash, 'hex').toString('base64')}\n`;
    expect(
      verifySignature(
        null,
        Buffer.from(text),
        createPublicKey(key.publicKey),
        Buffer.from(checkpoint.signature, 'base64'),
      ),
    ).toBe(true);
    const proof = await api(
      'audit',
      'GET',
      `/api/v1/audit/proofs/inclusion?leafIndex=${sentEvent.leafIndex}&treeSize=${checkpoint.treeSize}`,
      admin,
    );
    expect(proof.status).toBe(200);
    expect(proof.body.leafHash).toBe(sentEvent.leafHash);
    const root = rootFromInclusionProof(
      sentEvent.leafIndex,
      checkpoint.treeSize,
      Buffer.from(sentEvent.leafHash, 'hex'),
      proof.body.auditPath.map((h: string) => Buffer.from(h, 'hex')),
    );
    expect(root.toString('hex')).toBe(checkpoint.rootHash);
  });
});
