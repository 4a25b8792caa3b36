import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Two updates (business type 2) of one document are two exchanges per recipient and two received packages:
 * the uniqueness of an exchange and of a received package takes the update's key (`payload.businessKey`,
 * empty for every other business type, so nothing changes for them).
 */
export class BusinessKey1765110000000 implements MigrationInterface {
  name = 'BusinessKey1765110000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE UNIQUE INDEX exchanges_sender_document_recipient_key ON exchanges
        (from_code, edxml_document_id, to_code, business_type, (COALESCE(payload->>'businessKey', '')))`);
    await q.query('DROP INDEX exchanges_sender_document_recipient');
    await q.query(`ALTER TABLE received_packages ADD COLUMN business_key text NOT NULL DEFAULT ''`);
    await q.query(`
      ALTER TABLE received_packages DROP CONSTRAINT received_packages_pkey,
        ADD PRIMARY KEY (from_code, edxml_document_id, business_type, business_key)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM received_packages WHERE business_key <> ''`);
    await q.query(`
      ALTER TABLE received_packages DROP CONSTRAINT received_packages_pkey,
        ADD PRIMARY KEY (from_code, edxml_document_id, business_type)`);
    await q.query('ALTER TABLE received_packages DROP COLUMN business_key');
    await q.query(
      'CREATE UNIQUE INDEX exchanges_sender_document_recipient ON exchanges (from_code, edxml_document_id, to_code, business_type)',
    );
    await q.query('DROP INDEX exchanges_sender_document_recipient_key');
  }
}
