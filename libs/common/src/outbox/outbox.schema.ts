import type { QueryRunner } from 'typeorm';

/**
 * Tables every service needs for reliable messaging, created by each service's first migration in its
 * own schema (the connection's search_path points at it).
 */
export async function createMessagingTables(q: QueryRunner): Promise<void> {
  await q.query(`
    CREATE TABLE outbox (
      seq         bigserial PRIMARY KEY,
      id          uuid NOT NULL UNIQUE,
      subject     text NOT NULL,
      envelope    jsonb NOT NULL,
      created_at  timestamptz NOT NULL DEFAULT now(),
      attempts    integer NOT NULL DEFAULT 0,
      last_error  text
    )`);
  await q.query(`
    CREATE TABLE processed_messages (
      consumer     text NOT NULL,
      message_id   text NOT NULL,
      processed_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (consumer, message_id)
    )`);
}

export async function dropMessagingTables(q: QueryRunner): Promise<void> {
  await q.query('DROP TABLE IF EXISTS processed_messages');
  await q.query('DROP TABLE IF EXISTS outbox');
}

/**
 * The outbox envelope as text, with what the relay reads of it in columns of their own: PostgreSQL no longer
 * parses each envelope into jsonb when it is written, nor prints it again and extracts `type`,
 * `correlationId` and `traceparent` when the relay reads it (the relay publishes the stored text as it is).
 * Existing rows keep their envelope (jsonb's text form) and get the three columns from it. The columns stay
 * nullable: a replica still running the previous version writes rows without them during a rolling upgrade,
 * and the relay reads those from the envelope.
 */
export async function outboxEnvelopeAsText(q: QueryRunner): Promise<void> {
  await q.query(
    `ALTER TABLE outbox ADD COLUMN type text, ADD COLUMN correlation_id text, ADD COLUMN traceparent text`,
  );
  await q.query(`
    UPDATE outbox SET type = envelope->>'type', correlation_id = envelope->>'correlationId',
                      traceparent = envelope->>'traceparent'`);
  await q.query(`ALTER TABLE outbox ALTER COLUMN envelope TYPE text USING envelope::text`);
}

export async function outboxEnvelopeAsJsonb(q: QueryRunner): Promise<void> {
  await q.query(`ALTER TABLE outbox ALTER COLUMN envelope TYPE jsonb USING envelope::jsonb`);
  await q.query(`ALTER TABLE outbox DROP COLUMN type, DROP COLUMN correlation_id, DROP COLUMN traceparent`);
}
