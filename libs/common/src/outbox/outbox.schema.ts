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
