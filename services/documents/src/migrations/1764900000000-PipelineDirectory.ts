import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The local organization directory (fed by `organization.changed`, so sending asks identity nothing), and an
 * index for counting a large document's recipients by status.
 */
export class PipelineDirectory1764900000000 implements MigrationInterface {
  name = 'PipelineDirectory1764900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE organization_directory (
        code        text PRIMARY KEY,
        parent_code text,
        level       text,
        sector      text,
        zone        text,
        node_id     text,
        deleted     boolean NOT NULL DEFAULT false,
        changed_at  timestamptz NOT NULL
      )`);
    await q.query(`CREATE INDEX document_recipients_status_idx ON document_recipients (document_id, status)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX IF EXISTS document_recipients_status_idx');
    await q.query('DROP TABLE IF EXISTS organization_directory');
  }
}
