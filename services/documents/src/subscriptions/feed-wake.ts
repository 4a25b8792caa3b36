import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Client } from 'pg';
import { DocumentsConfig } from '../config/documents.config';
import { feedChannel } from './organization-feed';

/**
 * Wakes webhook dispatchers and `Watch` streams when feed rows are committed: OrganizationFeed.record sends a
 * PostgreSQL NOTIFY in the writing transaction, delivered at its commit to every replica's listener. A lost
 * connection is reopened; readers also poll (SUBSCRIPTIONS_POLL_MS), so a missed wake only delays.
 */
@Injectable()
export class FeedWake implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(FeedWake.name);
  private readonly waiters = new Set<() => void>();
  private client?: Client;
  private stopped = false;
  private retry?: NodeJS.Timeout;
  /** Counts wake-ups: a reader that notes it before reading does not sleep through a commit made meanwhile. */
  generation = 0;

  constructor(private readonly config: DocumentsConfig) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.listen();
  }

  private async listen(): Promise<void> {
    if (this.stopped) return;
    const client = new Client({ connectionString: this.config.DATABASE_URL });
    const reopen = (why: string) => {
      if (this.client !== client) return;
      this.client = undefined;
      client.end().catch(() => undefined);
      if (this.stopped) return;
      this.logger.warn(`feed listener lost (${why}); reopening`);
      this.retry = setTimeout(() => void this.listen(), 1000);
      this.wakeAll(); // readers look once: something may have been missed
    };
    client.on('error', (e) => reopen(e.message));
    client.on('end', () => reopen('connection ended'));
    client.on('notification', () => this.wakeAll());
    this.client = client;
    try {
      await client.connect();
      await client.query(`LISTEN "${feedChannel(this.config.DB_SCHEMA)}"`);
    } catch (e) {
      reopen((e as Error).message);
    }
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

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    this.wakeAll();
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }
}
