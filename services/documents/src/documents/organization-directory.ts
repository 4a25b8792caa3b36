import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { hasRole, JetStreamService, RpcClient, type Principal } from '@lienthong/common';
import {
  RpcMethods,
  Streams,
  Subjects,
  type OrganizationChangedEvent,
  type OrganizationView,
} from '@lienthong/contracts';
import { DataSource } from 'typeorm';
import { DocumentsConfig } from '../config/documents.config';

/**
 * The organizations documents needs to know, kept locally: `organization.changed` feeds the
 * `organization_directory` table, so a send checks its recipients with one query and no request to identity.
 * A code the table has never heard of (an organization older than the identity stream's retention) is asked
 * of identity once and then kept.
 */
@Injectable()
export class OrganizationDirectory implements OnApplicationBootstrap {
  private readonly logger = new Logger(OrganizationDirectory.name);

  constructor(
    private readonly rpc: RpcClient,
    private readonly js: JetStreamService,
    private readonly ds: DataSource,
    private readonly config: DocumentsConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.js.ensureStream(Streams.identity());
    await this.js.consume<OrganizationChangedEvent>(
      {
        stream: Streams.identity().name,
        durable: `documents-${this.config.NODE_ID}-organizations`,
        filterSubject: Subjects.organizationChanged(),
        batchSize: 500,
      },
      async (batch) =>
        this.store(
          batch.map((m) => ({
            view: m.envelope.data.organization,
            deleted: m.envelope.data.change === 'deleted',
            at: m.envelope.occurredAt,
          })),
        ),
    );
  }

  /** Applies organization states; an older state never replaces a newer one (redeliveries, replays). */
  private async store(items: { view: OrganizationView; deleted: boolean; at: string }[]): Promise<void> {
    if (items.length === 0) return;
    // The last state of each code in this batch (a batch may hold several changes of one organization).
    const last = new Map(items.map((i) => [i.view.code, i]));
    const rows = [...last.values()];
    await this.ds.query(
      `INSERT INTO organization_directory (code, parent_code, level, sector, zone, node_id, deleted, changed_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::boolean[],
         $8::timestamptz[])
       ON CONFLICT (code) DO UPDATE SET parent_code = EXCLUDED.parent_code, level = EXCLUDED.level,
         sector = EXCLUDED.sector, zone = EXCLUDED.zone, node_id = EXCLUDED.node_id, deleted = EXCLUDED.deleted,
         changed_at = EXCLUDED.changed_at
       WHERE organization_directory.changed_at <= EXCLUDED.changed_at`,
      [
        rows.map((r) => r.view.code),
        rows.map((r) => r.view.parentCode ?? null),
        rows.map((r) => r.view.level ?? null),
        rows.map((r) => r.view.sector ?? null),
        rows.map((r) => r.view.zone ?? null),
        rows.map((r) => r.view.nodeId ?? null),
        rows.map((r) => r.deleted),
        rows.map((r) => r.at),
      ],
    );
  }

  /**
   * Organizations whose documents the caller may read: its own, plus its subtree for org-admins (API.md,
   * common rules). If identity cannot answer, an org-admin sees only its own organization.
   */
  async readableBy(p: Principal): Promise<string[]> {
    if (!hasRole(p, 'org-admin')) return [p.organizationCode];
    try {
      const res = await this.rpc.request(RpcMethods.organizationSubtree, { code: p.organizationCode });
      return [...new Set([p.organizationCode, ...(res.codes ?? [])])];
    } catch (e) {
      this.logger.warn(`organization subtree unavailable: ${(e as Error).message}`);
      return [p.organizationCode];
    }
  }

  /** The codes that are no (longer an) organization. */
  async missing(codes: string[]): Promise<string[]> {
    if (codes.length === 0) return [];
    const known: { code: string; deleted: boolean }[] = await this.ds.query(
      `SELECT code, deleted FROM organization_directory WHERE code = ANY($1::text[])`,
      [codes],
    );
    const state = new Map(known.map((k) => [k.code, k.deleted]));
    const unheard = codes.filter((c) => !state.has(c));
    if (unheard.length > 0) {
      const res = await this.rpc.request(RpcMethods.organizationResolve, { codes: unheard });
      // Kept with the epoch as its time, so any real change event replaces it.
      await this.store(res.found.map((o) => ({ view: o, deleted: false, at: new Date(0).toISOString() })));
      for (const o of res.found) state.set(o.code, false);
    }
    return codes.filter((c) => state.get(c) !== false);
  }
}
