import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createPublicKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DataSource } from 'typeorm';
import { AuditConfig } from '../config/audit.config';
import { keyIdOf, loadEd25519Private, publicPem } from './signing';

export interface SigningKey {
  keyId: string;
  privateKey: KeyObject;
}

export interface PublicKeyView {
  keyId: string;
  algorithm: 'Ed25519';
  publicKey: string;
  createdAt: string;
}

/**
 * The checkpoint signing key: from AUDIT_SIGNING_KEY_FILE / AUDIT_SIGNING_KEY, else (never in production)
 * generated once and kept in the database. Every key ever used stays listed so old checkpoints remain verifiable after rotation.
 */
@Injectable()
export class KeysService implements OnModuleInit {
  private readonly logger = new Logger(KeysService.name);
  private current?: SigningKey;

  constructor(
    private readonly config: AuditConfig,
    @InjectDataSource() private readonly ds: DataSource,
  ) {}

  async onModuleInit(): Promise<void> {
    this.current = await this.load();
    this.logger.log(`checkpoint signing key ${this.current.keyId}`);
  }

  signingKey(): SigningKey {
    if (!this.current) throw new Error('signing key not loaded');
    return this.current;
  }

  async list(): Promise<PublicKeyView[]> {
    const rows = (await this.ds.query(
      `SELECT key_id, public_key, created_at FROM signing_keys ORDER BY created_at, key_id`,
    )) as {
      key_id: string;
      public_key: string;
      created_at: Date;
    }[];
    return rows.map((r) => ({
      keyId: r.key_id,
      algorithm: 'Ed25519',
      publicKey: r.public_key,
      createdAt: r.created_at.toISOString(),
    }));
  }

  private async load(): Promise<SigningKey> {
    const pem = this.config.AUDIT_SIGNING_KEY_FILE
      ? readFileSync(this.config.AUDIT_SIGNING_KEY_FILE, 'utf8')
      : this.config.AUDIT_SIGNING_KEY?.replace(/\\n/g, '\n');
    if (pem) {
      const privateKey = loadEd25519Private(pem);
      const pub = createPublicKey(privateKey);
      const keyId = keyIdOf(pub);
      // Only the public half is stored for configured keys.
      await this.ds.query(
        `INSERT INTO signing_keys (key_id, public_key) VALUES ($1, $2) ON CONFLICT (key_id) DO NOTHING`,
        [keyId, publicPem(pub)],
      );
      return { keyId, privateKey };
    }
    if (this.config.NODE_ENV === 'production') {
      // Never a generated key in production: it would live in the database, next to the log it vouches for.
      throw new Error(
        'NODE_ENV=production needs the checkpoint signing key from AUDIT_SIGNING_KEY_FILE (or AUDIT_SIGNING_KEY)',
      );
    }
    return this.ds.transaction(async (m) => {
      // Replicas starting together must not each generate a key.
      await m.query(`SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.audit-signing-key'))`);
      const rows = (await m.query(
        `SELECT key_id, private_key FROM signing_keys WHERE private_key IS NOT NULL ORDER BY created_at DESC LIMIT 1`,
      )) as { key_id: string; private_key: string }[];
      if (rows[0]) return { keyId: rows[0].key_id, privateKey: loadEd25519Private(rows[0].private_key) };
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      const keyId = keyIdOf(publicKey);
      await m.query(`INSERT INTO signing_keys (key_id, public_key, private_key) VALUES ($1, $2, $3)`, [
        keyId,
        publicPem(publicKey),
        privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      ]);
      return { keyId, privateKey };
    });
  }
}
