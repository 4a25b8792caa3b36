import { Injectable } from '@nestjs/common';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { IdentityConfig } from '../config/identity.config';

function parseKey(text: string): Buffer {
  const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (key.length !== 32) throw new Error('KEY_ENCRYPTION_KEY must decode to 32 bytes');
  return key;
}

let generatedDevKey: Buffer | undefined;

/**
 * AES-256-GCM for secrets at rest (signing keys, TOTP seeds). The key comes from KEY_ENCRYPTION_KEY (required
 * with NODE_ENV=production); when unset (development) one is generated per process and never printed: what it
 * sealed is unreadable after a restart, which is why `npm start` keeps one in `.data/`.
 */
@Injectable()
export class SecretBox {
  private readonly key: Buffer;

  constructor(config: IdentityConfig) {
    if (config.KEY_ENCRYPTION_KEY) {
      this.key = parseKey(config.KEY_ENCRYPTION_KEY);
    } else {
      if (!generatedDevKey) {
        generatedDevKey = randomBytes(32);
        process.stderr.write(
          'KEY_ENCRYPTION_KEY is not set: using a throwaway key for this process (development only)\n',
        );
      }
      this.key = generatedDevKey;
    }
  }

  /** `v1.<iv>.<tag>.<ciphertext>`; `context` is bound as associated data so a value cannot be moved to another row. */
  seal(plain: Buffer | string, context: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    c.setAAD(Buffer.from(context, 'utf8'));
    const ct = Buffer.concat([
      c.update(typeof plain === 'string' ? Buffer.from(plain, 'utf8') : plain),
      c.final(),
    ]);
    return [
      'v1',
      iv.toString('base64url'),
      c.getAuthTag().toString('base64url'),
      ct.toString('base64url'),
    ].join('.');
  }

  open(sealed: string, context: string): Buffer {
    const [v, iv, tag, ct] = sealed.split('.');
    if (v !== 'v1' || !iv || !tag || ct === undefined) throw new Error('Unsupported sealed value');
    const d = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    d.setAAD(Buffer.from(context, 'utf8'));
    d.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([d.update(Buffer.from(ct, 'base64url')), d.final()]);
  }
}
