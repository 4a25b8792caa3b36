import { Injectable } from '@nestjs/common';
import { preparedQuery } from '@lienthong/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { DocumentChanges } from '@lienthong/contracts';
import type { AttachmentRow, DocumentRow, HistoryEntry, RecipientRow } from './documents.entity';

export const DOCUMENT_COLUMNS = `
  d.id, d.organization_code, d.direction, d.number, d.notation, d.type, d.type_name, d.subject, d.content,
  d.promulgation_place, d.promulgation_date::text AS promulgation_date, d.signer, d.secrecy, d.urgency, d.steering,
  d.due_date::text AS due_date, d.recipients, d.recipient_rules, d.recipient_groups, d.state, d.status_code, d.status_reason, d.assignee,
  d.from_organization_code, d.source_document_id, d.edxml_document_id, d.delivery_id, d.register_year,
  d.register_number, d.arrival_at, (d.arrival_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date::text AS arrival_date,
  d.sent_at, d.completed_at, d.created_by, d.created_at, d.updated_at, d.created_at::text AS page_ts,
  d.history, d.replaces_id, d.replaced_by_id`;

export interface NewDocument {
  id: string;
  organizationCode: string;
  direction: 'outgoing' | 'incoming';
  number: string;
  notation: string;
  type: string;
  typeName?: string | null;
  subject: string;
  content?: string | null;
  promulgationPlace?: string | null;
  promulgationDate: string;
  signer: unknown;
  secrecy: string;
  urgency: string;
  steering: boolean;
  dueDate?: string | null;
  recipients: string[];
  recipientRules?: { under: string; level?: string; sector?: string }[];
  recipientGroups?: string[];
  state: string;
  statusCode?: string | null;
  fromOrganizationCode?: string | null;
  sourceDocumentId?: string | null;
  edxmlDocumentId?: string | null;
  deliveryId?: string | null;
  registerYear: number;
  registerNumber: number;
  arrivalAt?: Date | null;
  createdBy: string;
}

export interface ListFilter {
  organizationCodes: string[];
  cleared: boolean;
  direction?: 'outgoing' | 'incoming';
  status?: string;
  q?: string;
  from?: string;
  to?: string;
  limit: number;
  after?: { ts: string; id: string };
}

/** All SQL of documents, recipients, counters and attachment rows. */
@Injectable()
export class DocumentsRepository {
  constructor(readonly dataSource: DataSource) {}

  /**
   * Next register number for (organization, year, direction). The counter row is created or incremented
   * with one upsert; its row lock serializes concurrent transactions and a rollback returns the number,
   * so numbers are consecutive, gap-free and unique.
   */
  async nextNumber(
    m: EntityManager,
    organizationCode: string,
    year: number,
    direction: string,
  ): Promise<number> {
    const [row] = await m.query(
      `INSERT INTO register_counters (organization_code, year, direction, last_number) VALUES ($1, $2, $3, 1)
       ON CONFLICT (organization_code, year, direction) DO UPDATE SET last_number = register_counters.last_number + 1
       RETURNING last_number`,
      [organizationCode, year, direction],
    );
    return row.last_number as number;
  }

  /**
   * Takes `count` consecutive numbers per organization of one register (year, direction) in ONE statement:
   * one counter row per organization, incremented by its count. The row locks serialise concurrent batches
   * (organizations in code order, so two batches cannot deadlock), a rollback returns the numbers, so each
   * register stays consecutive and gap-free. Returns, per organization, the first number of its range.
   */
  async allocateNumbers(
    m: EntityManager,
    year: number,
    direction: string,
    counts: Map<string, number>,
  ): Promise<Map<string, number>> {
    if (counts.size === 0) return new Map();
    const orgs = [...counts.keys()].sort();
    const rows: { organization_code: string; last_number: number }[] = await preparedQuery(
      m,
      'lt_docs_allocate_numbers',
      `INSERT INTO register_counters (organization_code, year, direction, last_number)
       SELECT t.org, $3, $4, t.n FROM unnest($1::text[], $2::int[]) WITH ORDINALITY AS t(org, n, i) ORDER BY t.i
       ON CONFLICT (organization_code, year, direction)
         DO UPDATE SET last_number = register_counters.last_number + EXCLUDED.last_number
       RETURNING organization_code, last_number`,
      [orgs, orgs.map((o) => counts.get(o)!), year, direction],
    );
    return new Map(
      rows.map((r) => [r.organization_code, r.last_number - counts.get(r.organization_code)! + 1]),
    );
  }

  /**
   * Incoming copies of a batch of deliveries, set-based: `documents` holds each distinct document once,
   * `copies` one row per recipient pointing at its document by index.
   */
  async insertIncomingMany(
    m: EntityManager,
    documents: {
      number: string;
      notation: string;
      type: string;
      typeName?: string | null;
      subject: string;
      content?: string | null;
      promulgationPlace?: string | null;
      promulgationDate: string;
      signer: unknown;
      secrecy: string;
      urgency: string;
      steering: boolean;
      dueDate?: string | null;
      fromOrganizationCode: string;
      sourceDocumentId: string;
      edxmlDocumentId: string;
    }[],
    copies: { id: string; organizationCode: string; doc: number; deliveryId: string; number: number }[],
    year: number,
    arrivalAt: Date,
    createdBy: string,
  ): Promise<void> {
    const docs = documents.map((d, i) => ({
      i,
      number: d.number,
      notation: d.notation,
      type: d.type,
      type_name: d.typeName ?? null,
      subject: d.subject,
      content: d.content ?? null,
      promulgation_place: d.promulgationPlace ?? null,
      promulgation_date: d.promulgationDate,
      signer: d.signer,
      secrecy: d.secrecy,
      urgency: d.urgency,
      steering: d.steering,
      due_date: d.dueDate ?? null,
      from_org: d.fromOrganizationCode,
      source_document_id: d.sourceDocumentId,
      edxml_document_id: d.edxmlDocumentId,
    }));
    await preparedQuery(
      m,
      'lt_docs_insert_incoming',
      // The search vector once per document (a materialised CTE), not once per recipient's copy.
      `WITH d AS MATERIALIZED (
         SELECT d.*, document_search(d.subject, d.notation, d.content) AS search
         FROM jsonb_to_recordset($1::jsonb) AS d(i int, number text, notation text, type text, type_name text,
           subject text, content text, promulgation_place text, promulgation_date date, signer jsonb, secrecy text,
           urgency text, steering boolean, due_date date, from_org text, source_document_id text,
           edxml_document_id text))
       INSERT INTO documents (id, organization_code, direction, number, notation, type, type_name, subject, content,
         promulgation_place, promulgation_date, signer, secrecy, urgency, steering, due_date, recipients, state, status_code,
         from_organization_code, source_document_id, edxml_document_id, delivery_id, register_year, register_number,
         arrival_at, created_by, search)
       SELECT c.id, c.org, 'incoming', d.number, d.notation, d.type, d.type_name, d.subject, d.content,
         d.promulgation_place, d.promulgation_date, d.signer, d.secrecy, d.urgency, d.steering, d.due_date, '{}',
         'arrived', '01', d.from_org, d.source_document_id, d.edxml_document_id, c.delivery_id, $6, c.n, $7, $8, d.search
       FROM unnest($2::uuid[], $3::text[], $4::int[], $5::text[], $9::int[]) AS c(id, org, doc, delivery_id, n)
       JOIN d ON d.i = c.doc`,
      [
        JSON.stringify(docs),
        copies.map((c) => c.id),
        copies.map((c) => c.organizationCode),
        copies.map((c) => c.doc),
        copies.map((c) => c.deliveryId),
        year,
        arrivalAt,
        createdBy,
        copies.map((c) => c.number),
      ],
    );
  }

  async insertAttachmentsMany(
    m: EntityManager,
    rows: {
      id: string;
      documentId: string;
      name: string;
      contentType: string;
      size: number;
      sha256: string;
      signature: unknown;
      signatures: unknown;
    }[],
  ): Promise<void> {
    if (rows.length === 0) return;
    await m.query(
      `INSERT INTO attachments (id, document_id, name, content_type, size, sha256, signature, signatures)
       SELECT a.id, a.document_id, a.name, a.content_type, a.size, a.sha256, a.signature, a.signatures
       FROM jsonb_to_recordset($1::jsonb) AS a(id uuid, document_id uuid, name text, content_type text, size bigint,
         sha256 text, signature jsonb, signatures jsonb)`,
      [
        JSON.stringify(
          rows.map((r) => ({
            id: r.id,
            document_id: r.documentId,
            name: r.name,
            content_type: r.contentType,
            size: r.size,
            sha256: r.sha256,
            signature: r.signature,
            signatures: r.signatures,
          })),
        ),
      ],
    );
  }

  /** Which of these ids are outgoing documents of this service, with their sender organization. */
  async outgoingSenders(m: EntityManager, ids: string[]): Promise<Map<string, string>> {
    const uuids = [...new Set(ids.filter(isUuid))];
    if (uuids.length === 0) return new Map();
    const rows: { id: string; organization_code: string }[] = await preparedQuery(
      m,
      'lt_docs_outgoing_senders',
      `SELECT id, organization_code FROM documents WHERE id = ANY($1::uuid[]) AND direction = 'outgoing'`,
      [uuids],
    );
    return new Map(rows.map((r) => [r.id, r.organization_code]));
  }

  /**
   * The receiver's 01 on the sender's rows, set-based (sender and receivers served here). Same rule as
   * updateRecipient: a newer receiver answer is kept. Returns the rows that changed.
   */
  async markArrivedMany(
    m: EntityManager,
    pairs: { documentId: string; organizationCode: string }[],
    at: Date,
  ): Promise<{ document_id: string; organization_code: string }[]> {
    if (pairs.length === 0) return [];
    return preparedQuery(
      m,
      'lt_docs_mark_arrived',
      `WITH changed AS (
         UPDATE document_recipients r SET status = 'arrived', status_code = '01', reason = NULL, updated_at = $3
         FROM unnest($1::uuid[], $2::text[]) AS x(doc, org), document_recipients o
         WHERE r.document_id = x.doc AND r.organization_code = x.org
           AND o.document_id = r.document_id AND o.organization_code = r.organization_code
           AND (r.updated_at <= $3 OR r.status IN ('queued', 'sent', 'failed', 'expired'))
         RETURNING r.document_id, r.organization_code, o.status AS was),
       history AS (
         -- The same statement records the change (not a re-applied 01): no extra round trip.
         INSERT INTO recipient_status_changes (document_id, organization_code, status, status_code, at)
         SELECT document_id, organization_code, 'arrived', '01', $3 FROM changed WHERE was <> 'arrived')
       SELECT document_id, organization_code FROM changed`,
      [pairs.map((p) => p.documentId), pairs.map((p) => p.organizationCode), at],
    );
  }

  async insert(m: EntityManager, d: NewDocument): Promise<void> {
    await m.query(
      `INSERT INTO documents (id, organization_code, direction, number, notation, type, type_name, subject, content,
         promulgation_place, promulgation_date, signer, secrecy, urgency, steering, due_date, recipients, state, status_code,
         from_organization_code, source_document_id, edxml_document_id, delivery_id, register_year, register_number,
         arrival_at, created_by)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12::jsonb,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27)`,
      [
        d.id,
        d.organizationCode,
        d.direction,
        d.number,
        d.notation,
        d.type,
        d.typeName ?? null,
        d.subject,
        d.content ?? null,
        d.promulgationPlace ?? null,
        d.promulgationDate,
        JSON.stringify(d.signer),
        d.secrecy,
        d.urgency,
        d.steering,
        d.dueDate ?? null,
        d.recipients,
        d.state,
        d.statusCode ?? null,
        d.fromOrganizationCode ?? null,
        d.sourceDocumentId ?? null,
        d.edxmlDocumentId ?? null,
        d.deliveryId ?? null,
        d.registerYear,
        d.registerNumber,
        d.arrivalAt ?? null,
        d.createdBy,
      ],
    );
  }

  /** Many documents in one INSERT (a group-committed batch of registrations); the rows as stored, by id. */
  async insertMany(m: EntityManager, docs: NewDocument[]): Promise<Map<string, DocumentRow>> {
    if (docs.length === 0) return new Map();
    const rows: DocumentRow[] = await preparedQuery(
      m,
      'lt_docs_insert_many',
      `WITH ins AS (INSERT INTO documents (id, organization_code, direction, number, notation, type, type_name, subject, content,
         promulgation_place, promulgation_date, signer, secrecy, urgency, steering, due_date, recipients, recipient_rules,
         recipient_groups, state, status_code, from_organization_code, source_document_id, edxml_document_id, delivery_id,
         register_year, register_number, arrival_at, created_by, search)
       SELECT d.id, d.organization_code, d.direction, d.number, d.notation, d.type, d.type_name, d.subject, d.content,
         d.promulgation_place, d.promulgation_date, d.signer, d.secrecy, d.urgency, d.steering, d.due_date,
         ARRAY(SELECT jsonb_array_elements_text(d.recipients)), COALESCE(d.recipient_rules, '[]'::jsonb),
         ARRAY(SELECT jsonb_array_elements_text(COALESCE(d.recipient_groups, '[]'::jsonb)))::uuid[], d.state, d.status_code, d.from_organization_code,
         d.source_document_id, d.edxml_document_id, d.delivery_id, d.register_year, d.register_number, d.arrival_at,
         d.created_by, document_search(d.subject, d.notation, d.content)
       FROM jsonb_to_recordset($1::jsonb) AS d(id uuid, organization_code text, direction text, number text,
         notation text, type text, type_name text, subject text, content text, promulgation_place text,
         promulgation_date date, signer jsonb, secrecy text, urgency text, steering boolean, due_date date,
         recipients jsonb, recipient_rules jsonb, recipient_groups jsonb, state text, status_code text,
         from_organization_code text, source_document_id text,
         edxml_document_id text, delivery_id text, register_year int, register_number int, arrival_at timestamptz,
         created_by text)
       RETURNING *)
       SELECT ${DOCUMENT_COLUMNS} FROM ins d`,
      [
        JSON.stringify(
          docs.map((d) => ({
            id: d.id,
            organization_code: d.organizationCode,
            direction: d.direction,
            number: d.number,
            notation: d.notation,
            type: d.type,
            type_name: d.typeName ?? null,
            subject: d.subject,
            content: d.content ?? null,
            promulgation_place: d.promulgationPlace ?? null,
            promulgation_date: d.promulgationDate,
            signer: d.signer,
            secrecy: d.secrecy,
            urgency: d.urgency,
            steering: d.steering,
            due_date: d.dueDate ?? null,
            recipients: d.recipients,
            recipient_rules: d.recipientRules ?? [],
            recipient_groups: d.recipientGroups ?? [],
            state: d.state,
            status_code: d.statusCode ?? null,
            from_organization_code: d.fromOrganizationCode ?? null,
            source_document_id: d.sourceDocumentId ?? null,
            edxml_document_id: d.edxmlDocumentId ?? null,
            delivery_id: d.deliveryId ?? null,
            register_year: d.registerYear,
            register_number: d.registerNumber,
            arrival_at: d.arrivalAt ?? null,
            created_by: d.createdBy,
          })),
        ),
      ],
    );
    return new Map(rows.map((r) => [r.id, r]));
  }

  /**
   * What a send reads before it writes, in one statement: the document (if the caller's organization owns it
   * and may see it), its attachments (as `attachments_json`, in upload order) and which of its listed recipients
   * the local directory does not hold as a live organization (`not_known`: unknown or deleted).
   */
  async findForSend(
    m: EntityManager,
    id: string,
    organizationCode: string,
    cleared: boolean,
  ): Promise<(DocumentRow & { attachments_json: AttachmentRow[]; not_known: string[] }) | null> {
    if (!isUuid(id)) return null;
    const rows: (DocumentRow & { attachments_json: AttachmentRow[]; not_known: string[] })[] = await m.query(
      `SELECT ${DOCUMENT_COLUMNS},
         COALESCE((SELECT json_agg(a ORDER BY a.created_at, a.id) FROM (
           SELECT id, document_id, name, content_type, size, sha256, signature, signatures, created_at
           FROM attachments WHERE document_id = d.id) a), '[]'::json) AS attachments_json,
         ARRAY(SELECT c FROM unnest(d.recipients) c WHERE NOT EXISTS (
           SELECT 1 FROM organization_directory o WHERE o.code = c AND NOT o.deleted)) AS not_known
       FROM documents d
       WHERE d.id = $1 AND d.organization_code = $2 AND ($3 OR d.secrecy = 'none')`,
      [id, organizationCode, cleared],
    );
    return rows[0] ?? null;
  }

  /**
   * `findForSend` for many documents in one statement (a batch of sends), each with its own caller's
   * organization and clearance; by id (a document the caller may not send is missing).
   */
  async findForSendMany(
    m: EntityManager,
    reqs: { id: string; organizationCode: string; cleared: boolean }[],
  ): Promise<Map<string, DocumentRow & { attachments_json: AttachmentRow[]; not_known: string[] }>> {
    if (reqs.length === 0) return new Map();
    const rows: (DocumentRow & { attachments_json: AttachmentRow[]; not_known: string[] })[] =
      await preparedQuery(
        m,
        'lt_docs_find_for_send',
        `SELECT ${DOCUMENT_COLUMNS},
         COALESCE((SELECT json_agg(a ORDER BY a.created_at, a.id) FROM (
           SELECT id, document_id, name, content_type, size, sha256, signature, signatures, created_at
           FROM attachments WHERE document_id = d.id) a), '[]'::json) AS attachments_json,
         ARRAY(SELECT c FROM unnest(d.recipients) c WHERE NOT EXISTS (
           SELECT 1 FROM organization_directory o WHERE o.code = c AND NOT o.deleted)) AS not_known
       FROM (SELECT DISTINCT * FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, org text, cleared boolean)) x
       JOIN documents d ON d.id = x.id AND d.organization_code = x.org AND (x.cleared OR d.secrecy = 'none')`,
        [JSON.stringify(reqs.map((r) => ({ id: r.id, org: r.organizationCode, cleared: r.cleared })))],
      );
    return new Map(rows.map((r) => [r.id, r]));
  }

  /**
   * draft → sent for many documents in one statement (a group-committed batch of sends), each storing its
   * recipients as expanded at send time; the rows as sent, by id (a document that was not a draft any more
   * is missing from the map).
   */
  async markSentMany(
    m: EntityManager,
    docs: { id: string; recipients: string[] }[],
  ): Promise<Map<string, DocumentRow>> {
    if (docs.length === 0) return new Map();
    const rows: DocumentRow[] = await preparedQuery(
      m,
      'lt_docs_mark_sent',
      `WITH x AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, recipients text[])),
       sent AS (
         UPDATE documents d SET state = 'sent', sent_at = now(), updated_at = now(), recipients = x.recipients
         FROM x WHERE d.id = x.id AND d.state = 'draft' RETURNING d.*)
       SELECT ${DOCUMENT_COLUMNS} FROM sent d`,
      [JSON.stringify(docs)],
    );
    return new Map(rows.map((r) => [r.id, r]));
  }

  /** The sender's recipient rows (`queued`) of many sent documents in one INSERT. */
  async insertRecipientsMany(m: EntityManager, docs: { id: string; codes: string[] }[]): Promise<void> {
    if (docs.length === 0) return;
    await preparedQuery(
      m,
      'lt_docs_insert_recipients',
      `INSERT INTO document_recipients (document_id, organization_code, status)
       SELECT x.id, c.code, 'queued'
       FROM jsonb_to_recordset($1::jsonb) AS x(id uuid, codes text[]), unnest(x.codes) AS c(code)`,
      [JSON.stringify(docs)],
    );
  }

  /**
   * draft → sent in one statement, storing the recipients as expanded at send time (rules and groups
   * included); the row as it was sent, or null when it was not a draft (any more).
   */
  async markSent(m: EntityManager, id: string, recipients?: string[]): Promise<DocumentRow | null> {
    const rows: DocumentRow[] = await m.query(
      `WITH sent AS (
         UPDATE documents SET state = 'sent', sent_at = now(), updated_at = now(),
           recipients = COALESCE($2::text[], recipients)
         WHERE id = $1 AND state = 'draft' RETURNING *)
       SELECT ${DOCUMENT_COLUMNS} FROM sent d`,
      [id, recipients ?? null],
    );
    return rows[0] ?? null;
  }

  /** A document the caller's organization owns and may see (classified ones only with `cleared`). */
  async findVisible(
    m: EntityManager,
    id: string,
    organizationCodes: string | string[],
    cleared: boolean,
    lock = false,
  ): Promise<DocumentRow | null> {
    if (!isUuid(id)) return null;
    const codes = Array.isArray(organizationCodes) ? organizationCodes : [organizationCodes];
    const rows: DocumentRow[] = await m.query(
      `SELECT ${DOCUMENT_COLUMNS} FROM documents d
       WHERE d.id = $1 AND d.organization_code = ANY($2::text[]) AND ($3 OR d.secrecy = 'none') ${lock ? 'FOR UPDATE' : ''}`,
      [id, codes, cleared],
    );
    return rows[0] ?? null;
  }

  async findById(m: EntityManager, id: string, lock = false): Promise<DocumentRow | null> {
    if (!isUuid(id)) return null;
    const rows: DocumentRow[] = await m.query(
      `SELECT ${DOCUMENT_COLUMNS} FROM documents d WHERE d.id = $1 ${lock ? 'FOR UPDATE' : ''}`,
      [id],
    );
    return rows[0] ?? null;
  }

  async findIncomingBySource(
    m: EntityManager,
    organizationCode: string,
    fromOrganizationCode: string,
    sourceDocumentId: string,
  ): Promise<DocumentRow | null> {
    const rows: DocumentRow[] = await m.query(
      `SELECT ${DOCUMENT_COLUMNS} FROM documents d
       WHERE d.direction = 'incoming' AND d.organization_code = $1 AND d.from_organization_code = $2
         AND (d.source_document_id = $3 OR d.edxml_document_id = $3)
       ORDER BY d.created_at DESC LIMIT 1 FOR UPDATE`,
      [organizationCode, fromOrganizationCode, sourceDocumentId],
    );
    return rows[0] ?? null;
  }

  async list(m: EntityManager, f: ListFilter): Promise<DocumentRow[]> {
    const where = [
      f.organizationCodes.length === 1 ? 'd.organization_code = $1' : 'd.organization_code = ANY($1::text[])',
    ];
    const params: unknown[] = [
      f.organizationCodes.length === 1 ? f.organizationCodes[0] : f.organizationCodes,
    ];
    const p = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    if (!f.cleared) where.push(`d.secrecy = 'none'`);
    if (f.direction) where.push(`d.direction = ${p(f.direction)}`);
    if (f.status) {
      const s = p(f.status);
      where.push(`(d.state = ${s} OR (d.direction = 'outgoing' AND EXISTS (
        SELECT 1 FROM document_recipients r WHERE r.document_id = d.id AND r.status = ${s})))`);
    }
    if (f.q && f.q.trim()) where.push(`d.search @@ plainto_tsquery('simple', fold_text(${p(f.q)}))`);
    if (f.from) where.push(`d.created_at >= (${p(f.from)}::date)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh'`);
    if (f.to)
      where.push(`d.created_at < ((${p(f.to)}::date + 1)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh')`);
    if (f.after) where.push(`(d.created_at, d.id) < (${p(f.after.ts)}::timestamptz, ${p(f.after.id)}::uuid)`);
    return m.query(
      `SELECT ${DOCUMENT_COLUMNS} FROM documents d WHERE ${where.join(' AND ')}
       ORDER BY d.created_at DESC, d.id DESC LIMIT ${p(f.limit)}`,
      params,
    );
  }

  async recipients(m: EntityManager, documentIds: string[]): Promise<RecipientRow[]> {
    if (documentIds.length === 0) return [];
    return m.query(
      `SELECT document_id, organization_code, status, status_code, reason, updated_at FROM document_recipients
       WHERE document_id = ANY($1::uuid[]) ORDER BY organization_code`,
      [documentIds],
    );
  }

  /** Rows of some recipients of one document. */
  async recipientsOf(m: EntityManager, documentId: string, codes: string[]): Promise<RecipientRow[]> {
    if (codes.length === 0) return [];
    return m.query(
      `SELECT document_id, organization_code, status, status_code, reason, updated_at FROM document_recipients
       WHERE document_id = $1 AND organization_code = ANY($2::text[]) ORDER BY organization_code`,
      [documentId, codes],
    );
  }

  /** Rows of the listed recipients of several documents (each its own list, e.g. its first 500). */
  async recipientsHead(m: EntityManager, docs: { id: string; codes: string[] }[]): Promise<RecipientRow[]> {
    const ids = docs.flatMap((d) => d.codes.map(() => d.id));
    if (ids.length === 0) return [];
    return m.query(
      `SELECT r.document_id, r.organization_code, r.status, r.status_code, r.reason, r.updated_at
       FROM unnest($1::uuid[], $2::text[]) AS x(doc, org)
       CROSS JOIN LATERAL (
         -- One primary-key lookup per pair. (A plain join let the planner hash the whole table: a page of 500
         -- documents read every recipient row there is, ~100 ms at 63,000 rows and growing with the table.)
         -- LIMIT 1 (at most one row by the key) keeps the subquery from being flattened into that join.
         SELECT * FROM document_recipients r
         WHERE r.document_id = x.doc AND r.organization_code = x.org LIMIT 1) r
       ORDER BY r.organization_code`,
      [ids, docs.flatMap((d) => d.codes)],
    );
  }

  /** A recipient's status changes, oldest first (`after`: the last id of the previous page). */
  async recipientHistory(
    m: EntityManager,
    documentId: string,
    organizationCode: string,
    after: number,
    limit: number,
  ): Promise<{ id: string; status: string; status_code: string | null; reason: string | null; at: Date }[]> {
    return m.query(
      `SELECT id, status, status_code, reason, at FROM recipient_status_changes
       WHERE document_id = $1 AND organization_code = $2 AND id > $3 ORDER BY id LIMIT $4`,
      [documentId, organizationCode, after, limit],
    );
  }

  /** How many recipients of a document are in each status. */
  async recipientCounts(m: EntityManager, documentId: string): Promise<Map<string, number>> {
    const rows: { status: string; n: number }[] = await m.query(
      `SELECT status, count(*)::int AS n FROM document_recipients WHERE document_id = $1 GROUP BY status`,
      [documentId],
    );
    return new Map(rows.map((r) => [r.status, r.n]));
  }

  async insertRecipients(m: EntityManager, documentId: string, codes: string[]): Promise<void> {
    await m.query(
      `INSERT INTO document_recipients (document_id, organization_code, status)
       SELECT $1, unnest($2::text[]), 'queued'`,
      [documentId, codes],
    );
  }

  /**
   * Applies a recipient status unless a newer receiver answer is already recorded (statuses may arrive out
   * of order). A receiver answer always replaces a transport state (queued/sent/failed/expired), whose
   * clock is the bus's, not the receiver's; `onlyFrom` restricts which current statuses may be replaced.
   */
  async updateRecipient(
    m: EntityManager,
    documentId: string,
    organizationCode: string,
    status: string,
    statusCode: string | null,
    reason: string | null,
    at: string,
    onlyFrom?: string[],
  ): Promise<boolean> {
    // Wrapped in a SELECT: TypeORM answers a bare UPDATE with [rows, count] rather than the rows.
    const [{ n }] = await m.query(
      `WITH changed AS (
         UPDATE document_recipients r SET status = $3, status_code = $4, reason = $5, updated_at = $6::timestamptz
         FROM document_recipients o
         WHERE r.document_id = $1 AND r.organization_code = $2
           AND o.document_id = r.document_id AND o.organization_code = r.organization_code
           AND (r.updated_at <= $6::timestamptz OR r.status IN ('queued', 'sent', 'failed', 'expired'))
           AND ($7::text[] IS NULL OR r.status = ANY($7::text[]))
         RETURNING o.status AS was, o.status_code AS was_code, o.reason AS was_reason),
       history AS (
         -- The same statement records the change (not a re-applied one): history and status commit together.
         INSERT INTO recipient_status_changes (document_id, organization_code, status, status_code, reason, at)
         SELECT $1, $2, $3, $4, $5, $6::timestamptz FROM changed
         WHERE (was, was_code, was_reason) IS DISTINCT FROM ($3::text, $4::text, $5::text))
       SELECT count(*)::int AS n FROM changed`,
      [documentId, organizationCode, status, statusCode, reason, at, onlyFrom ?? null],
    );
    return n > 0;
  }

  /**
   * updateRecipient for many rows in ONE statement (a batch of receivers' answers, each row at most once):
   * the same rule per row (a newer receiver answer is kept, a transport state always replaced) and the same
   * history (a change only). Returns the indexes (into `items`) of the rows that changed.
   */
  async updateRecipientsMany(
    m: EntityManager,
    items: {
      documentId: string;
      organizationCode: string;
      status: string;
      statusCode: string | null;
      reason: string | null;
      at: string;
    }[],
  ): Promise<Set<number>> {
    if (items.length === 0) return new Set();
    const rows: { idx: number }[] = await m.query(
      `WITH x AS (
         SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::int[])
           AS x(doc, org, status, code, reason, at, idx)),
       changed AS (
         UPDATE document_recipients r SET status = x.status, status_code = x.code, reason = x.reason, updated_at = x.at
         FROM x, document_recipients o
         WHERE r.document_id = x.doc AND r.organization_code = x.org
           AND o.document_id = r.document_id AND o.organization_code = r.organization_code
           AND (r.updated_at <= x.at OR r.status IN ('queued', 'sent', 'failed', 'expired'))
         RETURNING x.idx, r.document_id, r.organization_code, x.status, x.code, x.reason, x.at,
                   o.status AS was, o.status_code AS was_code, o.reason AS was_reason),
       history AS (
         -- The same statement records the changes (not re-applied ones), in the batch's order.
         INSERT INTO recipient_status_changes (document_id, organization_code, status, status_code, reason, at)
         SELECT document_id, organization_code, status, code, reason, at FROM changed
         WHERE (was, was_code, was_reason) IS DISTINCT FROM (status, code, reason)
         ORDER BY idx)
       SELECT idx FROM changed`,
      [
        items.map((i) => i.documentId),
        items.map((i) => i.organizationCode),
        items.map((i) => i.status),
        items.map((i) => i.statusCode),
        items.map((i) => i.reason),
        items.map((i) => i.at),
        items.map((_, i) => i),
      ],
    );
    return new Set(rows.map((r) => r.idx));
  }

  async setState(
    m: EntityManager,
    id: string,
    fields: {
      state: string;
      statusCode?: string | null;
      reason?: string | null;
      assignee?: string | null;
      sent?: boolean;
      completed?: boolean;
    },
  ): Promise<void> {
    await m.query(
      `UPDATE documents SET state = $2, status_code = COALESCE($3, status_code), status_reason = COALESCE($4, status_reason),
         assignee = COALESCE($5, assignee), sent_at = CASE WHEN $6 THEN now() ELSE sent_at END,
         completed_at = CASE WHEN $7 THEN now() ELSE completed_at END, updated_at = now()
       WHERE id = $1`,
      [
        id,
        fields.state,
        fields.statusCode ?? null,
        fields.reason ?? null,
        fields.assignee ?? null,
        !!fields.sent,
        !!fields.completed,
      ],
    );
  }

  /**
   * An update (business type 2) of one document: the changed fields take their new values and the entry is
   * appended to its history. The first update of an outgoing document keeps the edXML DocumentId its recipients
   * know (`edxmlDocumentId`), since the promulgation date inside it may change.
   */
  async applyUpdate(
    m: EntityManager,
    id: string,
    changes: DocumentChanges,
    entry: HistoryEntry,
    edxmlDocumentId?: string,
  ): Promise<void> {
    await m.query(
      `UPDATE documents SET
         subject = CASE WHEN $2::jsonb ? 'subject' THEN $2::jsonb->>'subject' ELSE subject END,
         urgency = CASE WHEN $2::jsonb ? 'urgency' THEN $2::jsonb->>'urgency' ELSE urgency END,
         due_date = CASE WHEN $2::jsonb ? 'dueDate' THEN ($2::jsonb->>'dueDate')::date ELSE due_date END,
         promulgation_date = CASE WHEN $2::jsonb ? 'promulgationDate'
           THEN ($2::jsonb->>'promulgationDate')::date ELSE promulgation_date END,
         signer = CASE WHEN $2::jsonb ? 'signer' THEN $2::jsonb->'signer' ELSE signer END,
         edxml_document_id = COALESCE(edxml_document_id, $4),
         history = history || $3::jsonb, updated_at = now()
       WHERE id = $1`,
      [id, JSON.stringify(changes), JSON.stringify([entry]), edxmlDocumentId ?? null],
    );
  }

  /** Appends a business event (recall, update, replacement) to a document's history. */
  async appendHistory(m: EntityManager, id: string, entry: HistoryEntry): Promise<void> {
    await m.query(`UPDATE documents SET history = history || $2::jsonb, updated_at = now() WHERE id = $1`, [
      id,
      JSON.stringify([entry]),
    ]);
  }

  /** Marks which document a draft replaces (at registration; unique: one replacement per document). */
  async setReplaces(m: EntityManager, pairs: { id: string; replacesId: string }[]): Promise<void> {
    if (pairs.length === 0) return;
    await m.query(
      `UPDATE documents d SET replaces_id = p.replaces_id
       FROM unnest($1::uuid[], $2::uuid[]) AS p(id, replaces_id) WHERE d.id = p.id`,
      [pairs.map((p) => p.id), pairs.map((p) => p.replacesId)],
    );
  }

  /** Links a replacement and the document it replaces (one organization's own copies), with history on both. */
  async linkReplacement(m: EntityManager, oldId: string, newId: string, entry: HistoryEntry): Promise<void> {
    const history = JSON.stringify([entry]);
    await m.query(
      `UPDATE documents SET replaced_by_id = $2, history = history || $3::jsonb, updated_at = now() WHERE id = $1`,
      [oldId, newId, history],
    );
    await m.query(
      `UPDATE documents SET replaces_id = $2, history = history || $3::jsonb, updated_at = now() WHERE id = $1`,
      [newId, oldId, history],
    );
  }

  /** Whether a document is replaced by another (a draft replacement counts: one replacement per document). */
  async replacementOf(m: EntityManager, id: string): Promise<string | null> {
    const rows: { id: string }[] = await m.query('SELECT id FROM documents WHERE replaces_id = $1 LIMIT 1', [
      id,
    ]);
    return rows[0]?.id ?? null;
  }

  /** The sender's recipient rows of a recalled document show 13 until each recipient answers 15 or 16. */
  async markRecipientsRecalled(m: EntityManager, documentId: string, reason: string): Promise<void> {
    // The same statement records the 13 in each recipient's status history (as updateRecipient does).
    await m.query(
      `WITH changed AS (
         UPDATE document_recipients SET status = 'recalled', status_code = '13', reason = $2, updated_at = now()
         WHERE document_id = $1 AND status NOT IN ('failed', 'expired', 'rejected')
         RETURNING organization_code)
       INSERT INTO recipient_status_changes (document_id, organization_code, status, status_code, reason, at)
       SELECT $1, organization_code, 'recalled', '13', $2, now() FROM changed`,
      [documentId, reason],
    );
  }

  async attachments(m: EntityManager, documentIds: string[]): Promise<AttachmentRow[]> {
    if (documentIds.length === 0) return [];
    return m.query(
      `SELECT id, document_id, name, content_type, size, sha256, signature, signatures, created_at FROM attachments
       WHERE document_id = ANY($1::uuid[]) ORDER BY created_at, id`,
      [documentIds],
    );
  }

  async insertAttachment(
    m: EntityManager,
    a: {
      id: string;
      documentId: string;
      name: string;
      contentType: string;
      size: number;
      sha256: string;
      signature: unknown;
      signatures: unknown;
    },
  ): Promise<void> {
    await m.query(
      `INSERT INTO attachments (id, document_id, name, content_type, size, sha256, signature, signatures)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb)`,
      [
        a.id,
        a.documentId,
        a.name,
        a.contentType,
        a.size,
        a.sha256,
        JSON.stringify(a.signature),
        JSON.stringify(a.signatures),
      ],
    );
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export function isUuid(s: string): boolean {
  return UUID.test(s);
}
