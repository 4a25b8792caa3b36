import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import {
  JetStreamService,
  OutboxService,
  PoisonMessageError,
  ProcessedMessages,
  type ConsumedMessage,
  type ConsumerHandle,
} from '@lienthong/common';
import {
  jsApi,
  sourceDeliveryPrefix,
  streamName,
  Streams,
  Subjects,
  type DirectoryOrganizationEntry,
  type OrganizationView,
} from '@lienthong/contracts';
import { DataSource, EntityManager } from 'typeorm';
import { IdentityConfig } from '../config/identity.config';
import { OrganizationsRepository, toView, versionOf } from '../organizations/organizations.repository';
import { decideDirectoryAction, directoryEntryProblem, type DirectoryAction } from './directory-rules';

/** Local stream sourcing the centre's directory stream across JetStream domains. */
export const directoryReplicaStream = (): string => streamName('DIRECTORY_REPLICA');
/** Durable consumer of the replica stream that applies entries to the local organizations table. */
export const directoryReplicaConsumer = (nodeId: string): string => `identity-${nodeId}-directory`;

const APPLY_LOCK = 'identity.directory-apply';

/**
 * Replica node (`DIRECTORY_UPSTREAM_DOMAIN` set): sources the centre's compacted directory stream into a
 * local stream and applies each entry to the local organizations table (newer versions only), emitting the
 * local `organization.changed` in the same transaction. Entries are applied one at a time under a
 * transaction-scoped advisory lock, so several identity replicas of one node do not interleave.
 */
@Injectable()
export class DirectoryReplica implements OnApplicationBootstrap {
  private readonly logger = new Logger(DirectoryReplica.name);
  private handle?: ConsumerHandle;

  constructor(
    private readonly ds: DataSource,
    private readonly repo: OrganizationsRepository,
    private readonly outbox: OutboxService,
    private readonly processed: ProcessedMessages,
    private readonly js: JetStreamService,
    private readonly config: IdentityConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.directoryReplica) return;
    await this.ensureReplicaStream();
    this.handle = await this.js.consume<DirectoryOrganizationEntry>(
      {
        stream: directoryReplicaStream(),
        durable: directoryReplicaConsumer(this.config.NODE_ID),
        filterSubject: Subjects.directoryAll(),
        // The centre is authoritative: keep retrying (for hours) rather than dead-lettering a state.
        maxDeliver: 1000,
        backoffMs: [200, 1000, 5000, 15000],
      },
      async (batch) => {
        for (const msg of batch) await this.applyMessage(msg);
      },
    );
  }

  async stop(): Promise<void> {
    await this.handle?.stop();
  }

  /** `<NS>_DIRECTORY_REPLICA`: no subjects of its own, sourced from `<NS>_DIRECTORY` in the upstream domain. */
  async ensureReplicaStream(): Promise<void> {
    const name = directoryReplicaStream();
    const upstream = this.config.DIRECTORY_UPSTREAM_DOMAIN!;
    const api = jsApi(upstream);
    if (
      await this.js.ensureSourcedStream({
        name,
        sources: [
          {
            name: Streams.directory().name,
            // The hub lets this node receive deliveries on its own prefix only (deploy/nats, leaf users).
            external: { api, deliver: sourceDeliveryPrefix(this.config.NODE_ID, upstream) },
          },
        ],
        maxMsgsPerSubject: 1,
      })
    ) {
      this.logger.log(`directory replica stream ${name} sources ${Streams.directory().name} from ${api}`);
    }
  }

  private async applyMessage(msg: ConsumedMessage<DirectoryOrganizationEntry>): Promise<void> {
    const entry = msg.envelope.data;
    const problem = directoryEntryProblem(entry);
    if (problem) throw new PoisonMessageError(`directory entry ${msg.subject}: ${problem}`);
    if (msg.subject !== Subjects.directoryOrganization(entry.code)) {
      throw new PoisonMessageError(`directory entry for ${entry.code} on ${msg.subject}`);
    }
    await this.apply(entry, msg.envelope.id);
  }

  /** Applies one entry (idempotent: claimed by message id, and only a newer version changes anything). */
  async apply(entry: DirectoryOrganizationEntry, messageId: string): Promise<DirectoryAction> {
    return this.ds.transaction(async (m) => {
      await m.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`${this.config.DB_SCHEMA}.${APPLY_LOCK}`]);
      if (!(await this.processed.claim(m, directoryReplicaConsumer(this.config.NODE_ID), messageId)))
        return 'skip';
      const cur = await this.repo.find(entry.code, m, true);
      const action = decideDirectoryAction(
        entry,
        cur ? versionOf(cur) : null,
        await this.repo.tombstoneVersion(m, entry.code),
      );
      const state = {
        code: entry.code,
        name: entry.name,
        level: entry.level,
        sector: entry.sector,
        zone: entry.zone,
        node_id: entry.nodeId,
        version: entry.version,
        created_at: entry.createdAt ?? null,
        updated_at: entry.updatedAt ?? null,
      };
      switch (action) {
        case 'skip':
          return action;
        case 'tombstone':
          await this.repo.recordTombstone(m, entry.code, entry.version);
          return action;
        case 'delete': {
          await this.repo.recordTombstone(m, entry.code, entry.version);
          if (await this.repo.hasMembers(m, entry.code)) {
            // Node-local users or clients still belong to it: kept (its version stays older than the
            // tombstone, so a later re-creation at the centre still applies).
            this.logger.warn(
              `directory: ${entry.code} was deleted at the centre but local users or clients belong to it; kept`,
            );
            return 'skip';
          }
          // Children still here were moved away at the centre (their newer states follow in the stream):
          // they wait as roots for their parent meanwhile.
          for (const child of await this.repo.childCodes(m, entry.code))
            await this.detach(m, child, entry.code);
          await this.repo.deleteLeaf(m, entry.code);
          await this.emit(m, 'deleted', toView(cur!));
          return action;
        }
        case 'insert':
          await this.repo.insertReplica(m, state);
          break;
        case 'update':
          await this.repo.updateReplica(m, state);
          break;
      }
      await this.place(m, entry.code, entry.parentCode ?? null);
      for (const child of await this.repo.pendingChildCodes(m, entry.code))
        await this.place(m, child, entry.code);
      const row = await this.repo.find(entry.code, m);
      await this.emit(m, action === 'insert' ? 'created' : 'updated', toView(row!));
      return action;
    });
  }

  /**
   * Puts an organization below `parentCode`, fixing the paths of its subtree. While the parent is missing
   * (or is, for now, below the organization itself: states can arrive in another order than they were made),
   * the organization waits as a root with `pending_parent_code`, and is attached when the parent arrives.
   */
  private async place(m: EntityManager, code: string, parentCode: string | null): Promise<void> {
    const row = (await this.repo.find(code, m))!;
    let parent: string | null = null;
    let pending: string | null = null;
    let path = `/${code}/`;
    if (parentCode) {
      const p = await this.repo.find(parentCode, m);
      if (p && !p.path.startsWith(row.path)) {
        parent = parentCode;
        path = `${p.path}${code}/`;
      } else {
        pending = parentCode;
      }
    }
    await this.repo.setPlacement(m, code, parent, pending);
    if (path !== row.path) await this.repo.rebasePaths(m, row.path, path);
  }

  private async detach(m: EntityManager, code: string, parentCode: string): Promise<void> {
    const row = (await this.repo.find(code, m))!;
    await this.repo.setPlacement(m, code, null, parentCode);
    await this.repo.rebasePaths(m, row.path, `/${code}/`);
  }

  /**
   * Bootstrap on a replica: the local root organization (for the bootstrap admin) as a placeholder of version 0,
   * so any state of that code from the centre replaces it. Nothing is published to a directory stream.
   */
  async ensurePlaceholder(
    view: Omit<OrganizationView, 'createdAt' | 'updatedAt' | 'parentCode'>,
  ): Promise<void> {
    await this.ds.transaction(async (m) => {
      await m.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`${this.config.DB_SCHEMA}.${APPLY_LOCK}`]);
      if (await this.repo.find(view.code, m)) return;
      await this.repo.insertReplica(m, {
        code: view.code,
        name: view.name,
        level: view.level,
        sector: view.sector,
        zone: view.zone,
        node_id: view.nodeId,
        version: 0,
        created_at: null,
        updated_at: null,
      });
      await this.emit(m, 'created', toView((await this.repo.find(view.code, m))!));
    });
  }

  private async emit(
    m: EntityManager,
    change: 'created' | 'updated' | 'deleted',
    organization: OrganizationView,
  ): Promise<void> {
    await this.outbox.add(m, {
      subject: Subjects.organizationChanged(),
      type: 'organization.changed',
      data: { change, organization },
    });
  }
}
