import { Injectable, Logger } from '@nestjs/common';
import { createHash, webcrypto, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { asn1js, pkijs, type Asn1js, type Pkijs } from './pki';
import { DocumentsConfig } from '../config/documents.config';

export interface SignatureReport {
  present: boolean;
  valid: boolean;
  trusted: boolean;
  signer?: string;
  issuer?: string;
  signedAt?: string;
  subFilter?: string;
  /** The byte range covers the whole file except the signature (false for a signature of an earlier revision). */
  coversWholeDocument?: boolean;
  problem?: string;
}

export interface VerificationResult {
  /** The overall answer shown as `signature`: the first problem found, else the last (outermost) signature. */
  signature: SignatureReport;
  signatures: SignatureReport[];
}

const SUPPORTED_SUBFILTERS = ['adbe.pkcs7.detached', 'ETSI.CAdES.detached'];
const OID_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
const OID_SIGNING_TIME = '1.2.840.113549.1.9.5';
const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
const DIGESTS: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};

pkijs.setEngine('node', new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as never }));

/**
 * Verifies PAdES / CMS detached signatures in a PDF: every signature dictionary found is checked for byte
 * range coverage, message digest, CMS signature, certificate chain to TRUST_ANCHORS and the certificates'
 * validity at the signing time.
 */
@Injectable()
export class PdfSignatureVerifier {
  private readonly logger = new Logger(PdfSignatureVerifier.name);
  private readonly anchors: X509Certificate[];

  constructor(config: DocumentsConfig) {
    this.anchors = config.TRUST_ANCHORS
      ? loadPemCertificates(readFileSync(config.TRUST_ANCHORS, 'utf8'))
      : [];
    if (config.TRUST_ANCHORS && this.anchors.length === 0) {
      throw new Error(`TRUST_ANCHORS: no PEM certificate in ${config.TRUST_ANCHORS}`);
    }
    if (!config.TRUST_ANCHORS)
      this.logger.warn('TRUST_ANCHORS unset: no signature will be reported as trusted');
  }

  async verify(pdf: Buffer): Promise<VerificationResult> {
    const found = findSignatures(pdf);
    if (found.length === 0) {
      const none = { present: false, valid: false, trusted: false };
      return { signature: none, signatures: [] };
    }
    const signatures: SignatureReport[] = [];
    for (const s of found) signatures.push(await this.verifyOne(pdf, s));
    // Earlier signatures sign earlier revisions; the last one must cover the whole file, or bytes were
    // appended after the last signature.
    const last = signatures[signatures.length - 1];
    if (last.valid && last.coversWholeDocument === false) {
      signatures[signatures.length - 1] = {
        ...last,
        valid: false,
        trusted: false,
        problem: 'the file was changed after the last signature',
      };
    }
    const overall = signatures.find((s) => !s.valid || !s.trusted) ?? signatures[signatures.length - 1];
    return { signature: overall, signatures };
  }

  private async verifyOne(pdf: Buffer, s: FoundSignature): Promise<SignatureReport> {
    const report: SignatureReport = { present: true, valid: false, trusted: false, subFilter: s.subFilter };
    if (s.problem) return { ...report, problem: s.problem };
    if (!s.subFilter || !SUPPORTED_SUBFILTERS.includes(s.subFilter)) {
      return { ...report, problem: `unsupported SubFilter ${s.subFilter ?? '(none)'}` };
    }
    const [a, b, c, d] = s.byteRange;
    // The range must start at 0, leave exactly the Contents string out, and run to the end of the file
    // (or to the end of an earlier revision, for a signature later followed by incremental updates).
    const end = c + d;
    if (a !== 0 || b < 0 || c < a + b || end > pdf.length)
      return { ...report, problem: 'byte range is malformed' };
    if (c !== s.contentsEnd || a + b !== s.contentsStart) {
      return { ...report, problem: 'byte range does not exclude exactly the signature contents' };
    }
    report.coversWholeDocument = end === pdf.length;
    if (
      !report.coversWholeDocument &&
      !/%%EOF\s*$/.test(pdf.subarray(Math.max(0, end - 32), end).toString('latin1'))
    ) {
      return { ...report, problem: 'byte range does not cover the whole file' };
    }
    const signed = Buffer.concat([pdf.subarray(a, a + b), pdf.subarray(c, c + d)]);

    let signedData: Pkijs.SignedData;
    try {
      const der = hexToDer(s.contentsHex);
      const info = pkijs.ContentInfo.fromBER(der);
      if (info.contentType !== OID_SIGNED_DATA)
        return { ...report, problem: 'Contents is not a CMS SignedData' };
      signedData = new pkijs.SignedData({ schema: info.content });
    } catch {
      return { ...report, problem: 'Contents is not valid CMS' };
    }
    const signerInfo = signedData.signerInfos[0];
    if (!signerInfo) return { ...report, problem: 'no signer in CMS' };
    const certs = (signedData.certificates ?? []).filter(
      (x): x is Pkijs.Certificate => x instanceof pkijs.Certificate,
    );
    const x509s = certs.map((x) => new X509Certificate(Buffer.from(x.toSchema().toBER(false))));
    const signerCert = findSignerCertificate(signerInfo, certs, x509s);
    if (signerCert) {
      report.signer = commonName(signerCert.subject);
      report.issuer = commonName(signerCert.issuer);
    }
    const attrs = signerInfo.signedAttrs?.attributes ?? [];
    const signingTimeAttr = attrs.find((x) => x.type === OID_SIGNING_TIME);
    const signedAt = signingTimeAttr ? asn1Time(signingTimeAttr.values[0]) : undefined;
    if (signedAt) report.signedAt = signedAt.toISOString();

    const digestName = DIGESTS[signerInfo.digestAlgorithm.algorithmId];
    if (!digestName)
      return { ...report, problem: `unsupported digest ${signerInfo.digestAlgorithm.algorithmId}` };
    const mdAttr = attrs.find((x) => x.type === OID_MESSAGE_DIGEST);
    if (mdAttr) {
      const expected = Buffer.from((mdAttr.values[0] as Asn1js.OctetString).valueBlock.valueHexView);
      const actual = createHash(digestName).update(signed).digest();
      if (!expected.equals(actual))
        return { ...report, problem: 'message digest does not match the signed bytes' };
    }
    try {
      const ok = await signedData.verify({
        signer: 0,
        data: signed.buffer.slice(signed.byteOffset, signed.byteOffset + signed.byteLength) as ArrayBuffer,
        checkChain: false,
        extendedMode: true,
      });
      if (!ok.signatureVerified) return { ...report, problem: 'CMS signature does not verify' };
    } catch (e) {
      return {
        ...report,
        problem: `CMS signature does not verify: ${(e as { message?: string }).message ?? 'error'}`,
      };
    }
    report.valid = true;
    if (!signerCert) return { ...report, problem: 'signer certificate not included' };
    const at = signedAt ?? new Date();
    const chain = this.chainToAnchor(signerCert, x509s, at);
    if (chain !== true) return { ...report, problem: chain };
    report.trusted = true;
    return report;
  }

  /** true when a path from the signer to a trust anchor exists and every certificate was valid at `at`. */
  private chainToAnchor(cert: X509Certificate, pool: X509Certificate[], at: Date): true | string {
    const validAt = (c: X509Certificate) => new Date(c.validFrom) <= at && at <= new Date(c.validTo);
    if (!validAt(cert)) return 'signer certificate was not valid at the signing time';
    let current = cert;
    for (let depth = 0; depth < 10; depth++) {
      const anchor = this.anchors.find((t) => current.checkIssued(t) && current.verify(t.publicKey));
      if (anchor) return validAt(anchor) ? true : 'trust anchor was not valid at the signing time';
      if (this.anchors.some((t) => t.fingerprint256 === current.fingerprint256)) return true;
      const issuer = pool.find(
        (p) =>
          p.fingerprint256 !== current.fingerprint256 &&
          current.checkIssued(p) &&
          current.verify(p.publicKey) &&
          p.ca,
      );
      if (!issuer) return 'certificate does not chain to a trust anchor';
      if (!validAt(issuer)) return 'an issuing certificate was not valid at the signing time';
      current = issuer;
    }
    return 'certificate chain too long';
  }
}

interface FoundSignature {
  byteRange: number[];
  contentsHex: string;
  contentsStart: number;
  contentsEnd: number;
  subFilter?: string;
  problem?: string;
}

/**
 * Finds signature dictionaries by their /ByteRange entries; /Contents and /SubFilter are taken from the
 * same dictionary (the text between the enclosing `<<` and `>>` around the ByteRange).
 */
export function findSignatures(pdf: Buffer): FoundSignature[] {
  const text = pdf.toString('latin1');
  const out: FoundSignature[] = [];
  const re = /\/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const byteRange = m.slice(1, 5).map(Number);
    const dictStart = text.lastIndexOf('<<', m.index);
    const contentsRe = /\/Contents\s*<([0-9A-Fa-f\s]*)>/g;
    // The Contents string sits inside this dictionary, either before or after the ByteRange.
    contentsRe.lastIndex = Math.max(0, dictStart);
    let contents: RegExpExecArray | null = null;
    for (let c = contentsRe.exec(text); c; c = contentsRe.exec(text)) {
      if (c.index > m.index + 200_000) break;
      const between = text.slice(Math.min(c.index, m.index), Math.max(c.index, m.index));
      if (!between.includes('/ByteRange') || c.index > m.index) {
        contents = c;
        break;
      }
    }
    const window = text.slice(
      Math.max(0, dictStart),
      (contents ? contents.index + contents[0].length : m.index) + 2000,
    );
    const sub = /\/SubFilter\s*\/([A-Za-z0-9.#_-]+)/.exec(window);
    if (!contents) {
      out.push({
        byteRange,
        contentsHex: '',
        contentsStart: -1,
        contentsEnd: -1,
        subFilter: sub?.[1],
        problem: 'no /Contents',
      });
      continue;
    }
    const openAngle = contents.index + contents[0].indexOf('<');
    out.push({
      byteRange,
      contentsHex: contents[1].replace(/\s+/g, ''),
      contentsStart: openAngle,
      contentsEnd: openAngle + contents[1].length + 2,
      subFilter: sub?.[1],
    });
  }
  return out;
}

/** Contents is zero-padded after the DER; keep only the outer TLV's length. */
function hexToDer(hex: string): ArrayBuffer {
  const bytes = Buffer.from(hex.length % 2 ? `${hex}0` : hex, 'hex');
  const asn = asn1js.fromBER(bytes);
  if (asn.offset === -1) throw new Error('bad DER');
  const der = bytes.subarray(0, asn.offset);
  return der.buffer.slice(der.byteOffset, der.byteOffset + der.byteLength) as ArrayBuffer;
}

function findSignerCertificate(
  si: Pkijs.SignerInfo,
  certs: Pkijs.Certificate[],
  x509s: X509Certificate[],
): X509Certificate | undefined {
  if (si.sid instanceof pkijs.IssuerAndSerialNumber) {
    const sid = si.sid;
    const i = certs.findIndex(
      (c) => c.issuer.isEqual(sid.issuer) && c.serialNumber.isEqual(sid.serialNumber),
    );
    return i >= 0 ? x509s[i] : undefined;
  }
  return x509s.find((x) => !x.ca) ?? x509s[0];
}

function asn1Time(v: unknown): Date | undefined {
  if (v instanceof asn1js.UTCTime || v instanceof asn1js.GeneralizedTime) return v.toDate();
  return undefined;
}

function commonName(dn: string): string {
  const cn = dn.split('\n').find((l) => l.startsWith('CN='));
  return cn ? cn.slice(3) : dn.replace(/\n/g, ', ');
}

export function loadPemCertificates(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}
