import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { NATS_CONNECTION } from '@lienthong/common';
import { outboxWakeSubject } from '@lienthong/contracts';
import type {
  EntityManager,
  EntitySubscriberInterface,
  TransactionCommitEvent,
  TransactionRollbackEvent,
} from 'typeorm';
import { DataSource } from 'typeorm';
import { DocumentsConfig } from '../config/documents.config';

const FEED_WRITTEN = 'feedWritten';

/** Marks the manager's transaction as having written feed rows (FeedWake wakes readers when it commits). */
export function markFeedWritten(manager: EntityManager): void {
  const qr = manager.queryRunner;
  if (qr) qr.data = { ...(qr.data ?? {}), [FEED_WRITTEN]: true };
}

/** The core NATS subject that wakes the feed readers of one schema in every replica (an `outbox.wake.*` one). */
export const feedWakeSubject = (schema: string): string => outboxWakeSubject(`${schema}_feed`);

/**
 * Wakes webhook dispatchers and `Watch` streams when feed rows are committed, the way the outbox relay is woken:
 * a TypeORM commit hook wakes this process's readers at once and publishes a core NATS message that wakes the
 * other replicas' (no `pg_notify` in business transactions: its cluster-wide lock would serialise commits).
 * A lost wake-up only delays: readers also poll (SUBSCRIPTIONS_POLL_MS).
 */
@Injectable()
export class FeedWake implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(FeedWake.name);
  private readonly waiters = new Set<() => void>();
  private sub?: Subscription;
  private stopped = false;
  private publishQueued = false;
  /** Counts wake-ups: a reader that notes it before reading does not sleep through a commit made meanwhile. */
  generation = 0;

  constructor(
    private readonly config: DocumentsConfig,
    private readonly dataSource: DataSource,
    @Inject(NATS_CONNECTION) private readonly nc?: NatsConnection,
  ) {}

  onApplicationBootstrap(): void {
    const hook: EntitySubscriberInterface = {
      afterTransactionCommit: (event: TransactionCommitEvent) => {
        const qr = event.queryRunner;
        if (!qr?.data?.[FEED_WRITTEN]) return;
        qr.data = { ...qr.data, [FEED_WRITTEN]: false };
        this.committed();
      },
      afterTransactionRollback: (event: TransactionRollbackEvent) => {
        const qr = event.queryRunner;
        if (qr?.data?.[FEED_WRITTEN]) qr.data = { ...qr.data, [FEED_WRITTEN]: false };
      },
    };
    this.dataSource.subscribers.push(hook);
    try {
      this.sub = this.nc?.subscribe(feedWakeSubject(this.config.DB_SCHEMA), {
        callback: () => this.wakeAll(),
      });
    } catch (e) {
      this.logger.warn(`feed wake-up subscription unavailable, polling only: ${(e as Error).message}`);
    }
  }

  /** A local commit wrote feed rows: wake here now, and the other replicas once per tick. */
  private committed(): void {
    this.wakeAll();
    if (this.publishQueued || !this.nc) return;
    this.publishQueued = true;
    setImmediate(() => {
      this.publishQueued = false;
      try {
        this.nc?.publish(feedWakeSubject(this.config.DB_SCHEMA));
      } catch {
        // Closed or reconnecting: the other replicas' poll picks the rows up.
      }
    });
  }

  private wakeAll(): void {
    this.generation++;
    const all = [...this.waiters];
    this.waiters.clear();
    for (const w of all) w();
  }

  /**
   * Resolves at the next committed feed write (or at once if one came after `since`, a `generation` read
   * earlier), after `ms`, or when `signal` aborts, whichever is first.
   */
  wait(ms: number, signal?: AbortSignal, since?: number): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted || this.stopped || (since !== undefined && since !== this.generation))
        return resolve();
      const done = () => {
        clearTimeout(t);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    this.sub?.unsubscribe();
    this.wakeAll();
  }
}
