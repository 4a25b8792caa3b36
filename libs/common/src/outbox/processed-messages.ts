import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { preparedQuery } from '../database/prepared';

/**
 * Idempotent consumers: claim a message id inside the handler's transaction. If the id was already
 * applied, the claim fails and the handler does nothing; if the transaction rolls back, so does the claim.
 */
@Injectable()
export class ProcessedMessages {
  async claim(manager: EntityManager, consumer: string, messageId: string): Promise<boolean> {
    const rows = await preparedQuery(
      manager,
      'lt_processed_claim',
      'INSERT INTO processed_messages (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1',
      [consumer, messageId],
    );
    return rows.length === 1;
  }

  /** Claims many at once; returns the ids that were new. */
  async claimMany(manager: EntityManager, consumer: string, messageIds: string[]): Promise<Set<string>> {
    if (messageIds.length === 0) return new Set();
    const rows = await preparedQuery<{ message_id: string }>(
      manager,
      'lt_processed_claim_many',
      `INSERT INTO processed_messages (consumer, message_id)
       SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING RETURNING message_id`,
      [consumer, messageIds],
    );
    return new Set(rows.map((r) => r.message_id));
  }
}
