/* CMS signatures built field by field (pkijs structures, node:crypto signing) so tests can make what a
   normal signing library refuses to: a SignerInfo naming one certificate while another key signs, a
   subject-key-identifier sid, an RFC 3161 timestamp token, a CRL. */
import type * as Asn1js from 'asn1js' with { 'resolution-mode': 'import' };
import type * as Pkijs from 'pkijs' with { 'resolution-mode': 'import' };
import forge from 'node-forge';
import { createHash, createPrivateKey, sign } from 'node:crypto';
import { fillSignature, prepareSignature, type TestIdentity } from './pdf-signing';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const asn1js: typeof Asn1js = require('asn1js');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const pkijs: typeof Pkijs = require('pkijs');

const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  timeStampToken: '1.2.840.113549.1.9.16.2.14',
  tstInfo: '1.2.840.113549.1.9.16.1.4',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha256WithRsa: '1.2.840.113549.1.1.11',
};

const algorithm = (oid: string) =>
  new pkijs.AlgorithmIdentifier({ algorithmId: oid, algorithmParams: new asn1js.Null() });
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest();
const toArrayBuffer = (b: Uint8Array) =>
  b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

export function certificateDer(id: TestIdentity): Buffer {
  return Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(id.cert)).getBytes(), 'binary');
}

function pkiCertificate(id: TestIdentity): Pkijs.Certificate {
  return pkijs.Certificate.fromBER(toArrayBuffer(certificateDer(id)));
}

function rsaSha256(key: TestIdentity, data: Uint8Array): Buffer {
  return sign('sha256', data, createPrivateKey(forge.pki.privateKeyToPem(key.key)));
}

export interface CmsSignerOptions {
  /** Whose private key signs. */
  key: TestIdentity;
  /** The certificate the SignerInfo names (default: the key's own). */
  named?: TestIdentity;
  /** How the SignerInfo names it (default issuerAndSerialNumber). */
  sid?: 'issuerSerial' | 'subjectKeyIdentifier';
  /** The CMS certificate set, in this order (default: the named certificate). */
  certs?: TestIdentity[];
  signingTime?: Date;
  /** An RFC 3161 timestamp token over the signature, added as the signature-time-stamp attribute. */
  timestamp?: { tsa: TestIdentity; genTime: Date; certs?: TestIdentity[] };
}

function signedData(
  content: Buffer,
  contentType: string,
  attached: boolean,
  o: CmsSignerOptions,
  /** The content's SHA-256 when it was hashed elsewhere (a large file, streamed). */
  digest?: Buffer,
): Pkijs.ContentInfo {
  const named = o.named ?? o.key;
  const namedCert = pkiCertificate(named);
  const ski = o.sid === 'subjectKeyIdentifier';
  const attributes = [
    new pkijs.Attribute({
      type: OID.contentType,
      values: [new asn1js.ObjectIdentifier({ value: contentType })],
    }),
    new pkijs.Attribute({
      type: OID.messageDigest,
      values: [new asn1js.OctetString({ valueHex: digest ?? sha256(content) })],
    }),
  ];
  if (o.signingTime) {
    attributes.push(
      new pkijs.Attribute({
        type: OID.signingTime,
        values: [new asn1js.UTCTime({ valueDate: o.signingTime })],
      }),
    );
  }
  const signedAttrs = new pkijs.SignedAndUnsignedAttributes({ type: 0, attributes });
  // What is signed is the attributes' DER with the SET OF tag instead of the [0] it is stored under.
  const toSign = new Uint8Array(signedAttrs.toSchema().toBER());
  toSign[0] = 0x31;
  const signature = rsaSha256(o.key, toSign);
  const signerInfo = new pkijs.SignerInfo({
    version: ski ? 3 : 1,
    sid: ski
      ? new asn1js.Primitive({
          idBlock: { tagClass: 3, tagNumber: 0 },
          valueHex: createHash('sha1')
            .update(namedCert.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView)
            .digest(),
        })
      : new pkijs.IssuerAndSerialNumber({ issuer: namedCert.issuer, serialNumber: namedCert.serialNumber }),
    digestAlgorithm: algorithm(OID.sha256),
    signedAttrs,
    signatureAlgorithm: algorithm(OID.sha256WithRsa),
    signature: new asn1js.OctetString({ valueHex: signature }),
  });
  if (o.timestamp) {
    signerInfo.unsignedAttrs = new pkijs.SignedAndUnsignedAttributes({
      type: 1,
      attributes: [
        new pkijs.Attribute({
          type: OID.timeStampToken,
          values: [timestampToken(signature, o.timestamp).toSchema()],
        }),
      ],
    });
  }
  const sd = new pkijs.SignedData({
    version: ski ? 3 : 1,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({
      eContentType: contentType,
      ...(attached ? { eContent: new asn1js.OctetString({ valueHex: content }) } : {}),
    }),
    digestAlgorithms: [algorithm(OID.sha256)],
    certificates: (o.certs ?? [named]).map(pkiCertificate),
    signerInfos: [signerInfo],
  });
  return new pkijs.ContentInfo({ contentType: OID.signedData, content: sd.toSchema(true) });
}

let tsaSerial = 1;
/** An RFC 3161 TimeStampToken whose imprint is the SHA-256 of `signature`. */
function timestampToken(
  signature: Uint8Array,
  t: { tsa: TestIdentity; genTime: Date; certs?: TestIdentity[] },
): Pkijs.ContentInfo {
  const tst = new pkijs.TSTInfo({
    version: 1,
    policy: '1.3.6.1.4.1.99999.1.1',
    messageImprint: new pkijs.MessageImprint({
      hashAlgorithm: algorithm(OID.sha256),
      hashedMessage: new asn1js.OctetString({ valueHex: sha256(signature) }),
    }),
    serialNumber: new asn1js.Integer({ value: tsaSerial++ }),
    genTime: t.genTime,
  });
  const der = Buffer.from(tst.toSchema().toBER());
  return signedData(der, OID.tstInfo, true, { key: t.tsa, certs: t.certs ?? [t.tsa] });
}

/** A PDF signed with a CMS SignedData built from `o` (see CmsSignerOptions). */
export function signPdfCms(
  pdf: Buffer,
  o: CmsSignerOptions & { objectNumber?: number; subFilter?: string },
): Buffer {
  const { file, signed, contentsStart } = prepareSignature(pdf, o);
  const cms = signedData(signed, OID.data, false, { signingTime: new Date(), ...o });
  return fillSignature(file, contentsStart, Buffer.from(cms.toSchema().toBER()));
}

/**
 * The DER of a detached CMS signature for content whose SHA-256 is `digest` (a file too large to hold:
 * the caller hashes the signed ranges while writing it).
 */
export function detachedCmsForDigest(digest: Buffer, o: CmsSignerOptions): Buffer {
  const cms = signedData(Buffer.alloc(0), OID.data, false, { signingTime: new Date(), ...o }, digest);
  return Buffer.from(cms.toSchema().toBER());
}

/** A CRL issued and signed by `ca`, listing `revoked` with their revocation dates, as PEM. */
export function makeCrl(ca: TestIdentity, revoked: { cert: TestIdentity; at: Date }[]): string {
  const caCert = pkiCertificate(ca);
  const now = Date.now();
  const crl = new pkijs.CertificateRevocationList({
    version: 1,
    signature: algorithm(OID.sha256WithRsa),
    signatureAlgorithm: algorithm(OID.sha256WithRsa),
    issuer: caCert.subject,
    thisUpdate: new pkijs.Time({ type: 0, value: new Date(now - 3600_000) }),
    nextUpdate: new pkijs.Time({ type: 0, value: new Date(now + 7 * 24 * 3600_000) }),
    revokedCertificates: revoked.map(
      (r) =>
        new pkijs.RevokedCertificate({
          userCertificate: pkiCertificate(r.cert).serialNumber,
          revocationDate: new pkijs.Time({ type: 0, value: r.at }),
        }),
    ),
  });
  // encodeTBS is protected in the typings; it is what CertificateRevocationList.sign() itself uses.
  const tbs = (crl as unknown as { encodeTBS(): Asn1js.Sequence }).encodeTBS();
  crl.tbsView = new Uint8Array(tbs.toBER());
  crl.signatureValue = new asn1js.BitString({ valueHex: rsaSha256(ca, crl.tbsView) });
  const b64 = Buffer.from(crl.toSchema().toBER()).toString('base64');
  return `-----BEGIN X509 CRL-----\n${b64.replace(/(.{64})/g, '$1\n')}\n-----END X509 CRL-----\n`;
}
