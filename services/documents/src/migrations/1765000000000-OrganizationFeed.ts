import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Each organization's feed of document events (webhooks and gRPC `Watch` read it by cursor). */
export class OrganizationFeed1765000000000 implements MigrationInterface {
  name = 'OrganizationFeed1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE organization_event_counters (
        organization_code text PRIMARY KEY,
        last_seq          bigint NOT NULL
      )`);
    await q.query(`
      CREATE TABLE organization_events (
        id                uuid PRIMARY KEY,
        organization_code text NOT NULL,
        seq               bigint NOT NULL,
        type              text NOT NULL,
        document_id       uuid NOT NULL,
        time              timestamptz NOT NULL DEFAULT now(),
        data              jsonb NOT NULL,
        UNIQUE (organization_code, seq)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS organization_events');
    await q.query('DROP TABLE IF EXISTS organization_event_counters');
  }
}
