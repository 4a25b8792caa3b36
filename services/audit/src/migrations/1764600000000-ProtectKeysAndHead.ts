import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * signing_keys becomes append-only like the log (a key once listed stays listed, so old checkpoints remain
 * verifiable), and the tree head may only grow: tree_state refuses a smaller size, another id, DELETE and
 * TRUNCATE. With the runtime role of AuditRuntimeGrants (no ownership) nothing below can be switched off.
 */
export class ProtectKeysAndHead1764600000000 implements MigrationInterface {
  name = 'ProtectKeysAndHead1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE TRIGGER signing_keys_append_only BEFORE UPDATE OR DELETE ON signing_keys FOR EACH ROW EXECUTE FUNCTION audit_append_only()`,
    );
    await q.query(
      `CREATE TRIGGER signing_keys_no_truncate BEFORE TRUNCATE ON signing_keys FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()`,
    );
    await q.query(`REVOKE UPDATE, DELETE, TRUNCATE ON signing_keys FROM PUBLIC`);
    await q.query(`
      CREATE FUNCTION audit_tree_head_grows() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP <> 'UPDATE' THEN
          RAISE EXCEPTION 'tree_state: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
        END IF;
        IF NEW.id <> OLD.id OR NEW.size < OLD.size THEN
          RAISE EXCEPTION 'tree_state: the tree head only grows (% -> %)', OLD.size, NEW.size
            USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(
      `CREATE TRIGGER tree_state_grows BEFORE UPDATE OR DELETE ON tree_state FOR EACH ROW EXECUTE FUNCTION audit_tree_head_grows()`,
    );
    await q.query(
      `CREATE TRIGGER tree_state_no_truncate BEFORE TRUNCATE ON tree_state FOR EACH STATEMENT EXECUTE FUNCTION audit_tree_head_grows()`,
    );
    await q.query(`REVOKE INSERT, DELETE, TRUNCATE ON tree_state FROM PUBLIC`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS tree_state_no_truncate ON tree_state`);
    await q.query(`DROP TRIGGER IF EXISTS tree_state_grows ON tree_state`);
    await q.query(`DROP FUNCTION IF EXISTS audit_tree_head_grows()`);
    await q.query(`DROP TRIGGER IF EXISTS signing_keys_no_truncate ON signing_keys`);
    await q.query(`DROP TRIGGER IF EXISTS signing_keys_append_only ON signing_keys`);
  }
}
