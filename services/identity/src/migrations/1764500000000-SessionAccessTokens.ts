import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Each refresh-token row remembers the access token issued with it (`access_jti`, `access_expires_at`), so
 * revoking a session (or detecting a reused refresh token) also revokes the access tokens of that session
 * that have not expired yet. Rows made before this migration have none: their access tokens expire on their own.
 */
export class SessionAccessTokens1764500000000 implements MigrationInterface {
  name = 'SessionAccessTokens1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE refresh_tokens ADD COLUMN access_jti uuid NULL`);
    await q.query(`ALTER TABLE refresh_tokens ADD COLUMN access_expires_at timestamptz NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE refresh_tokens DROP COLUMN access_expires_at`);
    await q.query(`ALTER TABLE refresh_tokens DROP COLUMN access_jti`);
  }
}
