import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Recipient groups (an organization's named recipient lists), the recipient rules and groups a document was
 * addressed with (expanded into `recipients` at send), and the directory index the rule expansion walks.
 */
export class RecipientGroups1765200000000 implements MigrationInterface {
  name = 'RecipientGroups1765200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE recipient_groups (
        id                uuid PRIMARY KEY,
        organization_code text NOT NULL,
        name              text NOT NULL,
        members           text[] NOT NULL,
        created_by        text NOT NULL,
        created_at        timestamptz NOT NULL DEFAULT now(),
        updated_at        timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE UNIQUE INDEX recipient_groups_name_key ON recipient_groups (organization_code, lower(name))`,
    );
    await q.query(
      `ALTER TABLE documents ADD COLUMN recipient_rules jsonb NOT NULL DEFAULT '[]'::jsonb,
         ADD COLUMN recipient_groups uuid[] NOT NULL DEFAULT '{}'`,
    );
    await q.query(`CREATE INDEX organization_directory_parent_idx ON organization_directory (parent_code)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX IF EXISTS organization_directory_parent_idx');
    await q.query(
      'ALTER TABLE documents DROP COLUMN IF EXISTS recipient_groups, DROP COLUMN IF EXISTS recipient_rules',
    );
    await q.query('DROP TABLE IF EXISTS recipient_groups');
  }
}
