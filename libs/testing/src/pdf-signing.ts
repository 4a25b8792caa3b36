import forge from 'node-forge';
import { generateKeyPairSync } from 'node:crypto';

/** A test PKI made in setup: real RSA keys, X.509 certificates and CMS signatures (node-forge). */
export interface TestIdentity {
  key: forge.pki.rsa.PrivateKey;
  cert: forge.pki.Certificate;
  pem: string;
}

function rsaKeys() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKey: forge.pki.privateKeyFromPem(
      privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
    ) as forge.pki.rsa.PrivateKey,
    publicKey: forge.pki.publicKeyFromPem(
      publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    ) as forge.pki.rsa.PublicKey,
  };
}

let serial = 1;
function certificate(
  subjectCn: string,
  publicKey: forge.pki.rsa.PublicKey,
  issuer: { cn: string; key: forge.pki.rsa.PrivateKey } | null,
  selfKey: forge.pki.rsa.PrivateKey,
  opts: { ca: boolean; notBefore?: Date; notAfter?: Date; extensions?: object[] },
): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = (0x1000 + serial++).toString(16);
  cert.validity.notBefore = opts.notBefore ?? new Date(Date.now() - 24 * 3600_000);
  cert.validity.notAfter = opts.notAfter ?? new Date(Date.now() + 365 * 24 * 3600_000);
  cert.setSubject([
    { name: 'commonName', value: subjectCn },
    { name: 'countryName', value: 'VN' },
  ]);
  cert.setIssuer([
    { name: 'commonName', value: issuer?.cn ?? subjectCn },
    { name: 'countryName', value: 'VN' },
  ]);
  cert.setExtensions(
    opts.extensions ??
      (opts.ca
        ? [
            { name: 'basicConstraints', cA: true, critical: true },
            { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
          ]
        : [
            { name: 'basicConstraints', cA: false },
            { name: 'keyUsage', digitalSignature: true, nonRepudiation: true, critical: true },
          ]),
  );
  cert.sign(issuer?.key ?? selfKey, forge.md.sha256.create());
  return cert;
}

export function makeCa(cn: string, validity: { notBefore?: Date; notAfter?: Date } = {}): TestIdentity {
  const { privateKey, publicKey } = rsaKeys();
  const cert = certificate(cn, publicKey, null, privateKey, { ca: true, ...validity });
  return { key: privateKey, cert, pem: forge.pki.certificateToPem(cert) };
}

/**
 * A certificate issued by `ca`. `extensions` (node-forge extension objects) replace the default
 * `basicConstraints cA:false, keyUsage digitalSignature+nonRepudiation`, e.g. to give a wrong key usage.
 */
export function makeSigner(
  cn: string,
  ca: TestIdentity,
  validity: { notBefore?: Date; notAfter?: Date } = {},
  extensions?: object[],
): TestIdentity {
  const { privateKey, publicKey } = rsaKeys();
  const caCn = ca.cert.subject.getField('CN').value as string;
  const cert = certificate(cn, publicKey, { cn: caCn, key: ca.key }, privateKey, {
    ca: false,
    ...validity,
    extensions,
  });
  return { key: privateKey, cert, pem: forge.pki.certificateToPem(cert) };
}

const CONTENTS_HEX_LENGTH = 16384;
const RANGE_PLACEHOLDER = '[0 0000000000 0000000000 0000000000]';

/** A minimal PDF (one empty page tree) to sign. */
export function minimalPdf(text = 'Quyết định'): Buffer {
  return Buffer.from(
    [
      '%PDF-1.7',
      '%\u00e2\u00e3\u00cf\u00d3',
      '1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj',
      '2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj',
      `5 0 obj << /Title (${Buffer.from(text, 'utf8').toString('hex')}) >> endobj`,
      'trailer << /Root 1 0 R /Info 5 0 R >>',
      '%%EOF',
      '',
    ].join('\n'),
    'latin1',
  );
}

/**
 * Appends a signature dictionary as an incremental update (`objectNumber` distinguishes several) and
 * signs the whole result except the Contents hole with a CMS detached signature.
 */
export function signPdf(
  pdf: Buffer,
  signer: TestIdentity,
  opts: { objectNumber?: number; subFilter?: string; signingTime?: Date; extraCerts?: TestIdentity[] } = {},
): Buffer {
  const { file, signed, contentsStart } = prepareSignature(pdf, opts);
  const p7 = forge.pkcs7.createSignedData();
  p7.content = forge.util.createBuffer(signed.toString('binary'));
  p7.addCertificate(signer.cert);
  for (const c of opts.extraCerts ?? []) p7.addCertificate(c.cert);
  p7.addSigner({
    key: signer.key,
    certificate: signer.cert,
    digestAlgorithm: forge.pki.oids.sha256,
    authenticatedAttributes: [
      { type: forge.pki.oids.contentType, value: forge.pki.oids.data },
      { type: forge.pki.oids.messageDigest },
      { type: forge.pki.oids.signingTime, value: (opts.signingTime ?? new Date()) as unknown as string },
    ],
  });
  p7.sign({ detached: true });
  return fillSignature(file, contentsStart, Buffer.from(forge.asn1.toDer(p7.toAsn1()).getBytes(), 'binary'));
}

/**
 * Appends a signature dictionary with an empty Contents hole and a ByteRange around it; `signed` is what
 * the signature must cover.
 */
export function prepareSignature(
  pdf: Buffer,
  opts: { objectNumber?: number; subFilter?: string } = {},
): { file: Buffer; signed: Buffer; contentsStart: number } {
  const subFilter = opts.subFilter ?? 'adbe.pkcs7.detached';
  const dict =
    `${opts.objectNumber ?? 3} 0 obj << /Type /Sig /Filter /Adobe.PPKLite /SubFilter /${subFilter} ` +
    `/ByteRange ${RANGE_PLACEHOLDER} /Contents <${'0'.repeat(CONTENTS_HEX_LENGTH)}> /M (D:20261120090000+07'00') >> endobj\n`;
  const update = Buffer.from(`${dict}trailer << /Root 1 0 R >>\n%%EOF\n`, 'latin1');
  const file = Buffer.concat([pdf, update]);
  const text = file.toString('latin1');
  const contentsStart = text.lastIndexOf('/Contents <') + '/Contents '.length;
  const contentsEnd = contentsStart + CONTENTS_HEX_LENGTH + 2;
  const range = `[0 ${contentsStart} ${contentsEnd} ${file.length - contentsEnd}]`;
  const rangeAt = text.lastIndexOf(RANGE_PLACEHOLDER);
  file.write(range.slice(0, -1).padEnd(RANGE_PLACEHOLDER.length - 1, ' ') + ']', rangeAt, 'latin1');
  const signed = Buffer.concat([file.subarray(0, contentsStart), file.subarray(contentsEnd)]);
  return { file, signed, contentsStart };
}

/** Writes the DER of a CMS signature into the hole left by prepareSignature. */
export function fillSignature(file: Buffer, contentsStart: number, cmsDer: Buffer): Buffer {
  const der = cmsDer.toString('hex');
  if (der.length > CONTENTS_HEX_LENGTH) throw new Error('signature larger than the placeholder');
  const out = Buffer.from(file);
  out.write(der.padEnd(CONTENTS_HEX_LENGTH, '0'), contentsStart + 1, 'latin1');
  return out;
}
