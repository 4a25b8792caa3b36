import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Identity1763900000000 implements MigrationInterface {
  name = 'Identity1763900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE organizations (
        code        text PRIMARY KEY,
        name        text NOT NULL,
        parent_code text REFERENCES organizations(code) ON UPDATE CASCADE,
        path        text NOT NULL,
        level       text NOT NULL CHECK (level IN ('central','province','district','commune')),
        sector      text NOT NULL CHECK (sector IN ('party','state')),
        zone        text NOT NULL CHECK (zone IN ('party-wan','internet')),
        node_id     text NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now()
      )`);
    // Materialized path ('/A/B/C/'): a subtree is one prefix range scan on this index.
    await q.query('CREATE INDEX organizations_path_idx ON organizations (path text_pattern_ops)');
    await q.query('CREATE INDEX organizations_parent_idx ON organizations (parent_code)');
    await q.query(`
      CREATE TABLE users (
        id                  uuid PRIMARY KEY,
        username            text NOT NULL,
        full_name           text NOT NULL,
        email               text,
        password_hash       text NOT NULL,
        organization_code   text NOT NULL REFERENCES organizations(code) ON UPDATE CASCADE,
        roles               text[] NOT NULL,
        disabled            boolean NOT NULL DEFAULT false,
        failed_count        integer NOT NULL DEFAULT 0,
        failed_window_start timestamptz,
        locked_until        timestamptz,
        lock_count          integer NOT NULL DEFAULT 0,
        totp_secret         text,
        totp_pending_secret text,
        totp_enabled        boolean NOT NULL DEFAULT false,
        created_at          timestamptz NOT NULL DEFAULT now(),
        updated_at          timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query('CREATE UNIQUE INDEX users_username_idx ON users (lower(username))');
    await q.query('CREATE INDEX users_org_idx ON users (organization_code)');
    await q.query(`
      CREATE TABLE clients (
        client_id              text PRIMARY KEY,
        name                   text NOT NULL,
        organization_code      text NOT NULL REFERENCES organizations(code) ON UPDATE CASCADE,
        roles                  text[] NOT NULL,
        secret_hash            text NOT NULL,
        previous_secret_hash   text,
        previous_valid_until   timestamptz,
        created_at             timestamptz NOT NULL DEFAULT now(),
        updated_at             timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE signing_keys (
        kid          text PRIMARY KEY,
        alg          text NOT NULL,
        public_jwk   jsonb NOT NULL,
        private_enc  text NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        retired_at   timestamptz,
        publish_until timestamptz
      )`);
    await q.query(`
      CREATE TABLE refresh_tokens (
        id           uuid PRIMARY KEY,
        family_id    uuid NOT NULL,
        subject_type text NOT NULL,
        subject_id   text NOT NULL,
        token_hash   text NOT NULL,
        expires_at   timestamptz NOT NULL,
        used_at      timestamptz,
        revoked_at   timestamptz,
        created_at   timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query('CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id)');
    await q.query('CREATE INDEX refresh_tokens_subject_idx ON refresh_tokens (subject_type, subject_id)');
    await q.query(`
      CREATE TABLE revoked_access_tokens (
        jti        text PRIMARY KEY,
        expires_at timestamptz NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['revoked_access_tokens', 'refresh_tokens', 'signing_keys', 'clients', 'users', 'organizations']) {
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    }
  }
}
