import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Leaner exchange rows and indexes (issue 12: the exchanges INSERT and the 01 UPDATE were the bus's costliest
 * statements; every state change of an exchange is a new row version and a new entry in each of its indexes).
 *
 * - `business_key` is a column: the unique index no longer evaluates `payload->>'businessKey'` (a jsonb
 *   lookup in the row's document) on every insert and state change.
 * - The unique index leads with (edxml_document_id, to_code): it also serves the lookups by DocumentId and
 *   recipient (axis statuses, `findFor`), so `exchanges_edxml_recipient` goes — one index less to maintain.
 *   Lookups by sender + DocumentId (+ recipients) use its prefix.
 * - `exchanges_state` becomes partial: only the states an operator or a gauge looks for (every state but
 *   `delivered`, the bulk of the table, which an index on state could not serve anyway). A 01 no longer adds
 *   an entry to it.
 * - `exchanges_document` also holds `to_code`: an answer naming its document and receiver finds its row.
 * - `payload` may be NULL: a local exchange whose delivery was published reads its copy of the document only
 *   for an operator retry (after a failure), which takes it from the exchange of the same document that keeps
 *   it (one per routing INSERT). A document to three local recipients is stored once, not three times.
 */
export class LeanExchangeRows1766560000000 implements MigrationInterface {
  name = 'LeanExchangeRows1766560000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE exchanges ADD COLUMN business_key text NOT NULL DEFAULT ''`);
    await q.query(
      `UPDATE exchanges SET business_key = payload->>'businessKey' WHERE COALESCE(payload->>'businessKey', '') <> ''`,
    );
    await q.query(`
      CREATE UNIQUE INDEX exchanges_edxml_recipient_sender_key ON exchanges
        (edxml_document_id, to_code, from_code, business_type, business_key)`);
    await q.query('DROP INDEX exchanges_sender_document_recipient_key');
    await q.query('DROP INDEX exchanges_edxml_recipient');
    await q.query(`
      CREATE INDEX exchanges_open_state ON exchanges (state, created_at)
        WHERE state IN ('queued', 'sending', 'sent', 'failed', 'expired', 'dead')`);
    await q.query('DROP INDEX exchanges_state');
    await q.query('CREATE INDEX exchanges_document_recipient ON exchanges (document_id, to_code)');
    await q.query('DROP INDEX exchanges_document');
    await q.query('ALTER TABLE exchanges ALTER COLUMN payload DROP NOT NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    // Forward-only in production; this restores the schema for a development rollback: each exchange gets
    // back its copy of the document from the exchange of the same document that kept it.
    await q.query(`
      UPDATE exchanges e SET payload = COALESCE(
        jsonb_set((SELECT s.payload FROM exchanges s
                    WHERE s.edxml_document_id = e.edxml_document_id AND s.from_code = e.from_code
                      AND s.business_type = e.business_type AND s.business_key = e.business_key
                      AND s.payload IS NOT NULL LIMIT 1),
                  '{recipients}', jsonb_build_array(e.to_code)),
        jsonb_build_object('businessKey', e.business_key))
       WHERE e.payload IS NULL`);
    await q.query('ALTER TABLE exchanges ALTER COLUMN payload SET NOT NULL');
    await q.query('CREATE INDEX exchanges_document ON exchanges (document_id)');
    await q.query('DROP INDEX exchanges_document_recipient');
    await q.query('CREATE INDEX exchanges_state ON exchanges (state, created_at)');
    await q.query('DROP INDEX exchanges_open_state');
    await q.query('CREATE INDEX exchanges_edxml_recipient ON exchanges (edxml_document_id, to_code)');
    await q.query(`
      CREATE UNIQUE INDEX exchanges_sender_document_recipient_key ON exchanges
        (from_code, edxml_document_id, to_code, business_type, (COALESCE(payload->>'businessKey', '')))`);
    await q.query('DROP INDEX exchanges_edxml_recipient_sender_key');
    await q.query('ALTER TABLE exchanges DROP COLUMN business_key');
  }
}
