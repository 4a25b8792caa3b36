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
  access_jti: string | null;
  access_expires_at: Date | null;
}

/** An access token issued with a refresh token that can still be presented (to revoke with its session). */
export interface SessionAccessToken {
  jti: string;
  expiresAt: Date;
}

/** Refresh tokens are random; only their SHA-256 is stored. */
export const refreshHash = (token: string) => createHash('sha256').update(token, 'utf8').digest();

@Injectable()
export class RefreshTokensRepository {
  async insert(
    m: EntityManager,
    r: {
      id: string;
      family_id: string;
      user_id: string;
      token: string;
      ttlSeconds: number;
      accessJti: string;
      accessExpiresAt: Date;
    },
  ): Promise<void> {
    await m.query(
      `INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, expires_at, access_jti, access_expires_at)
       VALUES ($1,$2,$3,$4, now() + make_interval(secs => $5), $6, $7)`,
      [r.id, r.family_id, r.user_id, refreshHash(r.token), r.ttlSeconds, r.accessJti, r.accessExpiresAt],
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

  /** Ends a session; answers its access tokens that are still unexpired (to revoke them too). */
  async revokeFamily(m: EntityManager, familyId: string): Promise<SessionAccessToken[]> {
    await m.query(
      `UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL`,
      [familyId],
    );
    return this.liveAccessTokens(m, 'family_id', familyId);
  }

  /** Ends every session of a user; answers their access tokens that are still unexpired. */
  async revokeUser(m: EntityManager, userId: string): Promise<SessionAccessToken[]> {
    await m.query(`UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL`, [
      userId,
    ]);
    return this.liveAccessTokens(m, 'user_id', userId);
  }

  private async liveAccessTokens(
    m: EntityManager,
    by: 'family_id' | 'user_id',
    id: string,
  ): Promise<SessionAccessToken[]> {
    const rows: { access_jti: string; access_expires_at: Date }[] = await m.query(
      `SELECT access_jti, access_expires_at FROM refresh_tokens
       WHERE ${by} = $1 AND access_jti IS NOT NULL AND access_expires_at > now()`,
      [id],
    );
    return rows.map((r) => ({ jti: r.access_jti, expiresAt: new Date(r.access_expires_at) }));
  }
}
