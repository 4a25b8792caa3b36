import { Injectable } from '@nestjs/common';
import { preparedQuery } from '@lienthong/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { ExchangeRow, ExchangeState, TraceEntry } from '../exchanges/exchanges.repository';

/** What one attempt of the sender decided for one exchange. */
export interface AxisResult {
  id: string;
  /** The attempt number the claim gave the row; the result applies only while the row still has it. */
  attempts: number;
  /** The attempt count to store: `attempts`, or one less when no call was made (circuit open). */
  newAttempts: number;
  state: Extract<ExchangeState, 'sent' | 'failed' | 'dead' | 'queued'>;
  lastError: string | null;
  nextAttemptAt: Date | null;
  axisDocId: string | null;
  trace: TraceEntry;
}

/** Due for an attempt (rows past their TTL are left to the expirer). */
const due = (t: string) =>
  `${t}.route = 'national-axis' AND ${t}.state IN ('queued','sending') AND ${t}.next_attempt_at <= now() AND ${t}.expires_at > now()`;

/** SQL of the national-axis leg on the `exchanges` table (set-based; the sender never holds a lock across HTTP). */
@Injectable()
export class AxisExchangesRepository {
  constructor(readonly dataSource: DataSource) {}

  /**
   * Claims due exchanges for one round: whole documents (every due recipient of the first `limit` due rows'
   * documents, so one package carries them all: a document's advisory lock is taken before its rows), locked
   * with SKIP LOCKED so replicas share the work, and
   * leased: `sending`, the attempt counted, due again only after `leaseMs` (a sender that died mid-call
   * leaves them to be claimed again). Commits at once (`m`: with the caller's transaction, which the sender
   * commits before its HTTP calls). A named prepared statement (the sender's hottest).
   */
  async claim(limit: number, leaseMs: number, m?: EntityManager): Promise<ExchangeRow[]> {
    return preparedQuery<ExchangeRow>(
      m ?? this.dataSource,
      'axis_claim',
      `WITH picked AS (
         SELECT DISTINCT from_code, edxml_document_id, business_type
           FROM (SELECT from_code, edxml_document_id, business_type FROM exchanges d
                  WHERE ${due('d')} ORDER BY next_attempt_at LIMIT $1) d),
       -- A whole document or nothing: row locks are taken one row at a time, so two replicas could each
       -- lock part of a document's recipients (two packages); the document's advisory lock decides first.
       mine AS MATERIALIZED (
         SELECT * FROM picked
          WHERE pg_try_advisory_xact_lock(
                  hashtextextended('axis-claim|' || from_code || '|' || edxml_document_id || '|' || business_type, 0))),
       locked AS (
         SELECT e.id FROM exchanges e
           JOIN mine p ON p.from_code = e.from_code AND p.edxml_document_id = e.edxml_document_id
                        AND p.business_type = e.business_type
          WHERE ${due('e')}
          FOR UPDATE OF e SKIP LOCKED)
       UPDATE exchanges x
          SET state = 'sending', attempts = x.attempts + 1,
              next_attempt_at = now() + make_interval(secs => $2::double precision / 1000), updated_at = now()
         FROM locked WHERE x.id = locked.id
       -- Named columns, not x.*: a prepared statement's result type must not change when a migration adds one.
       RETURNING x.id, x.document_id, x.edxml_document_id, x.from_code, x.to_code, x.business_type, x.route,
                 x.target_node, x.state, x.attempts, x.last_error, x.next_attempt_at, x.expires_at, x.trace,
                 x.payload, x.axis_doc_id, x.created_at, x.updated_at`,
      [limit, leaseMs],
    );
  }

  /**
   * Applies a round's results in the caller's transaction, set-based. A row is changed only while it is still
   * the claim this round made (`sending` with the same attempt number): an exchange that expired, was
   * retried by an operator or re-claimed after the lease in the meantime keeps its newer state. Returns the
   * ids that changed.
   */
  async record(m: EntityManager, results: AxisResult[]): Promise<Set<string>> {
    if (results.length === 0) return new Set();
    // Not a named prepared statement: a generic plan cannot see how many ids the arrays hold (measured:
    // slower than the custom plan of each call).
    const res: unknown = await m.query(
      `UPDATE exchanges x SET
         state = r.state,
         attempts = r.new_attempts,
         last_error = r.last_error,
         next_attempt_at = r.next_attempt_at,
         axis_doc_id = COALESCE(r.axis_doc_id, x.axis_doc_id),
         trace = x.trace || jsonb_build_array(r.trace),
         updated_at = now()
       FROM unnest($1::uuid[], $2::int[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::jsonb[], $8::int[])
            AS r(id, attempts, state, last_error, next_attempt_at, axis_doc_id, trace, new_attempts)
       WHERE x.id = r.id AND x.state = 'sending' AND x.attempts = r.attempts
       RETURNING x.id`,
      [
        results.map((r) => r.id),
        results.map((r) => r.attempts),
        results.map((r) => r.state),
        results.map((r) => r.lastError),
        results.map((r) => r.nextAttemptAt),
        results.map((r) => r.axisDocId),
        results.map((r) => JSON.stringify(r.trace)),
        results.map((r) => r.newAttempts),
      ],
    );
    // TypeORM answers an UPDATE … RETURNING with `[rows, count]`.
    const rows = (Array.isArray(res) && Array.isArray(res[0]) ? res[0] : res) as { id: string }[];
    return new Set(rows.map((r) => r.id));
  }

  /**
   * Exchanges past their time to live, locked for the expirer. A claim still in flight (`sending`, lease
   * running) is left to its sender, which records its result; it expires once the lease lapsed.
   */
  async lockExpired(m: EntityManager, limit = 100): Promise<ExchangeRow[]> {
    return m.query(
      `SELECT * FROM exchanges
        WHERE expires_at <= now() AND (state = 'queued' OR (state = 'sending' AND next_attempt_at <= now()))
        ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [limit],
    );
  }

  /**
   * Whether `agency` is a recipient of the document `edxmlDocumentId` through the national axis: the only
   * exchanges an axis status may answer. Served by the (edxml_document_id, to_code) index.
   */
  async sentThroughAxis(edxmlDocumentId: string, agency: string): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `SELECT 1 FROM exchanges WHERE edxml_document_id = $1 AND to_code = $2 AND route = 'national-axis' LIMIT 1`,
      [edxmlDocumentId, agency],
    );
    return rows.length > 0;
  }

  /** Axis items this node refused already (they are not fetched or judged again). */
  async refusedItems(docIds: string[]): Promise<Set<string>> {
    if (docIds.length === 0) return new Set();
    const rows: { doc_id: string }[] = await this.dataSource.query(
      'SELECT doc_id FROM axis_refused_items WHERE doc_id = ANY($1::text[])',
      [docIds],
    );
    return new Set(rows.map((r) => r.doc_id));
  }

  async recordRefusedItem(
    m: EntityManager,
    item: { docId: string; messageType: string; from: string; reason: string },
  ): Promise<boolean> {
    const rows: unknown[] = await m.query(
      `INSERT INTO axis_refused_items (doc_id, message_type, from_code, reason) VALUES ($1,$2,$3,$4)
       ON CONFLICT DO NOTHING RETURNING 1`,
      [item.docId, item.messageType, item.from, item.reason],
    );
    return rows.length === 1;
  }
}
