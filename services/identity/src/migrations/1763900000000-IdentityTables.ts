import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Organizations carry a materialized path ("/ROOT/CHILD/…/") so a subtree is one indexed prefix scan
 * (text_pattern_ops), fast on tens of thousands of rows without recursion.
 */
export class IdentityTables1763900000000 implements MigrationInterface {
  name = 'IdentityTables1763900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE organizations (
        code varchar(35) PRIMARY KEY,
        name varchar(300) NOT NULL,
        parent_code varchar(35) NULL REFERENCES organizations(code),
        level varchar(16) NOT NULL CHECK (level IN ('central','province','district','commune')),
        sector varchar(8) NOT NULL CHECK (sector IN ('party','state')),
        zone varchar(16) NOT NULL CHECK (zone IN ('party-wan','internet')),
        node_id varchar(32) NOT NULL,
        path text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX organizations_path_idx ON organizations (path text_pattern_ops)`);
    await q.query(`CREATE INDEX organizations_parent_idx ON organizations (parent_code, code)`);
    await q.query(`
      CREATE TABLE users (
        id uuid PRIMARY KEY,
        username varchar(64) NOT NULL UNIQUE,
        full_name varchar(200) NOT NULL,
        email varchar(254) NULL,
        password_hash text NOT NULL,
        organization_code varchar(35) NOT NULL REFERENCES organizations(code),
        roles text[] NOT NULL DEFAULT '{}',
        disabled boolean NOT NULL DEFAULT false,
        totp_secret_enc text NULL,
        totp_enabled boolean NOT NULL DEFAULT false,
        failed_count int NOT NULL DEFAULT 0,
        first_failed_at timestamptz NULL,
        locked_until timestamptz NULL,
        lock_level int NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX users_org_idx ON users (organization_code, username)`);
    await q.query(`
      CREATE TABLE clients (
        client_id varchar(64) PRIMARY KEY,
        name varchar(200) NOT NULL,
        organization_code varchar(35) NOT NULL REFERENCES organizations(code),
        roles text[] NOT NULL DEFAULT '{}',
        secret_hash bytea NOT NULL,
        previous_secret_hash bytea NULL,
        previous_valid_until timestamptz NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE signing_keys (
        kid varchar(64) PRIMARY KEY,
        alg varchar(8) NOT NULL,
        public_jwk jsonb NOT NULL,
        private_key_enc text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        retired_at timestamptz NULL
      )`);
    await q.query(`
      CREATE TABLE refresh_tokens (
        id uuid PRIMARY KEY,
        family_id uuid NOT NULL,
        user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        token_hash bytea NOT NULL UNIQUE,
        expires_at timestamptz NOT NULL,
        used_at timestamptz NULL,
        revoked_at timestamptz NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id)`);
    await q.query(
      `CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id) WHERE revoked_at IS NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS refresh_tokens`);
    await q.query(`DROP TABLE IF EXISTS signing_keys`);
    await q.query(`DROP TABLE IF EXISTS clients`);
    await q.query(`DROP TABLE IF EXISTS users`);
    await q.query(`DROP TABLE IF EXISTS organizations`);
  }
}
