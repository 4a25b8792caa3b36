import { DocumentsConfig } from '../src/config/documents.config';
import { PdfSignatureVerifier } from '../src/signatures/pdf-signature.verifier';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  makeCa,
  makeCrl,
  makeSigner,
  minimalPdf,
  signPdf,
  signPdfCms,
  type TestIdentity,
} from '@lienthong/testing';

jest.setTimeout(120_000);

const DAY = 24 * 3600_000;
const daysAgo = (n: number) => new Date(Date.now() - n * DAY);

/**
 * Attacks on PDF signature verification (issue 13, items 4 and 5), with real RSA keys, X.509 certificates,
 * CMS and CRLs made here, verified through the service's worker pool. Each case was reported as valid and
 * trusted (or hung the event loop) before the verifier used the SignerInfo's own certificate.
 */
describe('PDF signature attacks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lt-sig-attack-'));
  let ca: TestIdentity;
  let leader: TestIdentity;
  let revoked: TestIdentity;
  let verifier: PdfSignatureVerifier;

  beforeAll(() => {
    // A CA that has existed for a year, like a real one: a back-dated claim falls inside its validity.
    ca = makeCa('Test Government CA', { notBefore: daysAgo(365) });
    leader = makeSigner('Bi thu Tinh uy', ca);
    revoked = makeSigner('Revoked Signer', ca);
    writeFileSync(join(dir, 'anchors.pem'), ca.pem);
    writeFileSync(join(dir, 'ca.crl'), makeCrl(ca, [{ cert: revoked, at: daysAgo(1) }]));
    verifier = new PdfSignatureVerifier(
      Object.assign(new DocumentsConfig(), {
        TRUST_ANCHORS: join(dir, 'anchors.pem'),
        TRUST_CRLS: join(dir, 'ca.crl'),
      }),
    );
  });
  afterAll(async () => {
    await verifier.onModuleDestroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it("signed with key B, leader A's genuine certificate first in the set: names B, never A, and is not trusted", async () => {
    const mallory = makeSigner('Mallory', makeCa('Mallory CA'));
    const forged = signPdfCms(minimalPdf(), {
      key: mallory,
      sid: 'subjectKeyIdentifier',
      certs: [leader, mallory],
    });
    const r = await verifier.verify(forged);
    expect(r.signature.signer).toBe('Mallory');
    expect(r.signature.trusted).toBe(false);
    expect(r.signatures.every((s) => s.signer !== 'Bi thu Tinh uy')).toBe(true);
  });

  it('a certificate whose key usage is only keyEncipherment does not sign documents', async () => {
    const encryptionOnly = makeSigner('Encryption Only', ca, {}, [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', keyEncipherment: true, critical: true },
    ]);
    const r = await verifier.verify(signPdf(minimalPdf(), encryptionOnly));
    expect(r.signature).toMatchObject({ valid: true, trusted: false, signer: 'Encryption Only' });
    expect(r.signature.problem).toMatch(/key usage/);
  });

  it('a certificate restricted to TLS client authentication does not sign documents', async () => {
    const tlsClient = makeSigner('TLS Client', ca, {}, [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', clientAuth: true },
    ]);
    const r = await verifier.verify(signPdf(minimalPdf(), tlsClient));
    expect(r.signature).toMatchObject({ valid: true, trusted: false });
    expect(r.signature.problem).toMatch(/extended key usage/);
  });

  it('an expired certificate with a back-dated signing time and no timestamp is not trusted', async () => {
    const expired = makeSigner('Expired Signer', ca, { notBefore: daysAgo(10), notAfter: daysAgo(5) });
    // The claimed signing time lies inside the validity period: only a timestamp could prove it.
    const r = await verifier.verify(signPdf(minimalPdf(), expired, { signingTime: daysAgo(7) }));
    expect(r.signature).toMatchObject({ valid: true, trusted: false, signedAtSource: 'claimed' });
    expect(r.signature.problem).toMatch(/not valid now/);
  });

  it('a timestamp from a TSA outside the trust anchors proves nothing', async () => {
    const rogueCa = makeCa('Rogue TSA CA');
    const rogueTsa = makeSigner('Rogue TSA', rogueCa, {}, [
      { name: 'basicConstraints', cA: false },
      { name: 'extKeyUsage', timeStamping: true, critical: true },
    ]);
    const expired = makeSigner('Expired Signer', ca, { notBefore: daysAgo(10), notAfter: daysAgo(5) });
    const r = await verifier.verify(
      signPdfCms(minimalPdf(), {
        key: expired,
        signingTime: daysAgo(7),
        timestamp: { tsa: rogueTsa, genTime: daysAgo(7), certs: [rogueTsa, rogueCa] },
      }),
    );
    expect(r.signature).toMatchObject({ valid: true, trusted: false, signedAtSource: 'claimed' });
    expect(r.signature.problem).toMatch(/timestamp was not accepted: time-stamping authority/);
  });

  it('a timestamp signed by a certificate that is not a time-stamping one proves nothing', async () => {
    const expired = makeSigner('Expired Signer', ca, { notBefore: daysAgo(10), notAfter: daysAgo(5) });
    const r = await verifier.verify(
      signPdfCms(minimalPdf(), {
        key: expired,
        signingTime: daysAgo(7),
        timestamp: { tsa: leader, genTime: daysAgo(7) },
      }),
    );
    expect(r.signature).toMatchObject({ valid: true, trusted: false });
    expect(r.signature.problem).toMatch(/not for time-stamping/);
  });

  it('a certificate revoked by a configured CRL is not trusted', async () => {
    const r = await verifier.verify(signPdf(minimalPdf(), revoked));
    expect(r.signature).toMatchObject({ valid: true, trusted: false, signer: 'Revoked Signer' });
    expect(r.signature.problem).toMatch(/revoked on/);
  });

  it('a crafted 0.7 MB file of signature keys comes back with a problem, and the next file is verified', async () => {
    const crafted = Buffer.from(
      '%PDF-1.7\n' + '/Contents <00> /ByteRange [0 1 2 3]\n'.repeat(20_000),
      'latin1',
    );
    expect(crafted.length).toBeGreaterThan(700_000);
    const [bad, good] = await Promise.all([
      verifier.verify(crafted),
      verifier.verify(signPdf(minimalPdf(), leader)),
    ]);
    expect(bad.signature).toMatchObject({ present: true, valid: false, trusted: false });
    expect(bad.signature.problem).toMatch(/more than 20 signatures/);
    expect(good.signature).toMatchObject({ valid: true, trusted: true, signer: 'Bi thu Tinh uy' });
  });
});
