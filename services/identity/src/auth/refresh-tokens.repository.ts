import { Injectable } from '@nestjs/common';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';

export interface RefreshRow {
  id: string;
  family_id: string;
  subject_type: 'user' | 'client';
  subject_id: string;
  token_hash: string;
  expires_at: Date;
  used_at: Date | null;
  revoked_at: Date | null;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** Refresh tokens are `<id>.<secret>`; only the SHA-256 of the secret is stored. */
@Injectable()
export class RefreshTokensRepository {
  constructor(private readonly ds: DataSource) {}

  async create(
    m: EntityManager,
    subjectType: 'user' | 'client',
    subjectId: string,
    ttlSeconds: number,
    familyId: string = randomUUID(),
  ): Promise<string> {
    const id = randomUUID();
    const secret = randomBytes(32).toString('base64url');
    await m.query(
      `INSERT INTO refresh_tokens (id, family_id, subject_type, subject_id, token_hash, expires_at)
       VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6))`,
      [id, familyId, subjectType, subjectId, sha256(secret), ttlSeconds],
    );
    return `${id}.${secret}`;
  }

  /** Locks and returns the row when the token's secret matches; undefined for anything else. */
  async findForUse(m: EntityManager, token: string): Promise<RefreshRow | undefined> {
    const [id, secret] = String(token).split('.');
    if (!id || !secret || !/^[0-9a-f-]{36}$/.test(id)) return undefined;
    const rows: RefreshRow[] = await m.query('SELECT * FROM refresh_tokens WHERE id = $1 FOR UPDATE', [id]);
    const row = rows[0];
    if (!row || row.token_hash !== sha256(secret)) return undefined;
    return row;
  }

  async markUsed(m: EntityManager, id: string): Promise<void> {
    await m.query('UPDATE refresh_tokens SET used_at = now() WHERE id = $1', [id]);
  }

  async revokeFamily(m: EntityManager, familyId: string): Promise<void> {
    await m.query('UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL', [familyId]);
  }

  async revokeSubject(m: EntityManager, subjectType: string, subjectId: string): Promise<void> {
    await m.query(
      'UPDATE refresh_tokens SET revoked_at = now() WHERE subject_type = $1 AND subject_id = $2 AND revoked_at IS NULL',
      [subjectType, subjectId],
    );
  }

  async revokeAccess(m: EntityManager, jti: string, expiresAt: Date): Promise<void> {
    await m.query('INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING', [jti, expiresAt]);
  }

  async isAccessRevoked(jti: string): Promise<boolean> {
    const rows = await this.ds.query('SELECT 1 FROM revoked_access_tokens WHERE jti = $1', [jti]);
    return rows.length > 0;
  }
}
