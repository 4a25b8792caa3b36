import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** AES-256-GCM for private signing keys at rest. The key comes from KEY_ENCRYPTION_KEY. */
export class KeyEncryption {
  private constructor(private readonly key: Buffer) {}

  static fromSecret(secret: string): KeyEncryption {
    if (/^[0-9a-fA-F]{64}$/.test(secret)) return new KeyEncryption(Buffer.from(secret, 'hex'));
    const b64 = Buffer.from(secret, 'base64');
    if (b64.length === 32 && /^[A-Za-z0-9+/_-]+=*$/.test(secret)) return new KeyEncryption(b64);
    // A passphrase: stretch it to 32 bytes.
    return new KeyEncryption(createHash('sha256').update(secret, 'utf8').digest());
  }

  static random(): { enc: KeyEncryption; secret: string } {
    const key = randomBytes(32);
    return { enc: new KeyEncryption(key), secret: key.toString('base64') };
  }

  encrypt(plain: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    const ct = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return ['v1', iv.toString('base64'), c.getAuthTag().toString('base64'), ct.toString('base64')].join(':');
  }

  decrypt(sealed: string): string {
    const [v, iv, tag, ct] = sealed.split(':');
    if (v !== 'v1' || !iv || !tag || !ct) throw new Error('unknown key envelope');
    const d = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64'));
    d.setAuthTag(Buffer.from(tag, 'base64'));
    return Buffer.concat([d.update(Buffer.from(ct, 'base64')), d.final()]).toString('utf8');
  }
}
