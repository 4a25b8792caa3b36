import { outboxEnvelopeAsJsonb, outboxEnvelopeAsText } from '@lienthong/common';
import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The outbox envelope stored as text, type / correlation id / traceparent in columns (outboxEnvelopeAsText). */
export class OutboxEnvelopeText1766600000004 implements MigrationInterface {
  name = 'OutboxEnvelopeText1766600000004';

  async up(q: QueryRunner): Promise<void> {
    await outboxEnvelopeAsText(q);
  }

  async down(q: QueryRunner): Promise<void> {
    await outboxEnvelopeAsJsonb(q);
  }
}
