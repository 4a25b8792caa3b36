import type { JWK, JWTVerifyGetKey, KeyLike } from 'jose';
import { errors as joseErrors } from 'jose';
import type { KeyObject } from 'node:crypto';

export interface ActiveKey {
  kid: string;
  alg: string;
  privateKey: KeyObject;
}

/**
 * In-memory view of the signing keys (filled from the database by SigningKeysService). Created before the
 * Nest container so PlatformModule's JWT guard can verify identity's own tokens locally, without HTTP.
 */
export class KeyRing {
  private publicKeys = new Map<string, { alg: string; key: KeyLike; jwk: JWK }>();
  private activeKey: ActiveKey | null = null;
  /** Called on an unknown kid (another replica may have rotated). */
  onMiss: (() => Promise<void>) | null = null;

  replace(keys: { kid: string; alg: string; key: KeyLike; jwk: JWK }[], active: ActiveKey | null): void {
    this.publicKeys = new Map(keys.map((k) => [k.kid, k]));
    this.activeKey = active;
  }

  /** The signing key, if one is loaded. */
  get active(): ActiveKey | null {
    return this.activeKey;
  }

  current(): ActiveKey {
    if (!this.activeKey) throw new Error('No active signing key');
    return this.activeKey;
  }

  jwks(): { keys: JWK[] } {
    return { keys: [...this.publicKeys.values()].map((k) => k.jwk) };
  }

  readonly resolver: JWTVerifyGetKey = async (header) => {
    const kid = header.kid;
    if (!kid) throw new joseErrors.JWKSNoMatchingKey();
    let k = this.publicKeys.get(kid);
    if (!k && this.onMiss) {
      await this.onMiss();
      k = this.publicKeys.get(kid);
    }
    if (!k || k.alg !== header.alg) throw new joseErrors.JWKSNoMatchingKey();
    return k.key;
  };
}
