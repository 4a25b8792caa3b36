import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Exchanges1764000000000 implements MigrationInterface {
  name = 'Exchanges1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE exchanges (
        id                 uuid PRIMARY KEY,
        document_id        text NOT NULL,
        edxml_document_id  text NOT NULL,
        from_code          text NOT NULL,
        to_code            text NOT NULL,
        business_type      smallint NOT NULL DEFAULT 0,
        route              text NOT NULL CHECK (route IN ('local','federation','national-axis')),
        target_node        text,
        state              text NOT NULL CHECK (state IN ('queued','sending','sent','delivered','failed','expired','dead')),
        attempts           integer NOT NULL DEFAULT 0,
        last_error         text,
        next_attempt_at    timestamptz,
        expires_at         timestamptz NOT NULL,
        trace              jsonb NOT NULL DEFAULT '[]',
        payload            jsonb NOT NULL,
        axis_doc_id        text,
        created_at         timestamptz NOT NULL DEFAULT now(),
        updated_at         timestamptz NOT NULL DEFAULT now()
      )`);
    // Duplicate detection: one exchange per sender + DocumentId + recipient.
    await q.query(
      'CREATE UNIQUE INDEX exchanges_sender_document_recipient ON exchanges (from_code, edxml_document_id, to_code, business_type)',
    );
    await q.query('CREATE INDEX exchanges_document ON exchanges (document_id)');
    await q.query(
      `CREATE INDEX exchanges_due ON exchanges (next_attempt_at) WHERE state IN ('queued','sending')`,
    );
    await q.query('CREATE INDEX exchanges_state ON exchanges (state, created_at)');
    // Packages received from outside (API, national axis, federation): sender + DocumentId applied once.
    await q.query(`
      CREATE TABLE received_packages (
        from_code          text NOT NULL,
        edxml_document_id  text NOT NULL,
        business_type      smallint NOT NULL DEFAULT 0,
        origin             text NOT NULL,
        answer             jsonb NOT NULL,
        received_at        timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (from_code, edxml_document_id, business_type)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS received_packages');
    await q.query('DROP TABLE IF EXISTS exchanges');
  }
}
