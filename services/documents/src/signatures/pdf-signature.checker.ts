import { constants, createHash, verify as verifyWithKey, X509Certificate, type KeyObject } from 'node:crypto';
import { preparePdfBuffer, type PreparedPdf, type PreparedSignature } from './pdf-prepare';
import { asn1js, pkijs, type Asn1js, type Pkijs } from './pki';
import { NOT_SIGNED, unverified, type SignatureReport, type VerificationResult } from './signature-report';
import { toArrayBuffer, type TrustMaterial } from './trust-store';

const SUPPORTED_SUBFILTERS = ['adbe.pkcs7.detached', 'ETSI.CAdES.detached'];
const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  timeStampToken: '1.2.840.113549.1.9.16.2.14',
  tstInfo: '1.2.840.113549.1.9.16.1.4',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectKeyIdentifier: '2.5.29.14',
  rsassaPss: '1.2.840.113549.1.1.10',
  ed25519: '1.3.101.112',
  timeStamping: '1.3.6.1.5.5.7.3.8',
} as const;

/**
 * Extended key usages that allow signing documents when a certificate restricts its purposes. Decided:
 * id-kp-documentSigning (RFC 9336) is the purpose made for this; emailProtection is what the Vietnamese
 * personal signing certificates (and S/MIME-style CMS signers generally) carry; Microsoft Document
 * Signing and Adobe Authentic Documents Trust are the purposes of the common PDF tools' certificates;
 * anyExtendedKeyUsage lifts the restriction. clientAuth, serverAuth, codeSigning, timeStamping and OCSP
 * signing alone do not.
 */
export const DOCUMENT_SIGNING_PURPOSES: Record<string, string> = {
  '1.3.6.1.5.5.7.3.36': 'id-kp-documentSigning',
  '1.3.6.1.5.5.7.3.4': 'emailProtection',
  '1.3.6.1.4.1.311.10.3.12': 'Microsoft Document Signing',
  '1.2.840.113583.1.1.5': 'Adobe Authentic Documents Trust',
  '2.5.29.37.0': 'anyExtendedKeyUsage',
};

const DIGESTS: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.4': 'sha224',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
/** Signature algorithms that name their hash; `rsaEncryption` and `id-ecPublicKey` take the SignerInfo's. */
const RSA_PKCS1: Record<string, string | null> = {
  '1.2.840.113549.1.1.1': null,
  '1.2.840.113549.1.1.5': 'sha1',
  '1.2.840.113549.1.1.14': 'sha224',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};
const ECDSA: Record<string, string | null> = {
  '1.2.840.10045.2.1': null,
  '1.2.840.10045.4.1': 'sha1',
  '1.2.840.10045.4.3.1': 'sha224',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};
/** A timestamp more than this far in the future (clock skew) is not believed. */
const MAX_CLOCK_SKEW_MS = 5 * 60_000;
const MAX_CHAIN_LENGTH = 10;

interface Cert {
  x509: X509Certificate;
  cert: Pkijs.Certificate;
}

type SignerCheck = { ok: true; signer: Cert } | { ok: false; signer?: Cert; problem: string };

export interface CheckOptions {
  maxSignatures: number;
  /** Verification time (tests pass a fixed one); defaults to now. */
  now?: Date;
}

/**
 * Verifies PAdES / CMS detached signatures in a PDF, synchronously (it runs in a worker thread). For each
 * signature dictionary: byte range coverage, the certificate the SignerInfo identifies (issuer and serial,
 * or subject key identifier), message digest and the signature under that certificate's own key; then
 * trust: key usage fit for signing documents, chain to a configured anchor, CRLs, and validity at the
 * signing time when an RFC 3161 timestamp chained to the anchors proves it, else at verification time.
 */
export class PdfSignatureChecker {
  private readonly anchors: Cert[];
  private readonly crls: Pkijs.CertificateRevocationList[];
  /** `crl index:issuer fingerprint` → whether that CRL's signature verifies under that issuer's key. */
  private readonly crlSignedBy = new Map<string, boolean>();

  constructor(trust: TrustMaterial) {
    this.anchors = trust.anchors.map((der) => parseCertificate(der));
    this.crls = trust.crls.map((der) => pkijs.CertificateRevocationList.fromBER(toArrayBuffer(der)));
  }

  verify(pdf: Buffer, opts: CheckOptions): VerificationResult {
    return this.verifyPrepared(preparePdfBuffer(pdf, opts.maxSignatures), opts);
  }

  /**
   * Checks what preparePdf read of a file (its signature dictionaries, the digests of their signed ranges):
   * the same verdicts as for the file itself, without it.
   */
  verifyPrepared(pdf: PreparedPdf, opts: CheckOptions): VerificationResult {
    const now = opts.now ?? new Date();
    const { signatures: found, count } = pdf;
    if (count === 0) return { signature: NOT_SIGNED, signatures: [] };
    if (count > opts.maxSignatures) {
      return unverified(`the file holds more than ${opts.maxSignatures} signatures; none was verified`);
    }
    const signatures = found.map((s) => this.verifyOne(pdf.size, s, now));
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

  private verifyOne(size: number, s: PreparedSignature, now: Date): SignatureReport {
    const report: SignatureReport = { present: true, valid: false, trusted: false, subFilter: s.subFilter };
    if (s.problem) return { ...report, problem: s.problem };
    if (!s.subFilter || !SUPPORTED_SUBFILTERS.includes(s.subFilter)) {
      return { ...report, problem: `unsupported SubFilter ${s.subFilter ?? '(none)'}` };
    }
    const [a, b, c, d] = s.byteRange;
    // The range must start at 0, leave exactly the Contents string out, and run to the end of the file
    // (or to the end of an earlier revision, for a signature later followed by incremental updates).
    const end = c + d;
    if (a !== 0 || b < 0 || c < a + b || d < 0 || end > size)
      return { ...report, problem: 'byte range is malformed' };
    if (c !== s.contentsEnd || a + b !== s.contentsStart) {
      return { ...report, problem: 'byte range does not exclude exactly the signature contents' };
    }
    report.coversWholeDocument = end === size;
    if (!report.coversWholeDocument && !/%%EOF\s*$/.test(s.tail ?? '')) {
      return { ...report, problem: 'byte range does not cover the whole file' };
    }
    const digests = s.digests;
    if (!digests) return { ...report, problem: 'byte range is malformed' };
    const signed = (name: string) => Buffer.from(digests[name] ?? '', 'hex');

    let signedData: Pkijs.SignedData;
    try {
      signedData = parseSignedData(hexToDer(s.contentsHex));
    } catch (e) {
      return { ...report, problem: (e as Error).message };
    }
    if (signedData.signerInfos.length !== 1)
      return { ...report, problem: `CMS holds ${signedData.signerInfos.length} signers; one is expected` };
    if (signedData.encapContentInfo.eContentType !== OID.data || signedData.encapContentInfo.eContent)
      return { ...report, problem: 'CMS is not a detached signature of data' };
    const signerInfo = signedData.signerInfos[0];
    const pool = certificatesOf(signedData);
    const check = checkSignerInfo(signerInfo, pool, signed, OID.data);
    if (check.signer) {
      report.signer = commonName(check.signer.x509.subject);
      report.issuer = commonName(check.signer.x509.issuer);
    }
    const claimed = attribute(signerInfo.signedAttrs, OID.signingTime);
    const claimedAt = claimed ? asn1Time(claimed) : undefined;
    if (claimedAt) {
      report.signedAt = claimedAt.toISOString();
      report.signedAtSource = 'claimed';
    }
    if (!check.ok) return { ...report, problem: check.problem };
    report.valid = true;

    const stamp = this.timestamp(signerInfo, now);
    if (stamp.time) {
      report.signedAt = stamp.time.toISOString();
      report.signedAtSource = 'timestamp';
    }
    const usage = documentSigningProblem(check.signer.cert);
    if (usage) return { ...report, problem: usage };
    const chain = this.chainToAnchor(check.signer, pool, stamp.time ?? now, stamp.time !== undefined);
    if (chain !== true) {
      const note = stamp.problem ? ` (the signature timestamp was not accepted: ${stamp.problem})` : '';
      return { ...report, problem: chain + note };
    }
    report.trusted = true;
    return report;
  }

  /**
   * The RFC 3161 token in the signature-time-stamp unsigned attribute, if any: its imprint must be the hash
   * of this SignerInfo's signature, its own signature must verify, and its TSA certificate must be a
   * time-stamping certificate chained to the anchors. Anything else leaves the signing time unproven.
   */
  private timestamp(si: Pkijs.SignerInfo, now: Date): { time?: Date; problem?: string } {
    const token = attribute(si.unsignedAttrs, OID.timeStampToken);
    if (!token) return {};
    let tsd: Pkijs.SignedData;
    let tst: Pkijs.TSTInfo;
    let content: Buffer;
    try {
      tsd = parseSignedData(toArrayBuffer(new Uint8Array(token.toBER(false))));
      const eContent = tsd.encapContentInfo.eContent;
      if (tsd.encapContentInfo.eContentType !== OID.tstInfo || !eContent) return { problem: 'not a TSTInfo' };
      content = Buffer.from(eContent.getValue());
      tst = pkijs.TSTInfo.fromBER(toArrayBuffer(content));
    } catch {
      return { problem: 'the token is malformed' };
    }
    const imprintDigest = DIGESTS[tst.messageImprint.hashAlgorithm.algorithmId];
    if (!imprintDigest) return { problem: 'unsupported imprint digest' };
    const imprint = createHash(imprintDigest).update(si.signature.valueBlock.valueHexView).digest();
    if (!imprint.equals(Buffer.from(tst.messageImprint.hashedMessage.valueBlock.valueHexView)))
      return { problem: 'it does not stamp this signature' };
    if (tsd.signerInfos.length !== 1) return { problem: 'it must have one signer' };
    const pool = certificatesOf(tsd);
    const check = checkSignerInfo(tsd.signerInfos[0], pool, content, OID.tstInfo);
    if (!check.ok) return { problem: check.problem };
    const ekus = extendedKeyUsages(check.signer.cert);
    if (!ekus?.includes(OID.timeStamping)) return { problem: 'its certificate is not for time-stamping' };
    if (tst.genTime.getTime() > now.getTime() + MAX_CLOCK_SKEW_MS) return { problem: 'it is in the future' };
    const chain = this.chainToAnchor(check.signer, pool, tst.genTime, true);
    if (chain !== true) return { problem: `time-stamping authority: ${chain}` };
    return { time: tst.genTime };
  }

  /**
   * true when a path from `cert` to a trust anchor exists, every certificate on it was valid at `at` and
   * none is revoked by a configured CRL (as of `at` when `proven`, else at all). `proven` says whether `at`
   * is a time proven by a timestamp or simply now.
   */
  private chainToAnchor(cert: Cert, pool: Cert[], at: Date, proven: boolean): true | string {
    const when = proven
      ? 'at the time-stamped signing time'
      : 'now (no trusted timestamp proves the signing time)';
    const validAt = (c: Cert) => new Date(c.x509.validFrom) <= at && at <= new Date(c.x509.validTo);
    if (!validAt(cert)) return `signer certificate is not valid ${when}`;
    const path: Cert[] = [cert];
    let current = cert;
    for (let depth = 0; depth < MAX_CHAIN_LENGTH; depth++) {
      if (this.anchors.some((t) => t.x509.fingerprint256 === current.x509.fingerprint256)) {
        return this.revocation(path, undefined, at, proven);
      }
      const anchor = this.anchors.find(
        (t) => current.x509.checkIssued(t.x509) && current.x509.verify(t.x509.publicKey),
      );
      if (anchor) {
        if (!validAt(anchor)) return `trust anchor is not valid ${when}`;
        return this.revocation(path, anchor, at, proven);
      }
      const issuer = pool.find(
        (p) =>
          p.x509.fingerprint256 !== current.x509.fingerprint256 &&
          p.x509.ca &&
          mayIssueCertificates(p.cert) &&
          current.x509.checkIssued(p.x509) &&
          current.x509.verify(p.x509.publicKey),
      );
      if (!issuer) return 'certificate does not chain to a trust anchor';
      if (!validAt(issuer)) return `an issuing certificate is not valid ${when}`;
      path.push(issuer);
      current = issuer;
    }
    return 'certificate chain too long';
  }

  /** Each certificate of the path checked against the CRLs its issuer signed. */
  private revocation(path: Cert[], anchor: Cert | undefined, at: Date, proven: boolean): true | string {
    for (let i = 0; i < path.length; i++) {
      const issuer = path[i + 1] ?? anchor;
      if (!issuer) continue; // the anchor itself
      const revokedOn = this.revokedOn(path[i], issuer);
      // A timestamp proving the signature existed before the revocation keeps it trusted.
      if (revokedOn && !(proven && at < revokedOn)) {
        const who =
          i === 0 ? 'signer certificate' : `issuing certificate ${commonName(path[i].x509.subject)}`;
        return `${who} was revoked on ${revokedOn.toISOString()}`;
      }
    }
    return true;
  }

  private revokedOn(cert: Cert, issuer: Cert): Date | undefined {
    let earliest: Date | undefined;
    this.crls.forEach((crl, index) => {
      if (!crl.issuer.isEqual(cert.cert.issuer) || !this.crlVerifies(crl, index, issuer)) return;
      for (const r of crl.revokedCertificates ?? []) {
        if (!r.userCertificate.isEqual(cert.cert.serialNumber)) continue;
        const on = r.revocationDate.value;
        if (!earliest || on < earliest) earliest = on;
      }
    });
    return earliest;
  }

  private crlVerifies(crl: Pkijs.CertificateRevocationList, index: number, issuer: Cert): boolean {
    const key = `${index}:${issuer.x509.fingerprint256}`;
    let ok = this.crlSignedBy.get(key);
    if (ok === undefined) {
      try {
        ok = verifySignature(
          issuer.x509.publicKey,
          crl.signatureAlgorithm,
          'sha256',
          Buffer.from(crl.tbsView),
          Buffer.from(crl.signatureValue.valueBlock.valueHexView),
        );
      } catch {
        ok = false;
      }
      this.crlSignedBy.set(key, ok);
    }
    return ok;
  }
}

/**
 * The SignerInfo checked against the certificate it identifies, and only that one: the message digest
 * attribute must hash the content, and the signature must verify under that certificate's public key. The
 * content is given whole (a timestamp's TSTInfo) or as its digests (a PDF's signed ranges, hashed while
 * streamed: such a signature must then have signed attributes, as PAdES requires).
 */
function checkSignerInfo(
  si: Pkijs.SignerInfo,
  pool: Cert[],
  content: Buffer | ((digestName: string) => Buffer),
  contentType: string,
): SignerCheck {
  const signer = signerCertificate(si, pool);
  if (!signer) return { ok: false, problem: 'the certificate the SignerInfo names is not in the CMS' };
  const digestName = DIGESTS[si.digestAlgorithm.algorithmId];
  if (!digestName)
    return { ok: false, signer, problem: `unsupported digest ${si.digestAlgorithm.algorithmId}` };
  let data: Buffer;
  if (!si.signedAttrs) {
    if (typeof content === 'function')
      return { ok: false, signer, problem: 'CMS signature without signed attributes' };
    data = content;
  } else {
    const type = attribute(si.signedAttrs, OID.contentType);
    if (!(type instanceof asn1js.ObjectIdentifier) || type.valueBlock.toString() !== contentType)
      return { ok: false, signer, problem: 'content-type attribute is missing or wrong' };
    const md = attribute(si.signedAttrs, OID.messageDigest);
    if (!(md instanceof asn1js.OctetString)) return { ok: false, signer, problem: 'no message digest' };
    const actual =
      typeof content === 'function' ? content(digestName) : createHash(digestName).update(content).digest();
    if (!actual.equals(Buffer.from(md.valueBlock.valueHexView)))
      return { ok: false, signer, problem: 'message digest does not match the signed bytes' };
    // pkijs keeps the attributes' original encoding, retagged as SET OF: exactly what was signed.
    data = Buffer.from(si.signedAttrs.encodedValue);
  }
  try {
    const signature = Buffer.from(si.signature.valueBlock.valueHexView);
    if (!verifySignature(signer.x509.publicKey, si.signatureAlgorithm, digestName, data, signature))
      return { ok: false, signer, problem: 'CMS signature does not verify with the signer certificate' };
  } catch (e) {
    return { ok: false, signer, problem: `CMS signature does not verify: ${(e as Error).message}` };
  }
  return { ok: true, signer };
}

/** RFC 5652 §5.3: `sid` is issuerAndSerialNumber or [0] subjectKeyIdentifier. */
function signerCertificate(si: Pkijs.SignerInfo, pool: Cert[]): Cert | undefined {
  const sid = si.sid as Pkijs.IssuerAndSerialNumber | Asn1js.BaseBlock;
  if (sid instanceof pkijs.IssuerAndSerialNumber) {
    return pool.find(
      (c) => c.cert.issuer.isEqual(sid.issuer) && c.cert.serialNumber.isEqual(sid.serialNumber),
    );
  }
  const block = sid as Asn1js.Constructed & Asn1js.Primitive;
  if (block.idBlock.tagClass !== 3 || block.idBlock.tagNumber !== 0) return undefined;
  const keyId = Buffer.from(
    block.idBlock.isConstructed
      ? (block.valueBlock.value[0] as Asn1js.OctetString).valueBlock.valueHexView
      : block.valueBlock.valueHexView,
  );
  return pool.find((c) => {
    const ski = extension(c.cert, OID.subjectKeyIdentifier);
    if (ski instanceof asn1js.OctetString && keyId.equals(Buffer.from(ski.valueBlock.valueHexView)))
      return true;
    const spk = c.cert.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView;
    return keyId.equals(createHash('sha1').update(spk).digest());
  });
}

function verifySignature(
  key: KeyObject,
  algorithm: Pkijs.AlgorithmIdentifier,
  digestName: string,
  data: Buffer,
  signature: Buffer,
): boolean {
  const oid = algorithm.algorithmId;
  if (oid in RSA_PKCS1) {
    if (key.asymmetricKeyType !== 'rsa') throw new Error('an RSA signature needs an RSA key');
    const hash = RSA_PKCS1[oid] ?? digestName;
    return verifyWithKey(hash, data, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
  }
  if (oid === OID.rsassaPss) {
    const params = new pkijs.RSASSAPSSParams(
      algorithm.algorithmParams ? { schema: algorithm.algorithmParams } : {},
    );
    const hash = DIGESTS[params.hashAlgorithm.algorithmId];
    if (!hash) throw new Error('unsupported RSASSA-PSS hash');
    return verifyWithKey(
      hash,
      data,
      { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: params.saltLength },
      signature,
    );
  }
  if (oid in ECDSA) {
    if (key.asymmetricKeyType !== 'ec') throw new Error('an ECDSA signature needs an EC key');
    return verifyWithKey(ECDSA[oid] ?? digestName, data, key, signature);
  }
  if (oid === OID.ed25519) return verifyWithKey(null, data, key, signature);
  throw new Error(`unsupported signature algorithm ${oid}`);
}

/**
 * Key usage must include digitalSignature or nonRepudiation when present (RFC 5280 §4.2.1.3); extended
 * key usage, when present, must include a document-signing purpose (DOCUMENT_SIGNING_PURPOSES).
 */
export function documentSigningProblem(cert: Pkijs.Certificate): string | undefined {
  const ku = keyUsageBits(cert);
  if (ku && !ku.has(0) && !ku.has(1))
    return 'signer certificate key usage allows neither digitalSignature nor nonRepudiation';
  const ekus = extendedKeyUsages(cert);
  if (ekus && !ekus.some((e) => e in DOCUMENT_SIGNING_PURPOSES))
    return 'signer certificate extended key usage does not include document signing';
  return undefined;
}

/** An intermediate CA must be allowed to sign certificates (keyCertSign, when key usage is present). */
function mayIssueCertificates(cert: Pkijs.Certificate): boolean {
  const ku = keyUsageBits(cert);
  return !ku || ku.has(5);
}

function keyUsageBits(cert: Pkijs.Certificate): Set<number> | undefined {
  const v = extension(cert, OID.keyUsage);
  if (!v) return undefined;
  if (!(v instanceof asn1js.BitString)) return new Set();
  const bytes = v.valueBlock.valueHexView;
  const bits = new Set<number>();
  for (let i = 0; i < bytes.length * 8; i++) if (bytes[i >> 3] & (0x80 >> (i & 7))) bits.add(i);
  return bits;
}

function extendedKeyUsages(cert: Pkijs.Certificate): string[] | undefined {
  const v = extension(cert, OID.extKeyUsage);
  if (!v) return undefined;
  if (!(v instanceof asn1js.Sequence)) return [];
  return v.valueBlock.value
    .filter((x): x is Asn1js.ObjectIdentifier => x instanceof asn1js.ObjectIdentifier)
    .map((x) => x.valueBlock.toString());
}

/** The decoded value of an extension, or undefined when the certificate does not have it. */
function extension(cert: Pkijs.Certificate, oid: string): Asn1js.AsnType | undefined {
  const ext = cert.extensions?.find((e) => e.extnID === oid);
  if (!ext) return undefined;
  const parsed = asn1js.fromBER(ext.extnValue.valueBlock.valueHexView);
  return parsed.offset === -1 ? ({} as Asn1js.AsnType) : parsed.result;
}

function attribute(
  attrs: Pkijs.SignedAndUnsignedAttributes | undefined,
  oid: string,
): Asn1js.AsnType | undefined {
  return (attrs?.attributes ?? []).find((x) => x.type === oid)?.values[0] as Asn1js.AsnType | undefined;
}

function parseSignedData(der: ArrayBuffer): Pkijs.SignedData {
  let info: Pkijs.ContentInfo;
  try {
    info = pkijs.ContentInfo.fromBER(der);
  } catch {
    throw new Error('Contents is not valid CMS');
  }
  if (info.contentType !== OID.signedData) throw new Error('Contents is not a CMS SignedData');
  try {
    return new pkijs.SignedData({ schema: info.content });
  } catch {
    throw new Error('Contents is not valid CMS');
  }
}

function certificatesOf(sd: Pkijs.SignedData): Cert[] {
  const out: Cert[] = [];
  for (const c of sd.certificates ?? []) {
    if (!(c instanceof pkijs.Certificate)) continue;
    try {
      out.push({ cert: c, x509: new X509Certificate(Buffer.from(c.toSchema().toBER(false))) });
    } catch {
      /* a certificate node cannot read is not a candidate for anything */
    }
  }
  return out;
}

function parseCertificate(der: Uint8Array): Cert {
  return { cert: pkijs.Certificate.fromBER(toArrayBuffer(der)), x509: new X509Certificate(der) };
}

/** Contents is zero-padded after the DER; keep only the outer TLV's length. */
function hexToDer(hex: string): ArrayBuffer {
  if (!/^[0-9A-Fa-f]*$/.test(hex)) throw new Error('Contents is not valid CMS');
  const bytes = Buffer.from(hex.length % 2 ? `${hex}0` : hex, 'hex');
  const asn = asn1js.fromBER(bytes);
  if (asn.offset === -1) throw new Error('Contents is not valid CMS');
  return toArrayBuffer(bytes.subarray(0, asn.offset));
}

function asn1Time(v: unknown): Date | undefined {
  if (v instanceof asn1js.UTCTime || v instanceof asn1js.GeneralizedTime) return v.toDate();
  return undefined;
}

function commonName(dn: string): string {
  const cn = dn.split('\n').find((l) => l.startsWith('CN='));
  return cn ? cn.slice(3) : dn.replace(/\n/g, ', ');
}
