import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Pkijs } from './pki';

/**
 * The configured trust: CA certificates (TRUST_ANCHORS) and certificate revocation lists (TRUST_CRLS), as
 * DER bytes so they can be handed to verification workers.
 */
export interface TrustMaterial {
  anchors: Uint8Array[];
  crls: Uint8Array[];
}

/** Reads and checks the configured files; any file that holds nothing usable stops the boot. */
export function loadTrustMaterial(anchorsFile?: string, crlFiles?: string): TrustMaterial {
  const anchors = anchorsFile ? loadPemCertificates(readFileSync(anchorsFile, 'utf8')) : [];
  if (anchorsFile && anchors.length === 0) {
    throw new Error(`TRUST_ANCHORS: no PEM certificate in ${anchorsFile}`);
  }
  const crls: Uint8Array[] = [];
  for (const path of (crlFiles ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const found = crlsIn(readFileSync(path));
    if (found.length === 0) throw new Error(`TRUST_CRLS: no CRL (PEM or DER) in ${path}`);
    // pkijs (its ES-module graph: asn1js, pvtsutils, …) only when CRLs are configured: the service's main
    // thread needs it for nothing else (the verification workers load it themselves).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { pkijs } = require('./pki') as typeof import('./pki');
    for (const der of found) {
      try {
        pkijs.CertificateRevocationList.fromBER(toArrayBuffer(der));
      } catch {
        throw new Error(`TRUST_CRLS: ${path} holds a CRL that does not parse`);
      }
      crls.push(der);
    }
  }
  return { anchors: anchors.map((c) => new Uint8Array(c.raw)), crls };
}

/**
 * Identifies the trust a verification result depends on: the same file verified under the same anchors
 * and CRLs gives the same answer, so results are reused under this key.
 */
export function trustFingerprint(trust: TrustMaterial): string {
  const part = (items: Uint8Array[]) =>
    items
      .map((d) => createHash('sha256').update(d).digest('hex'))
      .sort()
      .join(',');
  return createHash('sha256')
    .update(`anchors:${part(trust.anchors)};crls:${part(trust.crls)}`)
    .digest('hex');
}

export function loadPemCertificates(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b));
}

function crlsIn(file: Buffer): Uint8Array[] {
  const text = file.toString('latin1');
  const blocks = text.match(/-----BEGIN X509 CRL-----[\s\S]+?-----END X509 CRL-----/g);
  if (blocks) {
    return blocks.map(
      (b) => new Uint8Array(Buffer.from(b.replace(/-----(BEGIN|END) X509 CRL-----|\s+/g, ''), 'base64')),
    );
  }
  return file.length > 0 && file[0] === 0x30 ? [new Uint8Array(file)] : [];
}

export function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

export type { Pkijs };
