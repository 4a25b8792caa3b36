import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Checkpoint witnessing (federation). On the central node: `witnessed_checkpoints` (every verdict, refusals
 * included: they are the evidence) and `witness_node_keys` (keys pinned per node). On a signing node:
 * `checkpoint_cosignatures` (the witnesses' answers about its own checkpoints). All append-only, held by the
 * same trigger as the log.
 */
export class Witness1764400000000 implements MigrationInterface {
  name = 'Witness1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE witnessed_checkpoints (
        id bigserial PRIMARY KEY,
        node_id varchar(32) NOT NULL,
        origin varchar(200) NOT NULL,
        tree_size bigint NOT NULL,
        root_hash bytea NOT NULL,
        checkpoint_timestamp varchar(64) NOT NULL,
        key_id varchar(16) NOT NULL,
        signature text NOT NULL,
        public_key text NOT NULL,
        previous_size bigint,
        previous_root bytea,
        verdict varchar(16) NOT NULL CHECK (verdict IN ('cosigned', 'refused')),
        reason varchar(32),
        detail text,
        cosignature text,
        witness_key_id varchar(16),
        witnessed_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX witnessed_checkpoints_node_idx ON witnessed_checkpoints (node_id, id)`);
    await q.query(
      `CREATE INDEX witnessed_checkpoints_answer_idx ON witnessed_checkpoints (node_id, tree_size, root_hash, id)`,
    );
    // One cosignature per node head: the witness never says yes twice to the same thing.
    await q.query(
      `CREATE UNIQUE INDEX witnessed_checkpoints_cosigned_uq ON witnessed_checkpoints (node_id, tree_size, root_hash) WHERE verdict = 'cosigned'`,
    );
    await q.query(`
      CREATE TABLE witness_node_keys (
        node_id varchar(32) NOT NULL,
        key_id varchar(16) NOT NULL,
        public_key text NOT NULL,
        pinned_at timestamptz NOT NULL DEFAULT now(),
        pinned_at_size bigint NOT NULL,
        PRIMARY KEY (node_id, key_id)
      )`);
    await q.query(`
      CREATE TABLE checkpoint_cosignatures (
        id bigserial PRIMARY KEY,
        witness varchar(200) NOT NULL,
        tree_size bigint NOT NULL,
        root_hash bytea NOT NULL,
        checkpoint_id bigint REFERENCES checkpoints (id),
        verdict varchar(16) NOT NULL CHECK (verdict IN ('cosigned', 'refused')),
        reason varchar(32),
        cosignature text,
        witness_key_id varchar(16),
        cosignature_verified boolean,
        witnessed_at timestamptz NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE UNIQUE INDEX checkpoint_cosignatures_uq ON checkpoint_cosignatures (witness, tree_size, root_hash, verdict, coalesce(reason, ''))`,
    );
    await q.query(`CREATE INDEX checkpoint_cosignatures_size_idx ON checkpoint_cosignatures (tree_size, id)`);
    for (const t of ['witnessed_checkpoints', 'witness_node_keys', 'checkpoint_cosignatures']) {
      await q.query(
        `CREATE TRIGGER ${t}_append_only BEFORE UPDATE OR DELETE ON ${t} FOR EACH ROW EXECUTE FUNCTION audit_append_only()`,
      );
      await q.query(
        `CREATE TRIGGER ${t}_no_truncate BEFORE TRUNCATE ON ${t} FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()`,
      );
      await q.query(`REVOKE UPDATE, DELETE, TRUNCATE ON ${t} FROM PUBLIC`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS checkpoint_cosignatures, witness_node_keys, witnessed_checkpoints`);
  }
}
