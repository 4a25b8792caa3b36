import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AuditRecorder } from '@lienthong/common';
import { AuditActions } from '@lienthong/contracts';
import { errors as joseErrors, exportJWK, generateKeyPair, importJWK, type JWK, type JWTHeaderParameters, type KeyLike } from 'jose';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { IdentityConfig } from '../config/identity.config';
import { KeyEncryption } from './key-encryption';

interface KeyRow {
  kid: string;
  alg: string;
  public_jwk: JWK;
  private_enc: string;
  created_at: Date;
  retired_at: Date | null;
  publish_until: Date | null;
}

interface LoadedKey {
  kid: string;
  alg: string;
  publicJwk: JWK;
  publicKey: KeyLike;
  privateKey?: KeyLike;
  createdAt: Date;
  retired: boolean;
}

const RELOAD_MS = 60_000;

/**
 * Asymmetric signing keys kept in the database, private halves encrypted with KEY_ENCRYPTION_KEY. One key is
 * active; rotated keys stay published in the JWKS until every token they signed has expired.
 */
@Injectable()
export class SigningKeysService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SigningKeysService.name);
  private readonly enc: KeyEncryption;
  private keys = new Map<string, LoadedKey>();
  private active?: LoadedKey;
  private timer?: NodeJS.Timeout;
  private loadedAt = 0;

  constructor(
    private readonly ds: DataSource,
    private readonly config: IdentityConfig,
    private readonly audit: AuditRecorder,
  ) {
    if (config.KEY_ENCRYPTION_KEY) {
      this.enc = KeyEncryption.fromSecret(config.KEY_ENCRYPTION_KEY);
    } else {
      this.enc = KeyEncryption.random().enc;
      this.logger.warn(
        'KEY_ENCRYPTION_KEY is not set: signing keys are encrypted with a key that lives only in this process; ' +
          'set KEY_ENCRYPTION_KEY (32 bytes, base64) so keys survive restarts.',
      );
    }
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.ensureActive();
    this.timer = setInterval(() => void this.tick().catch((e) => this.logger.warn(`key check failed: ${e.message}`)), RELOAD_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async tick(): Promise<void> {
    await this.reload();
    const maxAgeMs = this.config.KEY_ROTATION_DAYS * 86_400_000;
    if (!this.active || Date.now() - this.active.createdAt.getTime() > maxAgeMs) await this.rotate('scheduled');
  }

  private async reload(): Promise<void> {
    const rows: KeyRow[] = await this.ds.query(
      `SELECT * FROM signing_keys WHERE retired_at IS NULL OR publish_until > now() ORDER BY created_at`,
    );
    const next = new Map<string, LoadedKey>();
    let active: LoadedKey | undefined;
    for (const r of rows) {
      const loaded: LoadedKey = {
        kid: r.kid,
        alg: r.alg,
        publicJwk: r.public_jwk,
        publicKey: (this.keys.get(r.kid)?.publicKey ?? (await importJWK(r.public_jwk, r.alg))) as KeyLike,
        createdAt: new Date(r.created_at),
        retired: r.retired_at !== null,
      };
      if (!loaded.retired) {
        try {
          loaded.privateKey =
            this.keys.get(r.kid)?.privateKey ?? ((await importJWK(JSON.parse(this.enc.decrypt(r.private_enc)), r.alg)) as KeyLike);
          active = loaded;
        } catch {
          // Encrypted with another KEY_ENCRYPTION_KEY: verify-only until it is rotated out.
        }
      }
      next.set(r.kid, loaded);
    }
    this.keys = next;
    this.active = active;
    this.loadedAt = Date.now();
  }

  /** Makes sure a usable active key exists (one replica at a time creates it). */
  async ensureActive(): Promise<void> {
    await this.reload();
    if (this.active) return;
    await this.rotate('bootstrap');
  }

  async rotate(reason: string): Promise<string> {
    const { publicKey, privateKey } = await generateKeyPair(this.config.SIGNING_ALG, { extractable: true });
    const kid = randomUUID();
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: this.config.SIGNING_ALG, use: 'sig' };
    const privateJwk = await exportJWK(privateKey);
    const graceSeconds = this.config.ACCESS_TOKEN_TTL_SECONDS + 300;
    await this.ds.transaction(async (m) => {
      await m.query(`SELECT pg_advisory_xact_lock(hashtext('identity.signing_keys'))`);
      if (reason === 'bootstrap') {
        const usable = await m.query('SELECT kid, private_enc FROM signing_keys WHERE retired_at IS NULL');
        for (const u of usable) {
          try {
            this.enc.decrypt(u.private_enc);
            return; // another replica created one meanwhile
          } catch {
            /* not usable here */
          }
        }
      }
      await m.query(
        `UPDATE signing_keys SET retired_at = now(), publish_until = now() + make_interval(secs => $1) WHERE retired_at IS NULL`,
        [graceSeconds],
      );
      await m.query('INSERT INTO signing_keys (kid, alg, public_jwk, private_enc) VALUES ($1, $2, $3, $4)', [
        kid,
        this.config.SIGNING_ALG,
        JSON.stringify(publicJwk),
        this.enc.encrypt(JSON.stringify(privateJwk)),
      ]);
      await this.audit.record(m, { action: AuditActions.signingKeyRotated, resource: { type: 'signing-key', id: kid }, details: { reason } });
    });
    await this.reload();
    return kid;
  }

  signingKey(): { kid: string; alg: string; key: KeyLike } {
    if (!this.active?.privateKey) throw new Error('no active signing key');
    return { kid: this.active.kid, alg: this.active.alg, key: this.active.privateKey };
  }

  jwks(): { keys: JWK[] } {
    return { keys: [...this.keys.values()].map((k) => k.publicJwk) };
  }

  /** Key resolver for verifying our own tokens (no HTTP). Unknown kids trigger one reload. */
  resolver() {
    return async (header: JWTHeaderParameters): Promise<KeyLike> => {
      let k = header.kid ? this.keys.get(header.kid) : undefined;
      if (!k && header.kid && Date.now() - this.loadedAt > 1000) {
        await this.reload();
        k = this.keys.get(header.kid);
      }
      if (!k || (header.alg && header.alg !== k.alg)) throw new joseErrors.JWKSNoMatchingKey();
      return k.publicKey;
    };
  }
}
