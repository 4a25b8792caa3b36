import { Inject, Injectable } from '@nestjs/common';
import type { EventEnvelope, EventMap, EventType } from '@lienthong/contracts';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { BaseServiceConfig } from '../config/base-service.config';
import { currentCorrelationId } from '../logging/correlation';
import { SERVICE_IDENTITY, ServiceIdentity } from '../nats/nats.tokens';

export interface OutboxMessage<K extends EventType = EventType> {
  subject: string;
  type: K;
  data: EventMap[K];
  /** Defaults to a new uuid; pass a deterministic id to make the event itself idempotent. */
  id?: string;
}

export function outboxChannel(schema: string): string {
  return `outbox_${schema}`;
}

/**
 * Writes events in the caller's transaction. The relay publishes them after commit; NOTIFY is delivered
 * by PostgreSQL only when the transaction commits, which wakes the relay without polling delay.
 */
@Injectable()
export class OutboxService {
  constructor(
    private readonly config: BaseServiceConfig,
    @Inject(SERVICE_IDENTITY) private readonly id: ServiceIdentity,
  ) {}

  envelope<K extends EventType>(msg: OutboxMessage<K>): EventEnvelope<EventMap[K]> {
    return {
      id: msg.id ?? randomUUID(),
      type: msg.type,
      occurredAt: new Date().toISOString(),
      correlationId: currentCorrelationId(),
      source: `${this.id.service}@${this.id.nodeId}`,
      data: msg.data,
    };
  }

  async add(manager: EntityManager, ...messages: OutboxMessage[]): Promise<EventEnvelope[]> {
    if (messages.length === 0) return [];
    const envelopes = messages.map((m) => this.envelope(m));
    const values: unknown[] = [];
    const rows = envelopes.map((e, i) => {
      values.push(e.id, messages[i].subject, JSON.stringify(e));
      return `($${i * 3 + 1}, $${i * 3 + 2}, $${i * 3 + 3}::jsonb)`;
    });
    await manager.query(
      `INSERT INTO outbox (id, subject, envelope) VALUES ${rows.join(',')} ON CONFLICT (id) DO NOTHING`,
      values,
    );
    await manager.query(`SELECT pg_notify($1, '')`, [outboxChannel(this.config.DB_SCHEMA)]);
    return envelopes;
  }
}
