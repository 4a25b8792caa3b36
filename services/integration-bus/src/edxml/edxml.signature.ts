import type { Element } from '@xmldom/xmldom';
import { createHash, createPrivateKey, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { SignedXml } from 'xml-crypto';
import { packageParts, XML_DECLARATION } from './edxml.builder';
import type { EdxmlPackage } from './edxml.types';
import { childElements, localName, parseSafeXml } from './safe-xml';

const DSIG_NS = 'http://www.w3.org/2000/09/xmldsig#';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const SHA256 = 'http://www.w3.org/2001/04/xmlenc#sha256';

export interface NodeCredentials {
  certPem: string;
  keyPem: string;
}

export interface SignatureCheck {
  present: boolean;
  valid: boolean;
  trusted: boolean;
  /** Subject of the signing certificate. */
  signer?: string;
  fingerprint?: string;
  problem?: string;
}

function certBase64(pem: string): string {
  return pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}

/**
 * This node's signing key, imported once per credentials object (parsing a PEM RSA key costs more than the
 * signature itself).
 */
class PackageSigner {
  readonly key: KeyObject;
  readonly certificate: string;

  constructor(cred: NodeCredentials) {
    this.key = createPrivateKey(cred.keyPem);
    if (this.key.asymmetricKeyType !== 'rsa')
      throw new Error('the node key must be an RSA key (packages are signed with RSA-SHA256)');
    this.certificate = certBase64(cred.certPem);
  }

  private length?: number;

  /** Bytes of `signature(…)`: the same for every digest, so computed once (it costs one RSA signature). */
  get signatureLength(): number {
    this.length ??= Buffer.byteLength(this.signature(createHash('sha256').digest('base64')), 'utf8');
    return this.length;
  }

  /** The Signature element for a package whose canonical form digests to `digest` (base64). */
  signature(digest: string): string {
    // SignedInfo is written directly in its exclusive-canonical form (c14n of the SignedInfo subtree
    // declares the default namespace on it); that text is what RSA-SHA256 signs.
    const inner =
      `<CanonicalizationMethod Algorithm="${EXC_C14N}"></CanonicalizationMethod>` +
      `<SignatureMethod Algorithm="${RSA_SHA256}"></SignatureMethod>` +
      `<Reference URI=""><Transforms><Transform Algorithm="${ENVELOPED}"></Transform>` +
      `<Transform Algorithm="${EXC_C14N}"></Transform></Transforms>` +
      `<DigestMethod Algorithm="${SHA256}"></DigestMethod><DigestValue>${digest}</DigestValue></Reference>`;
    const canonicalSignedInfo = `<SignedInfo xmlns="${DSIG_NS}">${inner}</SignedInfo>`;
    const value = sign('sha256', Buffer.from(canonicalSignedInfo, 'utf8'), this.key).toString('base64');
    return (
      `<Signature xmlns="${DSIG_NS}"><SignedInfo>${inner}</SignedInfo>` +
      `<SignatureValue>${value}</SignatureValue>` +
      `<KeyInfo><X509Data><X509Certificate>${this.certificate}</X509Certificate></X509Data></KeyInfo></Signature>`
    );
  }
}

const signers = new WeakMap<NodeCredentials, PackageSigner>();

function signerFor(cred: NodeCredentials): PackageSigner {
  let s = signers.get(cred);
  if (!s) signers.set(cred, (s = new PackageSigner(cred)));
  return s;
}

/**
 * The enveloped Signature element for a package (built here, in canonical form) whose canonical form without
 * the signature digests to `digestBase64` (SHA-256). Its length depends only on the key and certificate, so a
 * streaming writer can reserve the space before the digest is known (`signatureLength`).
 */
export function packageSignature(cred: NodeCredentials, digestBase64: string): string {
  return signerFor(cred).signature(digestBase64);
}

/** Bytes of `packageSignature` for these credentials (the same for every digest). */
export function signatureLength(cred: NodeCredentials): number {
  return signerFor(cred).signatureLength;
}

/**
 * Builds and signs a package in one pass: the builder writes the canonical form, so the digest is taken
 * over the built pieces as they are (no parse, no canonicalisation of the package); only SignedInfo is
 * canonical text to sign. The result is the same enveloped XML-DSig as `signPackage` (verified by xml-crypto
 * in the tests), placed after TraceHeaderList.
 */
export function buildSignedPackage(p: EdxmlPackage, cred: NodeCredentials): string {
  const { head, tail } = packageParts(p);
  const hash = createHash('sha256');
  for (const part of head) hash.update(part, 'utf8');
  for (const part of tail) hash.update(part, 'utf8');
  const signature = signerFor(cred).signature(hash.digest('base64'));
  return XML_DECLARATION + head.join('') + signature + tail.join('');
}

/**
 * Enveloped XML-DSig (RSA-SHA256, exclusive c14n) over the whole package, placed after TraceHeaderList.
 * For XML this node did not build (it parses and canonicalises the document); packages built here go
 * through `buildSignedPackage`.
 */
export function signPackage(xml: string, cred: NodeCredentials): string {
  const sig = new SignedXml({
    privateKey: signerFor(cred).key,
    publicCert: cred.certPem,
    signatureAlgorithm: RSA_SHA256,
    canonicalizationAlgorithm: EXC_C14N,
    getKeyInfoContent: () =>
      `<X509Data><X509Certificate>${certBase64(cred.certPem)}</X509Certificate></X509Data>`,
  });
  sig.addReference({
    xpath: '/*',
    transforms: [ENVELOPED, EXC_C14N],
    digestAlgorithm: SHA256,
    isEmptyUri: true,
  });
  sig.computeSignature(xml, {
    location: { reference: "//*[local-name()='TraceHeaderList']", action: 'after' },
  });
  return sig.getSignedXml();
}

function findSignature(root: Element): Element | undefined {
  const stack: Element[] = [root];
  while (stack.length) {
    const e = stack.pop()!;
    if (localName(e) === 'Signature' && e.namespaceURI === DSIG_NS) return e;
    stack.push(...childElements(e));
  }
  return undefined;
}

export function fingerprintOf(pem: string): string {
  return createHash('sha256')
    .update(Buffer.from(certBase64(pem), 'base64'))
    .digest('hex');
}

/** Parsed certificates by their base64 text: a backlog of packages signed by one node parses its certificate once. */
const certificates = new Map<string, X509Certificate>();
const CERTIFICATES_KEPT = 64;

/** The X.509 certificate of a base64 DER text (throws when unreadable); a small cache of the latest ones. */
export function certificateOf(base64: string): X509Certificate {
  const hit = certificates.get(base64);
  if (hit) return hit;
  const cert = new X509Certificate(Buffer.from(base64, 'base64'));
  if (certificates.size >= CERTIFICATES_KEPT) certificates.delete(certificates.keys().next().value!);
  certificates.set(base64, cert);
  return cert;
}

/**
 * Verifies a package's signature when there is one: the certificate in KeyInfo must verify the signature,
 * the signed reference must be the whole document, and the certificate is `trusted` when it is one of
 * `trustedPems` (node certificates of the federation).
 */
export function verifyPackage(xml: string, trustedPems: string[], maxBytes: number): SignatureCheck {
  const doc = parseSafeXml(xml, { maxBytes });
  const sigEl = findSignature(doc.documentElement!);
  if (!sigEl) return { present: false, valid: false, trusted: false };
  const certEl = sigEl.getElementsByTagNameNS(DSIG_NS, 'X509Certificate')[0];
  const certText = certEl?.textContent?.replace(/\s+/g, '');
  if (!certText)
    return { present: true, valid: false, trusted: false, problem: 'no X509Certificate in KeyInfo' };
  let cert: X509Certificate;
  try {
    cert = certificateOf(certText);
  } catch {
    return { present: true, valid: false, trusted: false, problem: 'unreadable X509Certificate' };
  }
  const fingerprint = createHash('sha256').update(cert.raw).digest('hex');
  const trusted = trustedPems.some((p) => fingerprintOf(p) === fingerprint);
  const base = { present: true, trusted, signer: cert.subject.replace(/\n/g, ', '), fingerprint };
  try {
    const check = new SignedXml({ publicCert: cert.toString(), getCertFromKeyInfo: () => null });
    check.loadSignature(sigEl.toString());
    const refs =
      (check as unknown as { references: { uri?: string; isEmptyUri?: boolean }[] }).references ?? [];
    if (refs.length !== 1 || (refs[0].uri ?? '') !== '') {
      return { ...base, valid: false, problem: 'the signature does not cover the whole package' };
    }
    const ok = check.checkSignature(xml);
    return ok ? { ...base, valid: true } : { ...base, valid: false, problem: 'signature does not verify' };
  } catch (e) {
    return {
      ...base,
      valid: false,
      problem: `signature does not verify: ${(e as Error).message.split('\n')[0].slice(0, 200)}`,
    };
  }
}
