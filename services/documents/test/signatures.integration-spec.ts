import { PdfSignatureVerifier } from '../src/signatures/pdf-signature.verifier';
import { DocumentsConfig } from '../src/config/documents.config';
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

jest.setTimeout(60_000);

/** Real CMS signatures made with a test CA in setup, verified with pkijs and node's X.509. */
describe('PDF signature verification', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lt-sig-'));
  let ca: TestIdentity;
  let signer: TestIdentity;
  let verifier: PdfSignatureVerifier;
  let tsa: TestIdentity;
  let revokedLater: TestIdentity;
  const DAY = 24 * 3600_000;
  const daysAgo = (n: number) => new Date(Date.now() - n * DAY);

  beforeAll(() => {
    // Valid for a year back, so that timestamps of last week chain to it.
    ca = makeCa('Test Government CA', { notBefore: daysAgo(365) });
    signer = makeSigner('Nguyen Van A', ca);
    tsa = makeSigner('Test TSA', ca, { notBefore: daysAgo(30) }, [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', timeStamping: true, critical: true },
    ]);
    revokedLater = makeSigner('Revoked Yesterday', ca, { notBefore: daysAgo(30) });
    // A CRL from an impostor CA with the same name lists the good signer: its signature does not verify
    // under the real CA's key, so it must be ignored.
    const impostor = makeCa('Test Government CA');
    writeFileSync(join(dir, 'anchors.pem'), ca.pem);
    writeFileSync(
      join(dir, 'crls.pem'),
      makeCrl(ca, [{ cert: revokedLater, at: daysAgo(1) }]) +
        makeCrl(impostor, [{ cert: signer, at: daysAgo(1) }]),
    );
    const config = Object.assign(new DocumentsConfig(), {
      TRUST_ANCHORS: join(dir, 'anchors.pem'),
      TRUST_CRLS: join(dir, 'crls.pem'),
    });
    verifier = new PdfSignatureVerifier(config);
  });
  afterAll(async () => {
    await verifier.onModuleDestroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports a valid, trusted signature with signer, issuer and signing time', async () => {
    const at = new Date(Date.now() - 60_000);
    const r = await verifier.verify(signPdf(minimalPdf(), signer, { signingTime: at }));
    expect(r.signatures).toHaveLength(1);
    expect(r.signature).toMatchObject({
      present: true,
      valid: true,
      trusted: true,
      signer: 'Nguyen Van A',
      issuer: 'Test Government CA',
      coversWholeDocument: true,
    });
    expect(new Date(r.signature.signedAt!).getTime()).toBe(Math.floor(at.getTime() / 1000) * 1000);
    expect(r.signature.problem).toBeUndefined();
  });

  it('accepts ETSI.CAdES.detached', async () => {
    const r = await verifier.verify(signPdf(minimalPdf(), signer, { subFilter: 'ETSI.CAdES.detached' }));
    expect(r.signature).toMatchObject({ valid: true, trusted: true, subFilter: 'ETSI.CAdES.detached' });
  });

  it('reports valid:false when one signed byte changes', async () => {
    const pdf = signPdf(minimalPdf(), signer);
    const i = pdf.indexOf('/Count 0');
    pdf[i + 7] = '1'.charCodeAt(0);
    const r = await verifier.verify(pdf);
    expect(r.signature).toMatchObject({ present: true, valid: false, trusted: false });
    expect(r.signature.problem).toMatch(/digest/);
  });

  it('reports valid:false when the signature bytes are altered', async () => {
    const pdf = signPdf(minimalPdf(), signer);
    const text = pdf.toString('latin1');
    const start = text.lastIndexOf('/Contents <') + 11;
    // Flip a byte near the end of the DER (inside the RSA signature value).
    const der = text.slice(start, start + 16384).replace(/0+$/, '');
    const at = start + der.length - 10;
    pdf[at] = pdf[at] === 0x61 ? 0x62 : 0x61;
    const r = await verifier.verify(pdf);
    expect(r.signature.valid).toBe(false);
  });

  it('reports trusted:false for a certificate from an unknown CA', async () => {
    const rogue = makeCa('Rogue CA');
    const r = await verifier.verify(
      signPdf(minimalPdf(), makeSigner('Mallory', rogue), { extraCerts: [rogue] }),
    );
    expect(r.signature).toMatchObject({ present: true, valid: true, trusted: false, issuer: 'Rogue CA' });
    expect(r.signature.problem).toMatch(/trust anchor/);
  });

  it('reports trusted:false when the certificate was not valid at the signing time', async () => {
    const expired = makeSigner('Expired Signer', ca, {
      notBefore: new Date(Date.now() - 10 * 24 * 3600_000),
      notAfter: new Date(Date.now() - 5 * 24 * 3600_000),
    });
    const r = await verifier.verify(signPdf(minimalPdf(), expired));
    expect(r.signature).toMatchObject({ valid: true, trusted: false });
    expect(r.signature.problem).toMatch(/signing time/);
  });

  it('reports every signature of a file signed by the signer and then by the organization', async () => {
    const org = makeSigner('Van phong Tinh uy', ca);
    const once = signPdf(minimalPdf(), signer, { objectNumber: 3 });
    const twice = signPdf(once, org, { objectNumber: 4 });
    const r = await verifier.verify(twice);
    expect(r.signatures).toHaveLength(2);
    expect(r.signatures.map((s) => s.signer)).toEqual(['Nguyen Van A', 'Van phong Tinh uy']);
    expect(r.signatures.every((s) => s.valid && s.trusted)).toBe(true);
    expect(r.signatures.map((s) => s.coversWholeDocument)).toEqual([false, true]);
    expect(r.signature.signer).toBe('Van phong Tinh uy');

    // Tampering after the last signature (outside both ranges' revisions) breaks the outer one.
    const tampered = Buffer.concat([twice, Buffer.from('garbage', 'latin1')]);
    const t = await verifier.verify(tampered);
    expect(t.signatures[1].valid).toBe(false);
    expect(t.signature.valid).toBe(false);
  });

  it('reports an unsigned PDF as not signed', async () => {
    const r = await verifier.verify(minimalPdf());
    expect(r.signature).toEqual({ present: false, valid: false, trusted: false });
  });

  it('verifies a SignerInfo that names its certificate by subject key identifier', async () => {
    const r = await verifier.verify(signPdfCms(minimalPdf(), { key: signer, sid: 'subjectKeyIdentifier' }));
    expect(r.signature).toMatchObject({ valid: true, trusted: true, signer: 'Nguyen Van A' });
  });

  it("is not valid when the SignerInfo names another's certificate than the key that signed", async () => {
    const other = makeSigner('Other', ca);
    for (const sid of ['issuerSerial', 'subjectKeyIdentifier'] as const) {
      const r = await verifier.verify(
        signPdfCms(minimalPdf(), { key: other, named: signer, sid, certs: [signer, other] }),
      );
      expect(r.signature).toMatchObject({ valid: false, trusted: false, signer: 'Nguyen Van A' });
      expect(r.signature.problem).toMatch(/does not verify/);
    }
  });

  it('accepts a certificate whose extended key usage is emailProtection', async () => {
    const smime = makeSigner('Email Signer', ca, {}, [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', nonRepudiation: true, critical: true },
      { name: 'extKeyUsage', clientAuth: true, emailProtection: true },
    ]);
    const r = await verifier.verify(signPdf(minimalPdf(), smime));
    expect(r.signature).toMatchObject({ valid: true, trusted: true });
  });

  it('checks an expired certificate at the time a trusted timestamp proves', async () => {
    const expired = makeSigner('Expired Signer', ca, { notBefore: daysAgo(10), notAfter: daysAgo(5) });
    const genTime = new Date(Math.floor(daysAgo(7).getTime() / 1000) * 1000);
    const r = await verifier.verify(
      signPdfCms(minimalPdf(), { key: expired, signingTime: daysAgo(7), timestamp: { tsa, genTime } }),
    );
    expect(r.signature).toMatchObject({ valid: true, trusted: true, signedAtSource: 'timestamp' });
    expect(r.signature.signedAt).toBe(genTime.toISOString());
  });

  it('keeps trusting a signature time-stamped before its certificate was revoked', async () => {
    const plain = await verifier.verify(signPdf(minimalPdf(), revokedLater));
    expect(plain.signature).toMatchObject({ valid: true, trusted: false });
    const stamped = await verifier.verify(
      signPdfCms(minimalPdf(), { key: revokedLater, timestamp: { tsa, genTime: daysAgo(2) } }),
    );
    expect(stamped.signature).toMatchObject({ valid: true, trusted: true, signedAtSource: 'timestamp' });
  });

  it('ignores a CRL whose signature does not verify under the issuer (the impostor lists our signer)', async () => {
    const r = await verifier.verify(signPdf(minimalPdf(), signer));
    expect(r.signature).toMatchObject({ valid: true, trusted: true });
  });

  it('refuses to start with a TRUST_CRLS file that holds no CRL', () => {
    writeFileSync(join(dir, 'empty.crl'), 'nothing here');
    expect(
      () =>
        new PdfSignatureVerifier(
          Object.assign(new DocumentsConfig(), { TRUST_CRLS: join(dir, 'empty.crl') }),
        ),
    ).toThrow(/TRUST_CRLS/);
  });
});
