import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/** States an exchange waits or ends in that an operator watches on a link (delivered/sent are done). */
export const WATCHED_STATES = ['queued', 'sending', 'sent', 'failed', 'expired', 'dead'] as const;

export interface StateCount {
  route: string;
  target_node: string | null;
  state: string;
  n: number;
}

/** Reads for the link view: counts over the `exchanges` and `outbox` tables. */
@Injectable()
export class LinksRepository {
  constructor(private readonly ds: DataSource) {}

  /**
   * Exchanges per route, target node and state, for the states an operator watches (the partial
   * `exchanges_open_state` index holds only those rows, none of the delivered ones); `scope` limits them to exchanges from or to those organizations.
   */
  async stateCounts(scope: string[] | null): Promise<StateCount[]> {
    return this.ds.query(
      `SELECT route, target_node, state, count(*)::int AS n FROM exchanges
       WHERE state = ANY($1::text[]) AND route IN ('federation', 'national-axis')
         AND ($2::text[] IS NULL OR from_code = ANY($2::text[]) OR to_code = ANY($2::text[]))
       GROUP BY route, target_node, state`,
      [WATCHED_STATES, scope],
    );
  }

  /** The newest last error of an exchange on a route (or to a node), in scope. */
  async lastError(
    route: 'federation' | 'national-axis',
    scope: string[] | null,
    targetNode?: string,
  ): Promise<{ at: string; message: string; exchangeId: string } | null> {
    const [row] = (await this.ds.query(
      `SELECT id, last_error, updated_at FROM exchanges
       WHERE state = ANY($1::text[]) AND route = $2 AND last_error IS NOT NULL
         AND ($3::text IS NULL OR target_node = $3)
         AND ($4::text[] IS NULL OR from_code = ANY($4::text[]) OR to_code = ANY($4::text[]))
       ORDER BY updated_at DESC LIMIT 1`,
      [WATCHED_STATES, route, targetNode ?? null, scope],
    )) as { id: string; last_error: string; updated_at: Date }[];
    return row ? { at: row.updated_at.toISOString(), message: row.last_error, exchangeId: row.id } : null;
  }

  /** Messages waiting in this node's outbox, by subject (not yet published to NATS). */
  async outboxBacklog(subjects: string[]): Promise<Map<string, number>> {
    if (subjects.length === 0) return new Map();
    const rows: { subject: string; n: number }[] = await this.ds.query(
      `SELECT subject, count(*)::int AS n FROM outbox WHERE subject = ANY($1::text[]) GROUP BY subject`,
      [subjects],
    );
    return new Map(rows.map((r) => [r.subject, r.n]));
  }
}
