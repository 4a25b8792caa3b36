import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { RoutedDocument } from './routed-document';

export type Route = 'local' | 'federation' | 'national-axis';
export type ExchangeState = 'queued' | 'sending' | 'sent' | 'delivered' | 'failed' | 'expired' | 'dead';
export interface TraceEntry {
  at: string;
  event: string;
  detail?: unknown;
}

export interface ExchangeRow {
  id: string;
  document_id: string;
  edxml_document_id: string;
  from_code: string;
  to_code: string;
  business_type: number;
  route: Route;
  target_node: string | null;
  state: ExchangeState;
  attempts: number;
  last_error: string | null;
  next_attempt_at: Date | null;
  expires_at: Date;
  trace: TraceEntry[];
  payload: RoutedDocument;
  axis_doc_id: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface NewExchange {
  id: string;
  documentId: string;
  edxmlDocumentId: string;
  from: string;
  to: string;
  businessType: number;
  route: Route;
  targetNode?: string | null;
  state: ExchangeState;
  lastError?: string | null;
  expiresAt: Date;
  trace: TraceEntry[];
  payload: RoutedDocument;
}

/** The `exchanges` table: one row per document and recipient (API.md, Integration bus). */
@Injectable()
export class ExchangesRepository {
  constructor(readonly dataSource: DataSource) {}

  /** Inserts unless the same sender + DocumentId + recipient exists; returns whether it was new. */
  async insert(m: EntityManager, e: NewExchange): Promise<boolean> {
    const rows: unknown[] = await m.query(
      `INSERT INTO exchanges (id, document_id, edxml_document_id, from_code, to_code, business_type, route, target_node, state,
                              last_error, next_attempt_at, expires_at, trace, payload)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10, now(), $11, $12::jsonb, $13::jsonb)
       ON CONFLICT DO NOTHING RETURNING 1`,
      [
        e.id,
        e.documentId,
        e.edxmlDocumentId,
        e.from,
        e.to,
        e.businessType,
        e.route,
        e.targetNode ?? null,
        e.state,
        e.lastError ?? null,
        e.expiresAt,
        JSON.stringify(e.trace),
        JSON.stringify(e.payload),
      ],
    );
    return rows.length === 1;
  }

  /**
   * Inserts many exchanges in one statement (a document to 20,000 organizations is one INSERT); rows whose
   * sender + DocumentId + recipient exist are skipped. Returns the ids that were new.
   */
  /**
   * The exchanges of one document, one INSERT. Each row's payload is the document naming only its own
   * recipient; the document is sent once and each row's copy built by PostgreSQL (a directive to 10,000
   * organizations does not serialise and parse the document 10,000 times).
   */
  async insertMany(
    m: EntityManager,
    rows: Omit<NewExchange, 'payload'>[],
    payload: RoutedDocument,
  ): Promise<Set<string>> {
    if (rows.length === 0) return new Set();
    const inserted: { id: string }[] = await m.query(
      `INSERT INTO exchanges (id, document_id, edxml_document_id, from_code, to_code, business_type, route, target_node,
                              state, last_error, next_attempt_at, expires_at, trace, payload)
       SELECT e.id, e.document_id, e.edxml_document_id, e.from_code, e.to_code, e.business_type, e.route,
              e.target_node, e.state, e.last_error, now(), e.expires_at, e.trace,
              jsonb_set($2::jsonb, '{recipients}', jsonb_build_array(e.to_code))
       FROM jsonb_to_recordset($1::jsonb) AS e(id uuid, document_id text, edxml_document_id text, from_code text,
         to_code text, business_type int, route text, target_node text, state text, last_error text,
         expires_at timestamptz, trace jsonb)
       ON CONFLICT DO NOTHING RETURNING id`,
      [
        JSON.stringify(
          rows.map((e) => ({
            id: e.id,
            document_id: e.documentId,
            edxml_document_id: e.edxmlDocumentId,
            from_code: e.from,
            to_code: e.to,
            business_type: e.businessType,
            route: e.route,
            target_node: e.targetNode ?? null,
            state: e.state,
            last_error: e.lastError ?? null,
            expires_at: e.expiresAt,
            trace: e.trace,
          })),
        ),
        JSON.stringify({ ...payload, recipients: [] }),
      ],
    );
    return new Set(inserted.map((r) => r.id));
  }

  /** Existing exchanges of one sender + DocumentId for these recipients (the ones a redelivery did not insert). */
  async findExisting(
    m: EntityManager,
    from: string,
    edxmlDocumentId: string,
    to: string[],
  ): Promise<ExchangeRow[]> {
    if (to.length === 0) return [];
    return m.query(
      `SELECT * FROM exchanges WHERE from_code = $1 AND edxml_document_id = $2 AND to_code = ANY($3::text[])
       ORDER BY created_at`,
      [from, edxmlDocumentId, to],
    );
  }

  /**
   * The first receiver answer of many local exchanges at once: `queued|sending|sent|failed` → `delivered`.
   * Returns the exchanges that changed.
   */
  async markDeliveredMany(
    m: EntityManager,
    items: { edxmlDocumentId: string; to: string; from: string; statusCode: string }[],
    at: string,
  ): Promise<{ id: string; to_code: string; status_code: string }[]> {
    if (items.length === 0) return [];
    return m.query(
      `WITH x AS (
         SELECT DISTINCT ON (edxml, to_code) edxml, to_code, from_code, status_code
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS t(edxml, to_code, from_code, status_code)),
       changed AS (
         UPDATE exchanges e SET state = 'delivered', next_attempt_at = NULL, updated_at = now(),
           trace = e.trace || jsonb_build_array(jsonb_build_object('at', $5::text, 'event', 'delivered',
             'detail', jsonb_build_object('statusCode', x.status_code)))
         FROM x
         -- The unique (from_code, edxml_document_id, to_code, business_type) index finds each row; by
         -- document_id alone a directive to 10,000 organizations scanned 10,000 rows per status.
         WHERE e.from_code = x.from_code AND e.edxml_document_id = x.edxml AND e.to_code = x.to_code
           AND e.business_type = 0
           AND e.state IN ('queued', 'sending', 'sent', 'failed')
         RETURNING e.id, e.to_code, x.status_code)
       SELECT id, to_code, status_code FROM changed`,
      [
        items.map((i) => i.edxmlDocumentId),
        items.map((i) => i.to),
        items.map((i) => i.from),
        items.map((i) => i.statusCode),
        at,
      ],
    );
  }

  async findById(m: EntityManager, id: string, lock = false): Promise<ExchangeRow | undefined> {
    const rows: ExchangeRow[] = await m.query(
      `SELECT * FROM exchanges WHERE id = $1${lock ? ' FOR UPDATE' : ''}`,
      [id],
    );
    return rows[0];
  }

  async findFor(
    m: EntityManager,
    where: { documentId?: string; edxmlDocumentId?: string; to: string; from?: string },
  ): Promise<ExchangeRow[]> {
    const cond = ['to_code = $1'];
    const params: unknown[] = [where.to];
    if (where.documentId) cond.push(`document_id = $${params.push(where.documentId)}`);
    if (where.edxmlDocumentId) cond.push(`edxml_document_id = $${params.push(where.edxmlDocumentId)}`);
    if (where.from) cond.push(`from_code = $${params.push(where.from)}`);
    return m.query(
      `SELECT * FROM exchanges WHERE ${cond.join(' AND ')} ORDER BY created_at FOR UPDATE`,
      params,
    );
  }

  /** Picks one due national-axis exchange and locks it; other replicas skip it. */
  async lockDue(m: EntityManager): Promise<ExchangeRow | undefined> {
    const rows: ExchangeRow[] = await m.query(
      `SELECT * FROM exchanges WHERE state IN ('queued','sending') AND route = 'national-axis' AND next_attempt_at <= now()
       ORDER BY next_attempt_at LIMIT 1 FOR UPDATE SKIP LOCKED`,
    );
    return rows[0];
  }

  async lockExpired(m: EntityManager, limit = 100): Promise<ExchangeRow[]> {
    return m.query(
      `SELECT * FROM exchanges WHERE state IN ('queued','sending') AND expires_at <= now()
       ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [limit],
    );
  }

  async update(
    m: EntityManager,
    id: string,
    set: {
      state?: ExchangeState;
      attempts?: number;
      lastError?: string | null;
      nextAttemptAt?: Date | null;
      axisDocId?: string;
      expiresAt?: Date;
    },
    trace: TraceEntry,
  ): Promise<void> {
    await m.query(
      `UPDATE exchanges SET
         state = COALESCE($2, state),
         attempts = COALESCE($3, attempts),
         last_error = CASE WHEN $4::boolean THEN $5 ELSE last_error END,
         next_attempt_at = CASE WHEN $6::boolean THEN $7::timestamptz ELSE next_attempt_at END,
         axis_doc_id = COALESCE($8, axis_doc_id),
         expires_at = COALESCE($9, expires_at),
         trace = trace || $10::jsonb,
         updated_at = now()
       WHERE id = $1`,
      [
        id,
        set.state ?? null,
        set.attempts ?? null,
        set.lastError !== undefined,
        set.lastError ?? null,
        set.nextAttemptAt !== undefined,
        set.nextAttemptAt ?? null,
        set.axisDocId ?? null,
        set.expiresAt ?? null,
        JSON.stringify([trace]),
      ],
    );
  }

  async list(
    m: EntityManager,
    q: {
      state?: string;
      documentId?: string;
      organizationCode?: string;
      limit: number;
      cursor?: string;
      /** Only exchanges from or to these organizations (an operator's subtree); absent = all. */
      scope?: string[];
    },
  ): Promise<ExchangeRow[]> {
    const cond: string[] = [];
    const params: unknown[] = [];
    if (q.scope)
      cond.push(
        `(from_code = ANY($${params.push(q.scope)}::text[]) OR to_code = ANY($${params.length}::text[]))`,
      );
    if (q.state) cond.push(`state = $${params.push(q.state)}`);
    if (q.documentId)
      cond.push(`(document_id = $${params.push(q.documentId)} OR edxml_document_id = $${params.length})`);
    if (q.organizationCode)
      cond.push(`(from_code = $${params.push(q.organizationCode)} OR to_code = $${params.length})`);
    if (q.cursor) {
      const [t, id] = q.cursor.split('|');
      cond.push(`(created_at, id) < ($${params.push(t)}::timestamptz, $${params.push(id)}::uuid)`);
    }
    params.push(q.limit + 1);
    return m.query(
      `SELECT * FROM exchanges ${cond.length ? `WHERE ${cond.join(' AND ')}` : ''} ORDER BY created_at DESC, id DESC LIMIT $${params.length}`,
      params,
    );
  }

  /** Records a package received from outside; false when the same sender + DocumentId was applied already. */
  async claimReceived(
    m: EntityManager,
    from: string,
    edxmlDocumentId: string,
    businessType: number,
    origin: string,
    answer: unknown,
    businessKey = '',
  ): Promise<boolean> {
    const rows: unknown[] = await m.query(
      `INSERT INTO received_packages (from_code, edxml_document_id, business_type, origin, answer, business_key)
       VALUES ($1,$2,$3,$4,$5::jsonb,$6)
       ON CONFLICT DO NOTHING RETURNING 1`,
      [from, edxmlDocumentId, businessType, origin, JSON.stringify(answer), businessKey],
    );
    return rows.length === 1;
  }

  async receivedAnswer(
    m: EntityManager,
    from: string,
    edxmlDocumentId: string,
    businessType: number,
    businessKey = '',
  ): Promise<unknown> {
    const rows: { answer: unknown }[] = await m.query(
      `SELECT answer FROM received_packages
       WHERE from_code = $1 AND edxml_document_id = $2 AND business_type = $3 AND business_key = $4`,
      [from, edxmlDocumentId, businessType, businessKey],
    );
    return rows[0]?.answer;
  }
}

export function exchangeView(r: ExchangeRow) {
  return {
    id: r.id,
    documentId: r.document_id,
    from: r.from_code,
    to: r.to_code,
    route: r.route,
    state: r.state,
    attempts: r.attempts,
    ...(r.last_error ? { lastError: r.last_error } : {}),
    trace: r.trace,
  };
}
