import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';

/** A new webhook secret (shown once to the subscriber). */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/** `Lienthong-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>` (API.md). */
export function signatureHeader(secret: string, rawBody: string | Buffer, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.`).update(rawBody).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/**
 * Secrets at rest: AES-256-GCM under a key derived from SUBSCRIPTIONS_SECRET_KEY when it is set
 * (`gcm1:<iv>:<tag>:<ciphertext>`, base64url), else as given (`plain:<secret>`). Decrypting needs the same key.
 */
export class SecretBox {
  private readonly key?: Buffer;

  constructor(keyMaterial?: string) {
    if (keyMaterial) this.key = createHash('sha256').update(keyMaterial, 'utf8').digest();
  }

  seal(secret: string): string {
    if (!this.key) return `plain:${secret}`;
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    const ct = Buffer.concat([c.update(secret, 'utf8'), c.final()]);
    return ['gcm1', iv, c.getAuthTag(), ct]
      .map((x) => (typeof x === 'string' ? x : x.toString('base64url')))
      .join(':');
  }

  open(stored: string): string {
    if (stored.startsWith('plain:')) return stored.slice('plain:'.length);
    const [kind, iv, tag, ct] = stored.split(':');
    if (kind !== 'gcm1' || !iv || !tag || ct === undefined)
      throw new Error('stored webhook secret has an unknown form');
    if (!this.key) throw new Error('webhook secret is encrypted but SUBSCRIPTIONS_SECRET_KEY is not set');
    const d = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    d.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([d.update(Buffer.from(ct, 'base64url')), d.final()]).toString('utf8');
  }
}
