import { Inject, Injectable } from '@nestjs/common';
import type { EventEnvelope, EventMap, EventType } from '@lienthong/contracts';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { currentCorrelationId } from '../logging/correlation';
import { currentTraceparent } from '../tracing/tracing';
import { SERVICE_IDENTITY, ServiceIdentity } from '../nats/nats.tokens';
import { markOutboxWritten } from './outbox-wake';
import { preparedQuery } from '../database/prepared';
import { deferUntilCommit } from '../database/pipelining-client';

export interface OutboxMessage<K extends EventType = EventType> {
  subject: string;
  type: K;
  data: EventMap[K];
  /** Defaults to a new uuid; pass a deterministic id to make the event itself idempotent. */
  id?: string;
}

/** Rows per INSERT statement: 6 parameters each, well under PostgreSQL's 65,535 parameters. */
const ROWS_PER_STATEMENT = 5000;
/** Up to this many rows, the INSERT is a named prepared statement (see insert()). */
const PREPARED_MAX_ROWS = 8;

/**
 * Writes events in the caller's transaction, all of them in one multi-row INSERT. The relay publishes them
 * after commit: the transaction is marked, and the commit hook (OutboxWake) wakes the relay in this process
 * and, by a core NATS message, in the other replicas. No `pg_notify`: NOTIFY takes a cluster-wide lock at
 * commit and so serialised the commits of every service sharing the database.
 */
@Injectable()
export class OutboxService {
  constructor(@Inject(SERVICE_IDENTITY) private readonly id: ServiceIdentity) {}

  envelope<K extends EventType>(msg: OutboxMessage<K>): EventEnvelope<EventMap[K]> {
    // The transaction's span, so the relay publishes the event as part of the trace that wrote it.
    const traceparent = currentTraceparent();
    return {
      id: msg.id ?? randomUUID(),
      type: msg.type,
      occurredAt: new Date().toISOString(),
      correlationId: currentCorrelationId(),
      source: `${this.id.service}@${this.id.nodeId}`,
      data: msg.data,
      ...(traceparent ? { traceparent } : {}),
    };
  }

  async add(manager: EntityManager, ...messages: OutboxMessage[]): Promise<EventEnvelope[]> {
    if (messages.length === 0) return [];
    const envelopes = messages.map((m) => this.envelope(m));
    await this.insert(
      manager,
      envelopes.map((e, i) => ({ subject: messages[i].subject, envelope: e })),
    );
    return envelopes;
  }

  /** Inserts ready envelopes (in this order, so the relay publishes them in this order). */
  async insert(manager: EntityManager, rows: { subject: string; envelope: EventEnvelope }[]): Promise<void> {
    for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
      const chunk = rows.slice(start, start + ROWS_PER_STATEMENT);
      const values: unknown[] = [];
      const tuples = chunk.map((r, i) => {
        // The envelope as text (no jsonb parsing), and what the relay needs of it in columns of its own.
        const e = r.envelope;
        values.push(
          e.id,
          r.subject,
          JSON.stringify(e),
          e.type,
          e.correlationId ?? null,
          e.traceparent ?? null,
        );
        const p = i * 6;
        return `($${p + 1}::uuid, $${p + 2}, $${p + 3}, $${p + 4}, $${p + 5}, $${p + 6})`;
      });
      const text = `INSERT INTO outbox (id, subject, envelope, type, correlation_id, traceparent) VALUES ${tuples.join(',')} ON CONFLICT (id) DO NOTHING`;
      // The common small shapes as named prepared statements (one per row count, so a bounded few per
      // connection); larger batches are rarer and stay unnamed.
      const name = chunk.length <= PREPARED_MAX_ROWS ? `lt_outbox_insert_${chunk.length}` : undefined;
      const runNow = () => (name ? preparedQuery(manager, name, text, values) : manager.query(text, values));
      // The last INSERT goes on the wire with the transaction's COMMIT (or its next statement).
      if (start + ROWS_PER_STATEMENT >= rows.length)
        await deferUntilCommit(manager, { name, text, values }, runNow);
      else await runNow();
    }
    markOutboxWritten(manager);
  }
}
