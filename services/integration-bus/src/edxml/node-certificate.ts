import { readFileSync } from 'node:fs';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { NodeCredentials } from './edxml.signature';

export interface NodeCertificateSource {
  NODE_CERT_PEM?: string;
  NODE_CERT_PEM_FILE?: string;
  NODE_KEY_PEM?: string;
  NODE_KEY_PEM_FILE?: string;
  NODE_ID: string;
  NODE_ENV?: string;
}

function pemFrom(value?: string, file?: string): string | undefined {
  if (value) return value.replace(/\\n/g, '\n');
  if (file) return readFileSync(file, 'utf8');
  return undefined;
}

/**
 * The node certificate signing the packages this bus emits. From the environment when given; otherwise a
 * self-signed one is generated (development only — production config requires the env, see the config).
 */
export function loadNodeCredentials(
  src: NodeCertificateSource,
  log: (msg: string) => void,
): NodeCredentials & { generated: boolean } {
  const certPem = pemFrom(src.NODE_CERT_PEM, src.NODE_CERT_PEM_FILE);
  const keyPem = pemFrom(src.NODE_KEY_PEM, src.NODE_KEY_PEM_FILE);
  if (certPem && keyPem) {
    // Fail at boot, not at the first package, when the pair is unusable.
    const cert = new X509Certificate(certPem);
    if (!cert.checkPrivateKey(createPrivateKey(keyPem)))
      throw new Error('NODE_KEY_PEM does not match NODE_CERT_PEM');
    return { certPem, keyPem, generated: false };
  }
  if (certPem || keyPem) throw new Error('NODE_CERT_PEM and NODE_KEY_PEM must be given together');
  if (src.NODE_ENV === 'production')
    throw new Error('NODE_CERT_PEM/NODE_KEY_PEM (or *_FILE) are required in production');
  const generated = generateSelfSigned(`lienthong-bus-${src.NODE_ID}`);
  log(
    `node certificate GENERATED (self-signed, development only) for ${src.NODE_ID}; set NODE_CERT_PEM/NODE_KEY_PEM in production`,
  );
  return { ...generated, generated: true };
}

export function generateSelfSigned(commonName: string, bits = 2048): NodeCredentials {
  // node-forge is a development dependency: only needed when no certificate is configured.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const forge = require('node-forge') as typeof import('node-forge');
  const keys = forge.pki.rsa.generateKeyPair({ bits, e: 0x10001 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = '01' + forge.util.bytesToHex(forge.random.getBytesSync(8));
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 365 * 24 * 3_600_000);
  const attrs = [
    { name: 'commonName', value: commonName },
    { name: 'organizationName', value: 'Lien thong' },
  ];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
}
