import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Directory replication (README, "Directory replication"):
 * - `organizations.version`: on the authoritative node a value of `organization_version_seq`, renewed on
 *   every change (a sequence, so a code deleted and created again still gets a higher version); on a
 *   replica the version of the centre's state it holds (0 for the local bootstrap placeholder).
 * - `organizations.pending_parent_code`: on a replica, the centre's parent of an organization whose parent
 *   has not arrived yet (the compacted stream can hand a child before its parent); it is then kept as a
 *   root until the parent arrives.
 * - `directory_tombstones`: on a replica, the version of each deletion, so an older state never revives it.
 */
export class DirectoryReplication1764000000000 implements MigrationInterface {
  name = 'DirectoryReplication1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE SEQUENCE organization_version_seq`);
    // A volatile default: every existing row gets its own value.
    await q.query(
      `ALTER TABLE organizations ADD COLUMN version bigint NOT NULL DEFAULT nextval('organization_version_seq')`,
    );
    await q.query(`ALTER TABLE organizations ADD COLUMN pending_parent_code varchar(35) NULL`);
    await q.query(
      `CREATE INDEX organizations_pending_parent_idx ON organizations (pending_parent_code) WHERE pending_parent_code IS NOT NULL`,
    );
    await q.query(`
      CREATE TABLE directory_tombstones (
        code varchar(35) PRIMARY KEY,
        version bigint NOT NULL,
        deleted_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS directory_tombstones`);
    await q.query(`DROP INDEX IF EXISTS organizations_pending_parent_idx`);
    await q.query(`ALTER TABLE organizations DROP COLUMN IF EXISTS pending_parent_code`);
    await q.query(`ALTER TABLE organizations DROP COLUMN IF EXISTS version`);
    await q.query(`DROP SEQUENCE IF EXISTS organization_version_seq`);
  }
}
