import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { AttachmentRow, DocumentRow, RecipientRow } from './documents.entity';

export const DOCUMENT_COLUMNS = `
  d.id, d.organization_code, d.direction, d.number, d.notation, d.type, d.type_name, d.subject, d.content,
  d.promulgation_place, d.promulgation_date::text AS promulgation_date, d.signer, d.secrecy, d.urgency, d.steering,
  d.due_date::text AS due_date, d.recipients, d.state, d.status_code, d.status_reason, d.assignee,
  d.from_organization_code, d.source_document_id, d.edxml_document_id, d.delivery_id, d.register_year,
  d.register_number, d.arrival_at, (d.arrival_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date::text AS arrival_date,
  d.sent_at, d.completed_at, d.created_by, d.created_at, d.updated_at, d.created_at::text AS page_ts`;

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
         UPDATE document_recipients SET status = $3, status_code = $4, reason = $5, updated_at = $6::timestamptz
         WHERE document_id = $1 AND organization_code = $2
           AND (updated_at <= $6::timestamptz OR status IN ('queued', 'sent', 'failed', 'expired'))
           AND ($7::text[] IS NULL OR status = ANY($7::text[]))
         RETURNING 1)
       SELECT count(*)::int AS n FROM changed`,
      [documentId, organizationCode, status, statusCode, reason, at, onlyFrom ?? null],
    );
    return n > 0;
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
