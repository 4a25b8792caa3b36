import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { AuditRecorder, Principal, RpcClient } from '@lienthong/common';
import { AuditActions, AuditEventPayload, RpcMethods } from '@lienthong/contracts';
import { DataSource } from 'typeorm';
import { hashedAny, hashedEqual, hashedSet } from './hashed-any';

export interface EventItem {
  id: string;
  leafIndex: number;
  leafHash: string;
  time: string;
  service: string;
  action: string;
  actor: { sub: string; organizationCode: string | null; type: string };
  resource: { type: string; id: string };
  outcome: string;
  details?: Record<string, unknown>;
}

export interface EventFilter {
  action?: string;
  actor?: string;
  organizationCode?: string;
  resourceId?: string;
  from?: string;
  to?: string;
  fromIndex?: number;
  toIndex?: number;
  /** null = everything (system-admin). */
  scope: string[] | null;
}

interface LeafRow {
  leaf_index: string;
  leaf_hash: Buffer;
  event: AuditEventPayload;
}

export function toItem(r: LeafRow): EventItem {
  const e = r.event;
  const item: EventItem = {
    id: e.id,
    leafIndex: Number(r.leaf_index),
    leafHash: r.leaf_hash.toString('hex'),
    time: e.time,
    service: e.service,
    action: e.action,
    actor: { sub: e.actor.sub, organizationCode: e.actor.organizationCode ?? null, type: e.actor.type },
    resource: { type: e.resource.type, id: e.resource.id },
    outcome: e.outcome,
  };
  if (e.details !== undefined) item.details = e.details;
  return item;
}

/**
 * Scopes of up to this many codes go through the hashed organization index (hashedAny: constant arrays, so
 * the planner weighs the index against the other filters; planning ~2 ms at 500 codes, ~35 ms at 10,000);
 * larger ones through a hashed SubPlan (hashedSet: one probe per row, ~0.1 ms to plan whatever the size).
 * Which is faster depends on the share of the log the scope holds, not on its size alone: on 1.5 M leaves
 * the index won up to 200 quiet organizations, the sub-plan from 1,000 busier ones
 * (bench/audit-scope.mjs, BENCHMARKS.md session 7).
 */
export const INDEXED_SCOPE_MAX = 500;

/**
 * How long a subtree from identity is reused for the same organization: a page of a long read, and the
 * next pages, ask identity once instead of each time (an auditor of a central office has 10,000 codes).
 * An organization created, moved or removed shows in (or leaves) an auditor's scope within this time.
 */
export const SCOPE_TTL_MS = 5_000;
/** Organizations whose subtree is kept at most (the oldest entry goes first). */
export const SCOPE_CACHE_MAX = 256;

/** Queries over the stored events; every filter is backed by an index ending in leaf_index
 * (action, actor, organization and resource by (hashtext(column), leaf_index), time by a BRIN index). */
@Injectable()
export class EventsService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly rpc: RpcClient,
    private readonly audit: AuditRecorder,
  ) {}

  /** Subtrees by organization code: the answer (or the request under way, shared by concurrent pages). */
  private readonly scopes = new Map<string, { at: number; codes: Promise<string[]> }>();

  /**
   * An export takes the log (or the caller's part of it) out of the platform: recorded before the first
   * byte leaves, in the log it exports (issue 13.10).
   */
  async recordExport(p: Principal, f: EventFilter): Promise<void> {
    const bounds = Object.fromEntries(
      Object.entries({ from: f.from, to: f.to, fromIndex: f.fromIndex, toIndex: f.toIndex }).filter(
        ([, v]) => v !== undefined,
      ),
    );
    await this.ds.transaction((m) =>
      this.audit.record(m, {
        action: AuditActions.auditExported,
        actor: p,
        resource: { type: 'audit-log', id: p.organizationCode },
        details: { ...bounds, scope: f.scope === null ? 'all' : 'subtree' },
      }),
    );
  }

  /**
   * The organization codes an auditor may see (its subtree, from identity); null for system-admins. Kept
   * SCOPE_TTL_MS per organization (audit is not subscribed to identity's `organization.changed`; a move
   * changes the subtrees of every ancestor, old and new, so the time bound is what holds). A failed request
   * is not kept.
   */
  async scopeOf(p: Principal): Promise<string[] | null> {
    if (p.roles.includes('system-admin')) return null;
    const now = Date.now();
    const hit = this.scopes.get(p.organizationCode);
    if (hit && now - hit.at < SCOPE_TTL_MS) return hit.codes;
    this.scopes.delete(p.organizationCode);
    const codes = this.rpc
      .request(RpcMethods.organizationSubtree, { code: p.organizationCode })
      .then((r) => Array.from(new Set([p.organizationCode, ...(r.codes ?? [])])));
    const entry = { at: now, codes };
    this.scopes.set(p.organizationCode, entry);
    while (this.scopes.size > SCOPE_CACHE_MAX) this.scopes.delete(this.scopes.keys().next().value as string);
    codes.catch(() => {
      if (this.scopes.get(p.organizationCode) === entry) this.scopes.delete(p.organizationCode);
    });
    return codes;
  }

  async page(f: EventFilter, afterIndex: number, limit: number): Promise<{ rows: LeafRow[]; more: boolean }> {
    const rows = await this.fetch(f, afterIndex, limit + 1);
    return { rows: rows.slice(0, limit), more: rows.length > limit };
  }

  async query(
    f: EventFilter,
    cursor: string | undefined,
    limit: number,
  ): Promise<{ items: EventItem[]; nextCursor: string | null }> {
    const { rows, more } = await this.page(f, cursor === undefined ? -1 : Number(cursor), limit);
    return { items: rows.map(toItem), nextCursor: more ? String(rows[rows.length - 1].leaf_index) : null };
  }

  /** Keyset batches in leaf order: memory stays bounded however long the export. */
  async *exportBatches(f: EventFilter, batchSize = 1000): AsyncGenerator<LeafRow[]> {
    let after = -1;
    for (;;) {
      const rows = await this.fetch(f, after, batchSize);
      if (rows.length === 0) return;
      yield rows;
      if (rows.length < batchSize) return;
      after = Number(rows[rows.length - 1].leaf_index);
    }
  }

  private async fetch(f: EventFilter, afterIndex: number, limit: number): Promise<LeafRow[]> {
    const where: string[] = ['leaf_index > $1'];
    const params: unknown[] = [afterIndex];
    const add = (sql: string, v: unknown) => {
      params.push(v);
      where.push(sql.split('?').join(`$${params.length}`));
    };
    const equal = (column: string, v: unknown) => add(hashedEqual(column, '?'), v);
    if (f.action !== undefined) equal('action', f.action);
    if (f.actor !== undefined) equal('actor_sub', f.actor);
    if (f.organizationCode !== undefined) equal('organization_code', f.organizationCode);
    if (f.resourceId !== undefined) equal('resource_id', f.resourceId);
    if (f.from !== undefined) add('time >= ?', f.from);
    if (f.to !== undefined) add('time < ?', f.to);
    if (f.fromIndex !== undefined) add('leaf_index >= ?', f.fromIndex);
    if (f.toIndex !== undefined) add('leaf_index < ?', f.toIndex);
    if (f.scope !== null)
      add(
        (f.scope.length <= INDEXED_SCOPE_MAX ? hashedAny : hashedSet)('organization_code', '?::text[]'),
        f.scope,
      );
    params.push(limit);
    return (await this.ds.query(
      `SELECT leaf_index, leaf_hash, event FROM leaves WHERE ${where.join(' AND ')} ORDER BY leaf_index LIMIT $${params.length}`,
      params,
    )) as LeafRow[];
  }
}
