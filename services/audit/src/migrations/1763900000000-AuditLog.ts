import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The Merkle log: leaves (one per audit event), perfect-subtree node hashes (levels ≥ 1), the tree head,
 * signed checkpoints and signing keys. leaves/nodes/checkpoints are append-only: a trigger refuses UPDATE
 * and DELETE for everyone but a session that deliberately disables triggers (superuser only).
 */
export class AuditLog1763900000000 implements MigrationInterface {
  name = 'AuditLog1763900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE leaves (
        leaf_index bigint PRIMARY KEY,
        event_id uuid NOT NULL UNIQUE,
        event jsonb NOT NULL,
        leaf_hash bytea NOT NULL,
        time timestamptz NOT NULL,
        action varchar(100) NOT NULL,
        actor_sub varchar(200) NOT NULL,
        organization_code varchar(35),
        resource_type varchar(64) NOT NULL,
        resource_id varchar(200) NOT NULL,
        service varchar(64) NOT NULL
      )`);
    // Filters always page by leaf_index, so each index ends with it (keyset paging stays indexed).
    await q.query(`CREATE INDEX leaves_action_idx ON leaves (action, leaf_index)`);
    await q.query(`CREATE INDEX leaves_actor_idx ON leaves (actor_sub, leaf_index)`);
    await q.query(`CREATE INDEX leaves_org_idx ON leaves (organization_code, leaf_index)`);
    await q.query(`CREATE INDEX leaves_resource_idx ON leaves (resource_id, leaf_index)`);
    await q.query(`CREATE INDEX leaves_time_idx ON leaves (time, leaf_index)`);
    await q.query(`
      CREATE TABLE nodes (
        level smallint NOT NULL,
        idx bigint NOT NULL,
        hash bytea NOT NULL,
        PRIMARY KEY (level, idx)
      )`);
    await q.query(`
      CREATE TABLE tree_state (
        id smallint PRIMARY KEY CHECK (id = 1),
        size bigint NOT NULL,
        root bytea NOT NULL
      )`);
    await q.query(`INSERT INTO tree_state (id, size, root) VALUES (1, 0, sha256(''::bytea))`);
    await q.query(`
      CREATE TABLE signing_keys (
        key_id varchar(16) PRIMARY KEY,
        public_key text NOT NULL,
        private_key text,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE checkpoints (
        id bigserial PRIMARY KEY,
        origin varchar(200) NOT NULL,
        tree_size bigint NOT NULL,
        root_hash bytea NOT NULL,
        signed_at timestamptz NOT NULL,
        key_id varchar(16) NOT NULL REFERENCES signing_keys (key_id),
        signature text NOT NULL
      )`);
    await q.query(`CREATE INDEX checkpoints_size_idx ON checkpoints (tree_size)`);
    await q.query(`
      CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'audit log table % is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
      END $$`);
    for (const t of ['leaves', 'nodes', 'checkpoints']) {
      await q.query(
        `CREATE TRIGGER ${t}_append_only BEFORE UPDATE OR DELETE ON ${t} FOR EACH ROW EXECUTE FUNCTION audit_append_only()`,
      );
      await q.query(
        `CREATE TRIGGER ${t}_no_truncate BEFORE TRUNCATE ON ${t} FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()`,
      );
      // Belt and braces for roles other than the owner; the owner (the app role here) is held by the trigger.
      await q.query(`REVOKE UPDATE, DELETE, TRUNCATE ON ${t} FROM PUBLIC`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS checkpoints, signing_keys, tree_state, nodes, leaves`);
    await q.query(`DROP FUNCTION IF EXISTS audit_append_only()`);
  }
}
