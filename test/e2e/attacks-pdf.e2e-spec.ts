import {
  makeCa,
  makeCrl,
  makeSigner,
  minimalPdf,
  signPdf,
  signPdfCms,
  type TestIdentity,
} from '@lienthong/testing';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api as callApi, login as loginAt, until } from './support/api';
import { PlatformProcesses, type Service } from './support/platform-processes';

jest.setTimeout(240_000);

const PROVINCE_A = '000.21.00.P21';
const PROVINCE_B = '000.22.00.P22';

/**
 * Attacks on attached PDF signatures (issue 13, items 4 and 5), each as the attacker's upload through the
 * public API of the four real services, with real keys, certificates, CMS and a CRL made here.
 */
describe('attacks: PDF signatures', () => {
  const pki = mkdtempSync(join(tmpdir(), 'lt-e2e-pki-'));
  const ca = makeCa('Ban Co yeu Test CA');
  const leader = makeSigner('Bi thu Tinh uy A', ca);
  const revoked = makeSigner('Revoked Official', ca);
  writeFileSync(join(pki, 'anchors.pem'), ca.pem);
  writeFileSync(join(pki, 'ca.crl'), makeCrl(ca, [{ cert: revoked, at: new Date(Date.now() - 3600_000) }]));
  const platform = new PlatformProcesses({
    documents: { TRUST_ANCHORS: join(pki, 'anchors.pem'), TRUST_CRLS: join(pki, 'ca.crl') },
  });
  const tokens: Record<string, string> = {};
  const api = (service: Service, method: string, path: string, token?: string, body?: unknown) =>
    callApi(platform, service, method, path, token, body);

  beforeAll(async () => {
    await platform.start();
    const admin = await loginAt(platform, 'admin', platform.adminPassword);
    const root = (await api('identity', 'GET', '/api/v1/auth/me', admin)).body.organizationCode;
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
    const password = 'Attacks-pdf-Passw0rd!';
    for (const [username, org] of [
      ['clerk.a', PROVINCE_A],
      ['clerk.b', PROVINCE_B],
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
  });

  afterAll(async () => {
    await platform.stop();
    rmSync(pki, { recursive: true, force: true });
  });

  let serial = 0;
  async function draft(subject: string): Promise<string> {
    const r = await api('documents', 'POST', '/api/v1/documents', tokens['clerk.a'], {
      number: String(100 + ++serial),
      notation: 'QĐ/TU',
      type: 'QD',
      subject,
      promulgationPlace: 'Hà Nội',
      promulgationDate: '2026-11-20',
      signer: { position: 'Bí thư', fullName: 'Nguyễn Văn A' },
      secrecy: 'none',
      urgency: 'normal',
      recipients: [PROVINCE_B],
    });
    expect(r.status).toBe(201);
    return r.body.id;
  }

  interface Uploaded {
    status: number;
    body: { signature: { signer?: string; valid: boolean; trusted: boolean; problem?: string } };
  }
  async function upload(id: string, bytes: Buffer, name: string): Promise<Uploaded> {
    const form = new FormData();
    form.append('file', new Blob([bytes], { type: 'application/pdf' }), name);
    const r = await fetch(`${platform.url('documents')}/api/v1/documents/${id}/attachments`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${tokens['clerk.a']}` },
      body: form,
    });
    return { status: r.status, body: (await r.json()) as Uploaded['body'] };
  }

  it("a file signed with key B under leader A's genuine certificate is never shown as A's trusted signature, not even to the recipient", async () => {
    const mallory: TestIdentity = makeSigner('Mallory', makeCa('Mallory CA'));
    const forged = signPdfCms(minimalPdf('Quyết định giả'), {
      key: mallory,
      sid: 'subjectKeyIdentifier',
      certs: [leader, mallory],
    });
    const id = await draft('Quyết định có chữ ký giả');
    const up = await upload(id, forged, 'quyet-dinh.pdf');
    expect(up.status).toBe(201);
    expect(up.body.signature.signer).toBe('Mallory');
    expect(up.body.signature.trusted).toBe(false);

    expect((await api('documents', 'POST', `/api/v1/documents/${id}/send`, tokens['clerk.a'])).status).toBe(
      202,
    );
    const incoming = await until(async () => {
      const r = await api('documents', 'GET', '/api/v1/documents?direction=incoming', tokens['clerk.b']);
      return r.body.items?.find((d: { subject: string }) => d.subject === 'Quyết định có chữ ký giả');
    }, 'the incoming copy');
    const copy = await api('documents', 'GET', `/api/v1/documents/${incoming.id}`, tokens['clerk.b']);
    expect(copy.body.attachments).toHaveLength(1);
    expect(copy.body.attachments[0].signature).toMatchObject({ signer: 'Mallory', trusted: false });
  });

  it('a file signed with a certificate the configured CRL revokes is not trusted', async () => {
    const id = await draft('Văn bản ký bằng chứng thư đã thu hồi');
    const up = await upload(id, signPdf(minimalPdf(), revoked), 'thu-hoi.pdf');
    expect(up.status).toBe(201);
    expect(up.body.signature).toMatchObject({ valid: true, trusted: false, signer: 'Revoked Official' });
    expect(up.body.signature.problem).toMatch(/revoked/);
  });

  it('a crafted 0.7 MB PDF comes back with a problem while other requests are served', async () => {
    const crafted = Buffer.from('%PDF-1.7\n' + '/ByteRange [0 1 2 3]\n'.repeat(34_000) + '%%EOF\n', 'latin1');
    expect(crafted.length).toBeGreaterThan(700_000);
    const id = await draft('Tệp PDF độc hại');
    const pending = upload(id, crafted, 'doc-hai.pdf');
    const others = await Promise.all(
      [1, 2, 3].map(() => api('documents', 'GET', '/api/v1/documents?direction=outgoing', tokens['clerk.a'])),
    );
    expect(others.map((r) => r.status)).toEqual([200, 200, 200]);
    const up = await pending;
    expect(up.status).toBe(201);
    expect(up.body.signature).toMatchObject({ present: true, valid: false, trusted: false });
    expect(up.body.signature.problem).toMatch(/more than \d+ signatures/);
    // And a genuine file right after it is verified as usual.
    const next = await upload(id, signPdf(minimalPdf(), leader), 'that.pdf');
    expect(next.body.signature).toMatchObject({ valid: true, trusted: true, signer: 'Bi thu Tinh uy A' });
  });
});
