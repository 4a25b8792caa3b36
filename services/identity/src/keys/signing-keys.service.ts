import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { AuditRecorder } from '@lienthong/common';
import { AuditActions } from '@lienthong/contracts';
import { exportJWK, type JWK } from 'jose';
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomUUID,
  type KeyObject,
} from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { IdentityConfig } from '../config/identity.config';
import { SecretBox } from '../crypto/secret-box';
import { KeyRing, type ActiveKey } from './key-ring';

interface KeyRow {
  kid: string;
  alg: string;
  public_jwk: JWK;
  private_key_enc: string;
  created_at: Date;
  retired_at: Date | null;
}

const ROTATION_LOCK = 0x1d3171; // advisory lock id: one rotation at a time across replicas
const RELOAD_MS = 60_000;
const CHECK_MS = 3_600_000;

function generate(alg: string): { privateKey: KeyObject; publicKey: KeyObject } {
  if (alg === 'ES256') return generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return generateKeyPairSync('rsa', { modulusLength: 2048 });
}

/** Signing keys in the database, private halves sealed with KEY_ENCRYPTION_KEY; rotation and JWKS. */
@Injectable()
export class SigningKeysService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(SigningKeysService.name);
  private timers: NodeJS.Timeout[] = [];
  private lastMissReload = 0;

  constructor(
    private readonly ds: DataSource,
    private readonly ring: KeyRing,
    private readonly box: SecretBox,
    private readonly audit: AuditRecorder,
    private readonly config: IdentityConfig,
  ) {}

  async onModuleInit(): Promise<void> {
    this.ring.onMiss = async () => {
      if (Date.now() - this.lastMissReload < 5_000) return;
      this.lastMissReload = Date.now();
      await this.reload();
    };
    const state = await this.load();
    if (state === 'sealed-elsewhere') {
      // Making a new key here would retire the one every other replica signs with, and they would answer
      // 500 on every token request until restarted: refuse to start instead.
      throw new Error(
        'KEY_ENCRYPTION_KEY cannot decrypt the current signing key: start identity with the key-encryption key ' +
          'the other replicas use',
      );
    }
    if (state === 'none') await this.rotate('initial');
    this.timers.push(setInterval(() => void this.reload().catch(() => undefined), RELOAD_MS).unref());
    this.timers.push(
      setInterval(
        () => void this.rotateIfDue().catch((e) => this.logger.warn(`rotation check failed: ${String(e)}`)),
        CHECK_MS,
      ).unref(),
    );
  }

  onApplicationShutdown(): void {
    this.timers.forEach(clearInterval);
  }

  /** Public keys still needed: the current ones and retired ones whose tokens may not have expired yet. */
  private async loadRows(m: EntityManager = this.ds.manager): Promise<KeyRow[]> {
    return m.query(
      `SELECT * FROM signing_keys
       WHERE retired_at IS NULL OR retired_at > now() - make_interval(secs => $1)
       ORDER BY created_at DESC`,
      [this.config.ACCESS_TOKEN_TTL_SECONDS + 60],
    );
  }

  /** Loads keys into the ring; false when there is no usable current key (none yet, or sealed with another KEK). */
  async reload(): Promise<boolean> {
    return (await this.load()) === 'loaded';
  }

  /**
   * Loads keys into the ring. `none`: no current key yet; `sealed-elsewhere`: the current key was sealed with
   * another KEY_ENCRYPTION_KEY (the ring keeps the active key it had, if any).
   */
  private async load(): Promise<'loaded' | 'none' | 'sealed-elsewhere'> {
    const rows = await this.loadRows();
    const pub = await Promise.all(
      rows.map(async (r) => ({
        kid: r.kid,
        alg: r.alg,
        jwk: r.public_jwk,
        key: createPublicKey({ key: r.public_jwk as never, format: 'jwk' }),
      })),
    );
    const current = rows.find((r) => r.retired_at === null);
    if (!current) {
      this.ring.replace(pub, null);
      return 'none';
    }
    let active: ActiveKey;
    try {
      const pem = this.box.open(current.private_key_enc, `signing-key:${current.kid}`).toString('utf8');
      active = { kid: current.kid, alg: current.alg, privateKey: createPrivateKey(pem) };
    } catch {
      this.logger.error('The current signing key cannot be decrypted with this KEY_ENCRYPTION_KEY');
      this.ring.replace(pub, this.ring.active ?? null);
      return 'sealed-elsewhere';
    }
    this.ring.replace(pub, active);
    return 'loaded';
  }

  async rotateIfDue(): Promise<void> {
    const rows: { created_at: Date }[] = await this.ds.query(
      `SELECT created_at FROM signing_keys WHERE retired_at IS NULL`,
    );
    const due =
      rows.length === 0 ||
      Date.now() - new Date(rows[0].created_at).getTime() > this.config.KEY_ROTATION_DAYS * 86_400_000;
    if (due) await this.rotate('scheduled');
    else await this.reload();
  }

  /** Makes a new current key; the previous one stays published until its tokens have expired. */
  async rotate(reason = 'manual'): Promise<string> {
    const alg = this.config.SIGNING_ALG;
    const { privateKey, publicKey } = generate(alg);
    const kid = randomUUID();
    const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    await this.ds.transaction(async (m) => {
      await m.query(`SELECT pg_advisory_xact_lock($1)`, [ROTATION_LOCK]);
      await m.query(`UPDATE signing_keys SET retired_at = now() WHERE retired_at IS NULL`);
      await m.query(
        `INSERT INTO signing_keys (kid, alg, public_jwk, private_key_enc) VALUES ($1, $2, $3::jsonb, $4)`,
        [kid, alg, JSON.stringify(jwk), this.box.seal(pem, `signing-key:${kid}`)],
      );
      await this.audit.record(m, {
        action: AuditActions.signingKeyRotated,
        resource: { type: 'signing-key', id: kid },
        details: { alg, reason },
      });
    });
    await this.reload();
    return kid;
  }
}
