import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every change of a recipient's status at the sender (GET /documents/{id}/recipients/{code}/history). Rows are
 * written by the statement that changes `document_recipients` (a data-modifying CTE), so history and status
 * commit together and cost no extra round trip. The initial `queued` is the document's `sent_at` (not stored:
 * a fan-out to 20,000 recipients would write 20,000 more rows for nothing).
 */
export class RecipientStatusChanges1765600000000 implements MigrationInterface {
  name = 'RecipientStatusChanges1765600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE recipient_status_changes (
        id                bigserial PRIMARY KEY,
        document_id       uuid NOT NULL,
        organization_code text NOT NULL,
        status            text NOT NULL,
        status_code       text,
        reason            text,
        at                timestamptz NOT NULL,
        recorded_at       timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      'CREATE INDEX recipient_status_changes_recipient ON recipient_status_changes (document_id, organization_code, id)',
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS recipient_status_changes');
  }
}
