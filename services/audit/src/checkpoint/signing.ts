import { createHash, createPrivateKey, createPublicKey, KeyObject, sign, verify } from 'node:crypto';

/** The exact text a checkpoint signature covers (API.md). */
export function checkpointText(origin: string, treeSize: number, rootHash: Buffer): string {
  return `${origin}\n${treeSize}\n${rootHash.toString('base64')}\n`;
}

/** Hex of the first 8 bytes of SHA-256 over the SubjectPublicKeyInfo DER. */
export function keyIdOf(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest().subarray(0, 8).toString('hex');
}

export function publicPem(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }).toString();
}

export function loadEd25519Private(pem: string): KeyObject {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ed25519')
    throw new Error('the audit signing key must be an Ed25519 private key');
  return key;
}

export function signCheckpoint(
  privateKey: KeyObject,
  origin: string,
  treeSize: number,
  rootHash: Buffer,
): string {
  return sign(null, Buffer.from(checkpointText(origin, treeSize, rootHash), 'utf8'), privateKey).toString(
    'base64',
  );
}

export function verifyCheckpointSignature(
  publicKeyPem: string,
  c: { origin: string; treeSize: number; rootHash: string; signature: string },
): boolean {
  try {
    const key = createPublicKey(publicKeyPem);
    const text = checkpointText(c.origin, c.treeSize, Buffer.from(c.rootHash, 'hex'));
    return verify(null, Buffer.from(text, 'utf8'), key, Buffer.from(c.signature, 'base64'));
  } catch {
    return false;
  }
}

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the raw 32-byte key follows it. */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** The raw 32-byte Ed25519 public key, base64 (what witness messages carry). */
export function rawPublicKeyBase64(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ type: 'spki', format: 'der' }).subarray(ED25519_SPKI_PREFIX.length).toString('base64');
}

/** Inverse of rawPublicKeyBase64; throws unless it is 32 bytes. */
export function publicKeyFromRawBase64(b64: string): KeyObject {
  const raw = Buffer.from(b64, 'base64');
  if (raw.length !== 32 || raw.toString('base64') !== b64)
    throw new Error('not a base64 raw Ed25519 public key');
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

/** Verifies an Ed25519 signature (base64) over the checkpoint text with a KeyObject; false on any error. */
export function verifyCheckpointWith(
  key: KeyObject,
  c: { origin: string; treeSize: number; rootHash: string },
  signatureB64: string,
): boolean {
  try {
    const text = checkpointText(c.origin, c.treeSize, Buffer.from(c.rootHash, 'hex'));
    return verify(null, Buffer.from(text, 'utf8'), key, Buffer.from(signatureB64, 'base64'));
  } catch {
    return false;
  }
}
