import { Injectable } from '@nestjs/common';
import { preparedQuery } from '@lienthong/common';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { markFeedWritten } from './feed-wake';

/** The event types an agency system may subscribe to (API.md, additions of 2026-11-30). */
export const FEED_EVENT_TYPES = [
  'document.incoming',
  'document.status',
  'document.recalled',
  'document.updated',
  'document.replaced',
] as const;
export type FeedEventType = (typeof FEED_EVENT_TYPES)[number];

/** One thing that happened to one organization's document, as webhooks and `Watch` show it. */
export interface FeedEvent {
  /** The organization told (the recipient of an incoming document, the sender for a status). */
  organizationCode: string;
  type: FeedEventType;
  /** That organization's own copy of the document. */
  documentId: string;
  /** Shown to the subscriber as `data` beside `documentId`; no secrets, no file content. */
  data?: Record<string, unknown>;
  /** A deterministic id keeps a redelivered cause from being told twice. */
  id?: string;
}

/**
 * Each organization's feed of events, written in the transaction that changes the document (so nothing is told
 * that did not happen, and nothing that happened is lost). `seq` counts per organization, gap-free and in commit
 * order (one counter row per organization, locked until commit), so a subscriber's cursor is a plain number and
 * events of one document are told in the order they happened.
 */
@Injectable()
export class OrganizationFeed {
  /** Appends events (set-based: one counter update per organization, one INSERT). */
  async record(m: EntityManager, given: FeedEvent[]): Promise<void> {
    if (given.length === 0) return;
    // A cause told before (a redelivered message whose claim raced) is not counted again.
    const withIds = given.map((e) => ({ ...e, id: e.id ?? randomUUID() }));
    const explicit = given.flatMap((e) => (e.id ? [e.id] : []));
    const seen = new Set<string>(
      explicit.length
        ? (
            await preparedQuery<{ id: string }>(
              m,
              'lt_feed_known',
              `SELECT id FROM organization_events WHERE id = ANY($1::uuid[])`,
              [explicit],
            )
          ).map((r: { id: string }) => r.id)
        : [],
    );
    const events = withIds.filter((e) => !seen.has(e.id));
    if (events.length === 0) return;
    const counts = new Map<string, number>();
    for (const e of events) counts.set(e.organizationCode, (counts.get(e.organizationCode) ?? 0) + 1);
    const orgs = [...counts.keys()].sort(); // one lock order for every transaction: no deadlock between two
    const rows = await preparedQuery<{ organization_code: string; last_seq: string }>(
      m,
      'lt_feed_counters',
      `INSERT INTO organization_event_counters (organization_code, last_seq)
       SELECT * FROM unnest($1::text[], $2::bigint[])
       ON CONFLICT (organization_code) DO UPDATE
         SET last_seq = organization_event_counters.last_seq + EXCLUDED.last_seq
       RETURNING organization_code, last_seq`,
      [orgs, orgs.map((o) => counts.get(o))],
    );
    const next = new Map(
      rows.map((r) => [r.organization_code, Number(r.last_seq) - counts.get(r.organization_code)!]),
    );
    const seqs = events.map((e) => {
      const s = next.get(e.organizationCode)! + 1;
      next.set(e.organizationCode, s);
      return s;
    });
    await preparedQuery(
      m,
      'lt_feed_insert',
      `INSERT INTO organization_events (id, organization_code, seq, type, document_id, data)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::uuid[], $6::jsonb[])
       ON CONFLICT (id) DO NOTHING`,
      [
        events.map((e) => e.id),
        events.map((e) => e.organizationCode),
        seqs,
        events.map((e) => e.type),
        events.map((e) => e.documentId),
        events.map((e) => JSON.stringify(e.data ?? {})),
      ],
    );
    // At commit (never after a rollback) FeedWake wakes this replica's readers and, over NATS, the others'.
    markFeedWritten(m);
  }
}
