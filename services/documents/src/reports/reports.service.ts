import { Injectable } from '@nestjs/common';
import { badRequest, hasRole, type Principal } from '@lienthong/common';
import { DataSource } from 'typeorm';
import type { ReportQuery } from '../documents/documents.dto';
import { vietnamYear } from '../documents/documents.view';

interface OrgFigures {
  code: string;
  registered: number;
  /** Registered outgoing that are not classified (the electronic share's denominator). */
  exchangeable: number;
  sent: number;
  received: number;
  signed: number;
  withDue: number;
  onTime: number;
  byStatus: Record<string, number>;
}

/** API.md (2026-11-30): without `from`/`to` the report covers the current year (Vietnam time). */
export function reportPeriod(
  q: ReportQuery,
  now: Date = new Date(),
): ReportQuery & { from: string; to: string } {
  const year = (d?: string) => (d ? Number(d.slice(0, 4)) : vietnamYear(now));
  return { ...q, from: q.from ?? `${year(q.to)}-01-01`, to: q.to ?? `${year(q.from)}-12-31` };
}

const share = (n: number, d: number) => (d === 0 ? null : Math.round((n / d) * 10_000) / 10_000);

/**
 * The programme's indicators per organization and period (documents README, "Indicators"):
 * - electronicShare = outgoing sent electronically / outgoing registered that may be sent electronically
 *   (classified documents are paper-only by rule, so they are in neither);
 * - signedShare = documents sent or received electronically carrying a valid, trusted signature / documents
 *   sent or received electronically;
 * - onTimeShare = incoming completed by their due date / incoming with a due date whose outcome is known
 *   (completed, or the due date has passed), rejected and recalled ones left out: a document still within its
 *   time is neither late nor on time yet.
 * Shares are null when there is nothing to divide.
 */
/**
 * The columns the indicators read: the period's rows are materialized, and a document's whole row (content, the
 * search vector, the edXML fields) would be copied for nothing — most of the query's time with 10,000 documents.
 */
const PERIOD_COLUMNS =
  'd.id, d.organization_code, d.direction, d.secrecy, d.sent_at, d.state, d.due_date, d.completed_at';

@Injectable()
export class ReportsService {
  constructor(private readonly ds: DataSource) {}

  async exchange(p: Principal, query: ReportQuery) {
    const q = reportPeriod(query);
    if (q.to < q.from)
      throw badRequest('VALIDATION_FAILED', 'Invalid input: to', [
        { field: 'to', errors: ['to must not be before from'] },
      ]);
    const wide = hasRole(p, 'system-admin', 'auditor', 'operator');
    // Others see their own organization only.
    const org = q.organizationCode ?? (wide ? null : p.organizationCode);
    if (org && org !== p.organizationCode && !wide) {
      return { from: q.from, to: q.to, totals: this.totals([]), organizations: [] };
    }
    const rows: {
      code: string;
      registered: number;
      exchangeable: number;
      sent: number;
      received: number;
      signed: number;
      with_due: number;
      on_time: number;
    }[] = await this.ds.query(
      `WITH period AS (
         SELECT ${PERIOD_COLUMNS} FROM documents d
         WHERE COALESCE(d.arrival_at, d.created_at) >= ($1::date)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh'
           AND COALESCE(d.arrival_at, d.created_at) < (($2::date + 1)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh')
           AND ($3::text IS NULL OR d.organization_code = $3)
       )
       SELECT organization_code AS code,
         count(*) FILTER (WHERE direction = 'outgoing')::int AS registered,
         count(*) FILTER (WHERE direction = 'outgoing' AND secrecy = 'none')::int AS exchangeable,
         count(*) FILTER (WHERE direction = 'outgoing' AND sent_at IS NOT NULL)::int AS sent,
         count(*) FILTER (WHERE direction = 'incoming')::int AS received,
         count(*) FILTER (WHERE (direction = 'incoming' OR sent_at IS NOT NULL) AND EXISTS (
           SELECT 1 FROM attachments a WHERE a.document_id = period.id
             AND (a.signature->>'valid')::boolean AND (a.signature->>'trusted')::boolean))::int AS signed,
         count(*) FILTER (WHERE direction = 'incoming' AND due_date IS NOT NULL
           AND state NOT IN ('rejected', 'recalled')
           AND (completed_at IS NOT NULL OR due_date < (now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::date))::int AS with_due,
         count(*) FILTER (WHERE direction = 'incoming' AND due_date IS NOT NULL AND completed_at IS NOT NULL
           AND state NOT IN ('rejected', 'recalled')
           AND (completed_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date <= due_date)::int AS on_time
       FROM period GROUP BY organization_code ORDER BY organization_code`,
      [q.from, q.to, org],
    );
    const statuses: { code: string; status: string; n: number }[] = await this.ds.query(
      `WITH period AS (
         SELECT ${PERIOD_COLUMNS} FROM documents d
         WHERE COALESCE(d.arrival_at, d.created_at) >= ($1::date)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh'
           AND COALESCE(d.arrival_at, d.created_at) < (($2::date + 1)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh')
           AND ($3::text IS NULL OR d.organization_code = $3)
       )
       SELECT organization_code AS code, state AS status, count(*)::int AS n FROM period WHERE direction = 'incoming'
         GROUP BY 1, 2
       UNION ALL
       SELECT p.organization_code, r.status, count(*)::int FROM period p JOIN document_recipients r ON r.document_id = p.id
         GROUP BY 1, 2`,
      [q.from, q.to, org],
    );
    const figures: OrgFigures[] = rows.map((r) => ({
      code: r.code,
      registered: r.registered,
      exchangeable: r.exchangeable,
      sent: r.sent,
      received: r.received,
      signed: r.signed,
      withDue: r.with_due,
      onTime: r.on_time,
      byStatus: {},
    }));
    for (const s of statuses) {
      const f = figures.find((x) => x.code === s.code);
      if (f) f.byStatus[s.status] = (f.byStatus[s.status] ?? 0) + s.n;
    }
    return {
      from: q.from,
      to: q.to,
      totals: this.totals(figures),
      organizations: figures.map((f) => this.shape(f)),
    };
  }

  private shape(f: OrgFigures) {
    return {
      code: f.code,
      sent: f.sent,
      received: f.received,
      registered: f.registered,
      // The denominators, so that a client can add organizations up exactly.
      electronicEligible: f.exchangeable,
      dueResolved: f.withDue,
      electronicShare: share(f.sent, f.exchangeable),
      signedShare: share(f.signed, f.sent + f.received),
      onTimeShare: share(f.onTime, f.withDue),
      byStatus: f.byStatus,
    };
  }

  private totals(figures: OrgFigures[]) {
    const sum: OrgFigures = {
      code: '*',
      registered: 0,
      exchangeable: 0,
      sent: 0,
      received: 0,
      signed: 0,
      withDue: 0,
      onTime: 0,
      byStatus: {},
    };
    for (const f of figures) {
      sum.registered += f.registered;
      sum.exchangeable += f.exchangeable;
      sum.sent += f.sent;
      sum.received += f.received;
      sum.signed += f.signed;
      sum.withDue += f.withDue;
      sum.onTime += f.onTime;
      for (const [k, v] of Object.entries(f.byStatus)) sum.byStatus[k] = (sum.byStatus[k] ?? 0) + v;
    }
    const { code: _code, ...rest } = this.shape(sum);
    return { organizations: figures.length, ...rest };
  }
}
