import { Injectable } from '@nestjs/common';
import { AuditRecorder, hasRole, type Principal } from '@lienthong/common';
import { AuditActions } from '@lienthong/contracts';
import { DataSource } from 'typeorm';

interface RegisterRow {
  register_number: number;
  arrival_date: string | null;
  from_organization_code: string | null;
  number: string;
  notation: string;
  promulgation_date: string;
  type: string;
  type_name: string | null;
  subject: string;
  assignee: string | null;
  state: string;
  status_reason: string | null;
  secrecy: string;
  urgency: string;
  signer: { fullName?: string; position?: string };
  recipients: string[];
  recipient_count: number;
  id: string;
  replaces_id: string | null;
  replaced_by_id: string | null;
}

const INCOMING_COLUMNS = [
  ['arrivalDate', 'Ngày đến'],
  ['arrivalNumber', 'Số đến'],
  ['author', 'Tác giả'],
  ['numberNotation', 'Số, ký hiệu'],
  ['documentDate', 'Ngày tháng'],
  ['typeAndSubject', 'Tên loại và trích yếu nội dung'],
  ['receivingUnit', 'Đơn vị hoặc người nhận'],
  ['notes', 'Ghi chú'],
] as const;

const OUTGOING_COLUMNS = [
  ['outgoingNumber', 'Số thứ tự'],
  ['numberNotation', 'Số, ký hiệu văn bản'],
  ['documentDate', 'Ngày tháng văn bản'],
  ['typeAndSubject', 'Tên loại và trích yếu nội dung'],
  ['signer', 'Người ký'],
  ['recipients', 'Nơi nhận văn bản'],
  ['notes', 'Ghi chú'],
] as const;

/** Party documents write number and notation as `27-QĐ/TW`; keep a notation that already carries its number. */
function numberNotation(r: RegisterRow): string {
  return r.notation.startsWith(r.number) ? r.notation : `${r.number}-${r.notation}`;
}

function notes(r: RegisterRow): string {
  const parts: string[] = [];
  if (r.secrecy !== 'none') parts.push(`secrecy: ${r.secrecy}`);
  if (r.urgency !== 'normal') parts.push(`urgency: ${r.urgency}`);
  parts.push(`status: ${r.state}`);
  if (r.status_reason) parts.push(`reason: ${r.status_reason}`);
  if (r.replaced_by_id) parts.push('replaced');
  if (r.replaces_id) parts.push('replacement');
  return parts.join('; ');
}

/** Recipients named in a register line; the rest are counted (`GET /documents/{id}/recipients` lists them). */
const RECIPIENTS_IN_REGISTER = 20;

/** The incoming register (sổ văn bản đến) and the outgoing register, by number within a year. */
@Injectable()
export class RegistersService {
  constructor(
    private readonly ds: DataSource,
    private readonly audit: AuditRecorder,
  ) {}

  /** A register leaving the platform as a file is a read of every entry in it: audited (ARCHITECTURE.md). */
  async recordExport(p: Principal, direction: 'incoming' | 'outgoing', year: number, entries: number) {
    await this.ds.transaction((m) =>
      this.audit.record(m, {
        action: AuditActions.registerExported,
        actor: p,
        resource: { type: 'register', id: `${p.organizationCode}/${direction}/${year}` },
        details: { direction, year, format: 'csv', entries },
      }),
    );
  }

  /**
   * The register's entries by number: every entry of the year, or with `page` the `limit` entries after the
   * number `after` (keyset on the unique (organization, direction, year, number) index: a late page of a
   * year of thousands costs what the first does).
   */
  async entries(
    p: Principal,
    direction: 'incoming' | 'outgoing',
    year: number,
    page?: { limit: number; after: number },
  ) {
    const rows: RegisterRow[] = await this.ds.query(
      `SELECT id, register_number, (arrival_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date::text AS arrival_date,
              from_organization_code, number, notation, promulgation_date::text AS promulgation_date, type, type_name,
              subject, assignee, state, status_reason, secrecy, urgency, signer,
              recipients[1:${RECIPIENTS_IN_REGISTER}] AS recipients, cardinality(recipients) AS recipient_count,
              replaces_id, replaced_by_id
       FROM documents
       WHERE organization_code = $1 AND direction = $2 AND register_year = $3 AND ($4 OR secrecy = 'none')
         ${page ? 'AND register_number > $5' : ''}
       ORDER BY register_number ${page ? 'LIMIT $6' : ''}`,
      [p.organizationCode, direction, year, hasRole(p, 'cleared'), ...(page ? [page.after, page.limit] : [])],
    );
    const typeAndSubject = (r: RegisterRow) => `${r.type_name ?? r.type}: ${r.subject}`;
    if (direction === 'incoming') {
      return rows.map((r) => ({
        documentId: r.id,
        arrivalDate: r.arrival_date,
        arrivalNumber: r.register_number,
        author: r.from_organization_code,
        numberNotation: numberNotation(r),
        documentDate: r.promulgation_date,
        typeAndSubject: typeAndSubject(r),
        receivingUnit: r.assignee ?? '',
        notes: notes(r),
        // Business type 3: an entry replaced by a later one, and the replacement, name each other.
        ...(r.replaced_by_id ? { replaced: true, replacedBy: r.replaced_by_id } : {}),
        ...(r.replaces_id ? { replaces: r.replaces_id } : {}),
      }));
    }
    return rows.map((r) => ({
      documentId: r.id,
      outgoingNumber: r.register_number,
      numberNotation: numberNotation(r),
      documentDate: r.promulgation_date,
      typeAndSubject: typeAndSubject(r),
      signer: [r.signer?.position, r.signer?.fullName].filter(Boolean).join(' '),
      // A directive to thousands of organizations names the first few and says how many more.
      recipients:
        r.recipient_count > r.recipients.length
          ? `${r.recipients.join(', ')} (+${r.recipient_count - r.recipients.length})`
          : r.recipients.join(', '),
      notes: notes(r),
      ...(r.replaced_by_id ? { replaced: true, replacedBy: r.replaced_by_id } : {}),
      ...(r.replaces_id ? { replaces: r.replaces_id } : {}),
    }));
  }

  toCsv(direction: 'incoming' | 'outgoing', entries: Record<string, unknown>[]): string {
    const columns = direction === 'incoming' ? INCOMING_COLUMNS : OUTGOING_COLUMNS;
    const lines = [columns.map(([, title]) => csvCell(title)).join(',')];
    for (const e of entries) lines.push(columns.map(([key]) => csvCell(e[key])).join(','));
    // BOM so spreadsheet programs read the Vietnamese text as UTF-8.
    return `\uFEFF${lines.join('\r\n')}\r\n`;
  }
}

/** RFC 4180 quoting; cells a spreadsheet would run as a formula are prefixed with a quote. */
export function csvCell(v: unknown): string {
  let s = v == null ? '' : String(v);
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
