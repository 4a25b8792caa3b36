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
  /**
   * The document, naming only this recipient; NULL for a local exchange whose delivery was published when
   * another exchange of the document keeps it (see documentOf).
   */
  payload: RoutedDocument | null;
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
  /**
   * The row need not keep its copy of the document: a local exchange whose delivery is published with the
   * row. Only an operator retry reads a local exchange's document (of a failed/dead/expired one), and it
   * takes it from the exchange of the same document that kept it (`documentOf`).
   */
  withoutPayload?: boolean;
}

/** The columns of one new exchange row given to PostgreSQL as JSON (jsonb_to_recordset). */
function recordOf(e: Omit<NewExchange, 'payload'>, businessKey: string | undefined) {
  return {
    id: e.id,
    document_id: e.documentId,
    edxml_document_id: e.edxmlDocumentId,
    from_code: e.from,
    to_code: e.to,
    business_type: e.businessType,
    business_key: businessKey ?? '',
    route: e.route,
    target_node: e.targetNode ?? null,
    state: e.state,
    last_error: e.lastError ?? null,
    expires_at: e.expiresAt,
    trace: e.trace,
    bare: e.withoutPayload === true,
  };
}

/** The columns jsonb_to_recordset reads from `recordOf`. */
const RECORD_COLUMNS = `id uuid, document_id text, edxml_document_id text, from_code text, to_code text,
  business_type int, business_key text, route text, target_node text, state text, last_error text,
  expires_at timestamptz, trace jsonb, bare boolean`;

/** The `exchanges` table: one row per document and recipient (API.md, Integration bus). */
@Injectable()
export class ExchangesRepository {
  constructor(readonly dataSource: DataSource) {}

  /** Inserts unless the same sender + DocumentId + recipient exists; returns whether it was new. */
  async insert(m: EntityManager, e: NewExchange): Promise<boolean> {
    const rows: unknown[] = await m.query(
      `INSERT INTO exchanges (id, document_id, edxml_document_id, from_code, to_code, business_type, route, target_node, state,
                              last_error, next_attempt_at, expires_at, trace, payload, business_key)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10, now(), $11, $12::jsonb, $13::jsonb, $14)
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
        e.payload.businessKey ?? '',
      ],
    );
    return rows.length === 1;
  }

  /**
   * The exchanges of one document, one INSERT. Each row's payload is the document naming only its own
   * recipient; the document is sent once and each row's copy built by PostgreSQL (a directive to 10,000
   * organizations does not serialise and parse the document 10,000 times). Rows whose sender + DocumentId +
   * recipient (+ business type and key) exist are skipped. Returns the ids that were new.
   */
  async insertMany(
    m: EntityManager,
    rows: Omit<NewExchange, 'payload'>[],
    payload: RoutedDocument,
  ): Promise<Set<string>> {
    return this.insertManyDocuments(m, [{ rows, payload }]);
  }

  /**
   * Records many packages received from outside (see claimReceived); returns the keys
   * (`from|DocumentId|businessType|businessKey`) that were new.
   */
  async claimReceivedMany(
    m: EntityManager,
    items: {
      from: string;
      edxmlDocumentId: string;
      businessType: number;
      origin: string;
      answer: unknown;
      businessKey: string;
    }[],
  ): Promise<Set<string>> {
    if (items.length === 0) return new Set();
    const rows: { k: string }[] = await m.query(
      `INSERT INTO received_packages (from_code, edxml_document_id, business_type, origin, answer, business_key)
       SELECT r.from_code, r.edxml_document_id, r.business_type, r.origin, r.answer, r.business_key
       FROM jsonb_to_recordset($1::jsonb) AS r(from_code text, edxml_document_id text, business_type int,
         origin text, answer jsonb, business_key text)
       ON CONFLICT DO NOTHING
       RETURNING from_code || '|' || edxml_document_id || '|' || business_type || '|' || business_key AS k`,
      [
        JSON.stringify(
          items.map((i) => ({
            from_code: i.from,
            edxml_document_id: i.edxmlDocumentId,
            business_type: i.businessType,
            origin: i.origin,
            answer: i.answer,
            business_key: i.businessKey,
          })),
        ),
      ],
    );
    return new Set(rows.map((r) => r.k));
  }

  /** The recorded answers of many received packages, by `from|DocumentId|businessType|businessKey`. */
  async receivedAnswers(
    m: EntityManager,
    keys: { from: string; edxmlDocumentId: string; businessType: number; businessKey: string }[],
  ): Promise<Map<string, unknown>> {
    if (keys.length === 0) return new Map();
    const rows: { k: string; answer: unknown }[] = await m.query(
      `SELECT r.from_code || '|' || r.edxml_document_id || '|' || r.business_type || '|' || r.business_key AS k,
              r.answer
       FROM received_packages r
       JOIN unnest($1::text[], $2::text[], $3::int[], $4::text[]) AS t(from_code, edxml_document_id, business_type, business_key)
         ON r.from_code = t.from_code AND r.edxml_document_id = t.edxml_document_id
        AND r.business_type = t.business_type AND r.business_key = t.business_key`,
      [
        keys.map((k) => k.from),
        keys.map((k) => k.edxmlDocumentId),
        keys.map((k) => k.businessType),
        keys.map((k) => k.businessKey),
      ],
    );
    return new Map(rows.map((r) => [r.k, r.answer]));
  }

  /**
   * The exchanges of several documents (a batch of send requests) in ONE INSERT; each row's payload is its
   * document naming only its own recipient, built by PostgreSQL as in `insertMany`, or NULL for a row
   * `withoutPayload` unless it is the document's only one here. Returns the ids that were new.
   */
  async insertManyDocuments(
    m: EntityManager,
    docs: { rows: Omit<NewExchange, 'payload'>[]; payload: RoutedDocument }[],
  ): Promise<Set<string>> {
    const records = docs.flatMap((doc, i) => {
      const rows = doc.rows.map((e) => ({ ...recordOf(e, doc.payload.businessKey), doc: i }));
      // One row of the document in each INSERT keeps the document, so that any exchange of it can be
      // retried (documentOf): if that row exists already, so does a row of it that kept it.
      if (rows.length > 0 && rows.every((r) => r.bare)) rows[0].bare = false;
      return rows;
    });
    if (records.length === 0) return new Set();
    const inserted: { id: string }[] = await m.query(
      `INSERT INTO exchanges (id, document_id, edxml_document_id, from_code, to_code, business_type, business_key,
                              route, target_node, state, last_error, next_attempt_at, expires_at, trace, payload)
       SELECT e.id, e.document_id, e.edxml_document_id, e.from_code, e.to_code, e.business_type, e.business_key,
              e.route, e.target_node, e.state, e.last_error, now(), e.expires_at, e.trace,
              CASE WHEN NOT e.bare THEN jsonb_set($2::jsonb -> e.doc, '{recipients}', jsonb_build_array(e.to_code)) END
       FROM jsonb_to_recordset($1::jsonb) AS e(${RECORD_COLUMNS}, doc int)
       ON CONFLICT DO NOTHING RETURNING id`,
      [
        JSON.stringify(records),
        JSON.stringify(docs.map((doc) => (doc.rows.length ? { ...doc.payload, recipients: [] } : null))),
      ],
    );
    return new Set(inserted.map((r) => r.id));
  }

  /**
   * The document of an exchange: its own payload, else (a local exchange whose delivery was published) the
   * payload another exchange of the same document kept (insertManyDocuments keeps one per INSERT).
   */
  async documentOf(m: EntityManager, row: ExchangeRow): Promise<RoutedDocument | undefined> {
    if (row.payload) return row.payload;
    const rows: { payload: RoutedDocument }[] = await m.query(
      `SELECT payload FROM exchanges
        WHERE edxml_document_id = $1 AND from_code = $2 AND business_type = $3
          AND business_key = (SELECT business_key FROM exchanges WHERE id = $4) AND payload IS NOT NULL
        LIMIT 1`,
      [row.edxml_document_id, row.from_code, row.business_type, row.id],
    );
    return rows[0]?.payload;
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
         -- The unique (edxml_document_id, to_code, from_code, business_type, business_key) index finds each
         -- row; by document_id alone a directive to 10,000 organizations scanned 10,000 rows per status.
         -- The state test is written as NOT IN (the same four states under the table's CHECK): an index
         -- cannot serve it, so the planner never scans the open-state index (every exchange in flight, the
         -- whole backlog under load, when its statistics say there are few) instead of probing the rows.
         WHERE e.from_code = x.from_code AND e.edxml_document_id = x.edxml AND e.to_code = x.to_code
           AND e.business_type = 0
           AND e.state NOT IN ('delivered', 'expired', 'dead')
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

  /**
   * Receiver answers of many exchanges at once, each naming its exchange by receiver, sender and either its
   * document id (`byDocument`) or its DocumentId; of several matching rows the oldest is taken. The first
   * answer moves `queued|sending|sent|failed` → `delivered`, any other adds a `status` trace entry
   * (StatusRelay.markAnswered, set-based). Returns the rows found, with their state before (`was`); items
   * whose exchange is not found are not in the result.
   */
  async answerMany(
    m: EntityManager,
    items: { byDocument: boolean; doc: string; receiver: string; sender: string; statusCode: string }[],
    at: string,
  ): Promise<
    {
      id: string;
      document_id: string;
      to_code: string;
      was: ExchangeState;
      status_code: string;
      idx: number;
    }[]
  > {
    if (items.length === 0) return [];
    // Locked first (FOR UPDATE returns the latest committed state), then updated by id from that state.
    const rows: { id: string; state: ExchangeState; idx: number; document_id: string; to_code: string }[] =
      await m.query(
        `SELECT e.id, e.state, x.idx, e.document_id, e.to_code
         FROM unnest($1::int[], $2::bool[], $3::text[], $4::text[], $5::text[])
           AS x(idx, by_document, doc, receiver, sender)
         -- Either arm is an index lookup ((document_id, to_code) or the unique index's edxml_document_id); a
         -- CASE around the comparisons left only (to_code, from_code) for an index: every exchange between
         -- that receiver and sender was read per answer.
         JOIN exchanges e
           ON e.to_code = x.receiver AND e.from_code = x.sender
          AND (e.document_id = CASE WHEN x.by_document THEN x.doc END
               OR e.edxml_document_id = CASE WHEN NOT x.by_document THEN x.doc END)
         ORDER BY x.idx, e.created_at
         FOR UPDATE OF e`,
        [
          items.map((_, i) => i),
          items.map((i) => i.byDocument),
          items.map((i) => i.doc),
          items.map((i) => i.receiver),
          items.map((i) => i.sender),
        ],
      );
    // The oldest row of each item (rows come ordered by item, then age).
    const found = rows.filter((r, i) => i === 0 || rows[i - 1].idx !== r.idx);
    if (found.length === 0) return [];
    const first = (state: ExchangeState) => ['queued', 'sending', 'sent', 'failed'].includes(state);
    await m.query(
      `UPDATE exchanges e SET
         state = CASE WHEN x.first THEN 'delivered' ELSE e.state END,
         next_attempt_at = CASE WHEN x.first THEN NULL ELSE e.next_attempt_at END,
         trace = e.trace || jsonb_build_array(jsonb_build_object('at', $4::text,
           'event', CASE WHEN x.first THEN 'delivered' ELSE 'status' END,
           'detail', jsonb_build_object('statusCode', x.status_code))),
         updated_at = now()
       FROM unnest($1::uuid[], $2::bool[], $3::text[]) AS x(id, first, status_code)
       WHERE e.id = x.id`,
      [
        found.map((f) => f.id),
        found.map((f) => first(f.state)),
        found.map((f) => items[f.idx].statusCode),
        at,
      ],
    );
    return found.map((f) => ({
      id: f.id,
      document_id: f.document_id,
      to_code: f.to_code,
      was: f.state,
      status_code: items[f.idx].statusCode,
      idx: f.idx,
    }));
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
