import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Webhook subscriptions of agency systems: each reads its organization's feed (`organization_events`) by a
 * cursor that advances only after the receiver acknowledged (2xx), and its delivery attempts are kept.
 */
export class Subscriptions1765300000000 implements MigrationInterface {
  name = 'Subscriptions1765300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE subscriptions (
        id                uuid PRIMARY KEY,
        organization_code text NOT NULL,
        url               text NOT NULL,
        events            text[] NOT NULL,
        secret            text NOT NULL,
        cursor            bigint NOT NULL,
        created_by        text NOT NULL,
        created_at        timestamptz NOT NULL DEFAULT now(),
        failures          integer NOT NULL DEFAULT 0,
        next_attempt_at   timestamptz NOT NULL DEFAULT now(),
        lease_owner       uuid,
        lease_until       timestamptz,
        last_attempt_at   timestamptz,
        last_delivered_at timestamptz,
        last_error        text
      )`);
    await q.query('CREATE INDEX subscriptions_organization_idx ON subscriptions (organization_code, id)');
    await q.query('CREATE INDEX subscriptions_due_idx ON subscriptions (next_attempt_at)');
    await q.query(`
      CREATE TABLE subscription_deliveries (
        id              bigserial PRIMARY KEY,
        subscription_id uuid NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
        event_id        uuid NOT NULL,
        seq             bigint NOT NULL,
        attempt         integer NOT NULL,
        at              timestamptz NOT NULL DEFAULT now(),
        status_code     integer,
        error           text,
        duration_ms     integer NOT NULL
      )`);
    await q.query(
      'CREATE INDEX subscription_deliveries_subscription_idx ON subscription_deliveries (subscription_id, id)',
    );
    await q.query('CREATE INDEX subscription_deliveries_at_idx ON subscription_deliveries (at)');
    // Pruning of the feed by age (FEED_RETENTION_DAYS).
    await q.query('CREATE INDEX organization_events_time_idx ON organization_events (time)');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX IF EXISTS organization_events_time_idx');
    await q.query('DROP TABLE IF EXISTS subscription_deliveries');
    await q.query('DROP TABLE IF EXISTS subscriptions');
  }
}
