import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The national-axis leg: the sender claims due axis exchanges by this partial index (a few rows among all
 * exchanges), an axis status finds the exchange it answers by DocumentId and recipient (the unique index
 * leads with the sender, which a status names only indirectly), and axis items this node refused are
 * remembered so that an item the axis keeps listing is not fetched and judged again on every poll.
 */
export class NationalAxisLeg1764600000000 implements MigrationInterface {
  name = 'NationalAxisLeg1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX exchanges_axis_due ON exchanges (next_attempt_at)
         WHERE route = 'national-axis' AND state IN ('queued','sending')`,
    );
    await q.query('CREATE INDEX exchanges_edxml_recipient ON exchanges (edxml_document_id, to_code)');
    await q.query(`
      CREATE TABLE axis_refused_items (
        doc_id        text PRIMARY KEY,
        message_type  text NOT NULL,
        from_code     text NOT NULL,
        reason        text NOT NULL,
        refused_at    timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS axis_refused_items');
    await q.query('DROP INDEX IF EXISTS exchanges_edxml_recipient');
    await q.query('DROP INDEX IF EXISTS exchanges_axis_due');
  }
}
