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
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('the audit signing key must be an Ed25519 private key');
  return key;
}

export function signCheckpoint(privateKey: KeyObject, origin: string, treeSize: number, rootHash: Buffer): string {
  return sign(null, Buffer.from(checkpointText(origin, treeSize, rootHash), 'utf8'), privateKey).toString('base64');
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
