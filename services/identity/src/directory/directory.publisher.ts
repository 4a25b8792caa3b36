import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { JetStreamService, OutboxService } from '@lienthong/common';
import { Streams, Subjects, type OrganizationView } from '@lienthong/contracts';
import { DataSource, EntityManager } from 'typeorm';
import { IdentityConfig } from '../config/identity.config';
import { OrganizationsRepository, toView, versionOf } from '../organizations/organizations.repository';
import { directoryEntry, directoryMessageId } from './directory-rules';

const BACKFILL_LOCK = 'identity.directory-backfill';

/**
 * Authoritative node: every organization change also writes the organization's full state (or a tombstone)
 * to `Subjects.directoryOrganization(code)` through the outbox, in the change's transaction. The stream
 * `Streams.directory()` keeps the last message per subject: the whole directory, compacted.
 */
@Injectable()
export class DirectoryPublisher implements OnApplicationBootstrap {
  private readonly logger = new Logger(DirectoryPublisher.name);

  constructor(
    private readonly ds: DataSource,
    private readonly outbox: OutboxService,
    private readonly js: JetStreamService,
    private readonly repo: OrganizationsRepository,
    private readonly config: IdentityConfig,
  ) {}

  /** Adds the directory entry of one state; nothing on a replica (it never writes a directory stream). */
  async add(m: EntityManager, view: OrganizationView, version: number, deleted = false): Promise<void> {
    if (this.config.directoryReplica) return;
    await this.outbox.add(m, {
      subject: Subjects.directoryOrganization(view.code),
      type: 'directory.organization',
      id: directoryMessageId(view.code, version),
      data: directoryEntry(view, version, deleted),
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.directoryReplica) return;
    try {
      const n = await this.backfill();
      if (n > 0) this.logger.log(`directory backfill: ${n} organization(s) published`);
    } catch (e) {
      // Not fatal: the next start tries again, and every later change publishes its organization anyway.
      this.logger.error(`directory backfill failed: ${(e as Error).message}`);
    }
  }

  /**
   * Publishes every organization the directory stream holds nothing for (organizations created before
   * directory publishing existed, or a stream that was lost). Idempotent: message ids are derived from code
   * and version, and an organization already in the stream is left alone. Returns how many were added.
   */
  async backfill(): Promise<number> {
    const jsm = await this.js.manager();
    const stream = Streams.directory().name;
    const info = await jsm.streams.info(stream, { subjects_filter: Subjects.directoryAll() });
    const present = new Set(Object.keys(info.state.subjects ?? {}));
    const missing = (await this.repo.allCodes()).filter(
      (c) => !present.has(Subjects.directoryOrganization(c)),
    );
    if (missing.length === 0) return 0;
    return this.ds.transaction(async (m) => {
      // One backfill at a time; rows are read FOR SHARE so a concurrent change commits (and is queued in
      // the outbox) after this batch, never before it with an older state behind it.
      await m.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [
        `${this.config.DB_SCHEMA}.${BACKFILL_LOCK}`,
      ]);
      const rows = await this.repo.allForShare(m, missing);
      for (let i = 0; i < rows.length; i += 500) {
        await this.outbox.add(
          m,
          ...rows.slice(i, i + 500).map((r) => ({
            subject: Subjects.directoryOrganization(r.code),
            type: 'directory.organization' as const,
            id: directoryMessageId(r.code, versionOf(r)),
            data: directoryEntry(toView(r), versionOf(r)),
          })),
        );
      }
      return rows.length;
    });
  }
}
