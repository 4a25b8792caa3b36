import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Business types 2 and 3: each document's history of recalls, updates and replacements (newest last), and the
 * links between a replacement and the document it replaces (both sides' own copies). One replacement per
 * document: the unique index turns a race of two into DOCUMENT_ALREADY_REPLACED.
 */
export class DocumentLifecycle1765100000000 implements MigrationInterface {
  name = 'DocumentLifecycle1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE documents
        ADD COLUMN history jsonb NOT NULL DEFAULT '[]',
        ADD COLUMN replaces_id uuid,
        ADD COLUMN replaced_by_id uuid`);
    await q.query(
      'CREATE UNIQUE INDEX documents_replaces_key ON documents (replaces_id) WHERE replaces_id IS NOT NULL',
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX IF EXISTS documents_replaces_key');
    await q.query(
      'ALTER TABLE documents DROP COLUMN history, DROP COLUMN replaces_id, DROP COLUMN replaced_by_id',
    );
  }
}
