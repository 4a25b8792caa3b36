import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { EntityManager } from 'typeorm';

export interface RefreshRow {
  id: string;
  family_id: string;
  user_id: string;
  expires_at: Date;
  used_at: Date | null;
  revoked_at: Date | null;
}

/** Refresh tokens are random; only their SHA-256 is stored. */
export const refreshHash = (token: string) => createHash('sha256').update(token, 'utf8').digest();

@Injectable()
export class RefreshTokensRepository {
  async insert(
    m: EntityManager,
    r: { id: string; family_id: string; user_id: string; token: string; ttlSeconds: number },
  ): Promise<void> {
    await m.query(
      `INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, expires_at) VALUES ($1,$2,$3,$4, now() + make_interval(secs => $5))`,
      [r.id, r.family_id, r.user_id, refreshHash(r.token), r.ttlSeconds],
    );
  }

  async findForUpdate(m: EntityManager, token: string): Promise<RefreshRow | null> {
    const rows = await m.query(`SELECT * FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE`, [
      refreshHash(token),
    ]);
    return rows[0] ?? null;
  }

  async markUsed(m: EntityManager, id: string): Promise<void> {
    await m.query(`UPDATE refresh_tokens SET used_at = now() WHERE id = $1`, [id]);
  }

  async revokeFamily(m: EntityManager, familyId: string): Promise<void> {
    await m.query(
      `UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL`,
      [familyId],
    );
  }

  async revokeUser(m: EntityManager, userId: string): Promise<void> {
    await m.query(`UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL`, [
      userId,
    ]);
  }
}
