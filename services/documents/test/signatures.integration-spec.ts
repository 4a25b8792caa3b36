import { PdfSignatureVerifier } from '../src/signatures/pdf-signature.verifier';
import { DocumentsConfig } from '../src/config/documents.config';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCa, makeSigner, minimalPdf, signPdf, type TestIdentity } from '@lienthong/testing';

jest.setTimeout(60_000);

/** Real CMS signatures made with a test CA in setup, verified with pkijs and node's X.509. */
describe('PDF signature verification', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lt-sig-'));
  let ca: TestIdentity;
  let signer: TestIdentity;
  let verifier: PdfSignatureVerifier;

  beforeAll(() => {
    ca = makeCa('Test Government CA');
    signer = makeSigner('Nguyen Van A', ca);
    writeFileSync(join(dir, 'anchors.pem'), ca.pem);
    const config = Object.assign(new DocumentsConfig(), { TRUST_ANCHORS: join(dir, 'anchors.pem') });
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
});
