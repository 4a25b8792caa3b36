import { Client, type QueryResult } from 'pg';
import type { EntityManager } from 'typeorm';

/** A statement held back until the next one (or the COMMIT), then sent on the wire with it. */
export interface DeferredStatement {
  /** A named prepared statement when given (same rules as preparedQuery). */
  name?: string;
  text: string;
  values: unknown[];
}

type QueryFn = (config: unknown, values?: unknown, callback?: unknown) => unknown;

const BEGIN = 'START TRANSACTION';

function result(command: string): QueryResult {
  return { command, rowCount: null, oid: 0, rows: [], fields: [] } as unknown as QueryResult;
}

/**
 * The pool's pg client (databaseOptions → `extra.Client`): fewer round trips per transaction, same
 * statements in the same order.
 *
 * - TypeORM's `START TRANSACTION` is not sent on its own: it goes on the wire in one write with the
 *   transaction's first statement (pg's pipeline mode, one Sync each), and the client awaits both answers.
 *   A transaction that sends no statement sends neither BEGIN nor COMMIT.
 * - A statement deferred with `deferUntilCommit` (the outbox INSERT that ends a unit of work, the relay's
 *   DELETE) goes with the COMMIT, or with whatever statement comes next. If it fails, the COMMIT that follows
 *   it in the same write finds the transaction aborted and rolls it back; the COMMIT then fails with the
 *   deferred statement's error, so TypeORM rolls back and rethrows as for any failed statement.
 *
 * Every answer is awaited before the caller goes on, errors are those of the statement that failed first,
 * and nothing changes for queries outside a transaction.
 */
export class PipeliningClient extends Client {
  private beginPending = false;
  private deferred?: DeferredStatement;
  /** The error of a statement sent ahead of a query pg queued (no caller awaited it): fails the COMMIT. */
  private failure?: unknown;

  constructor(config?: unknown) {
    super(config as never);
    // pg-pool assigns `release` at every checkout: a client goes back to the pool with no transaction state.
    let release: ((...a: unknown[]) => unknown) | undefined;
    Object.defineProperty(this, 'release', {
      configurable: true,
      enumerable: false,
      get: () => release,
      set: (fn?: (...a: unknown[]) => unknown) => {
        release = fn
          ? (...a: unknown[]) => {
              this.beginPending = false;
              this.deferred = undefined;
              this.failure = undefined;
              return fn(...a);
            }
          : undefined;
      },
    });
  }

  get hasDeferred(): boolean {
    return this.deferred !== undefined;
  }

  /** Holds `statement` back until the transaction's next statement or its COMMIT (see the class). */
  defer(statement: DeferredStatement): void {
    if (this.deferred) throw new Error('a deferred statement is already waiting');
    this.deferred = statement;
  }

  override query(config: unknown, values?: unknown, callback?: unknown): never {
    return this.intercept(config, values, callback) as never;
  }

  private intercept(config: unknown, values?: unknown, callback?: unknown): unknown {
    const base = Client.prototype.query as unknown as QueryFn;
    const plain =
      typeof config === 'string' &&
      typeof values !== 'function' &&
      callback === undefined &&
      (values === undefined || (Array.isArray(values) && values.length === 0));
    if (plain && config === BEGIN && !this.beginPending && !this.deferred) {
      this.beginPending = true;
      return Promise.resolve(result('BEGIN'));
    }
    if (plain && (config === 'COMMIT' || config === 'ROLLBACK')) {
      const deferred = this.deferred;
      this.deferred = undefined;
      const failure = this.failure;
      this.failure = undefined;
      if (failure !== undefined && config === 'COMMIT') {
        // A statement sent ahead of a query pg had to queue failed: the transaction must not look committed.
        this.beginPending = false;
        return (base.call(this, 'ROLLBACK') as Promise<unknown>).then(() => {
          throw failure;
        });
      }
      if (config === 'ROLLBACK') {
        if (this.beginPending) {
          this.beginPending = false;
          return Promise.resolve(result('ROLLBACK'));
        }
        return base.call(this, config);
      }
      if (this.beginPending) {
        // Nothing was sent in this transaction: the deferred statement alone is its whole transaction.
        this.beginPending = false;
        if (!deferred) return Promise.resolve(result('COMMIT'));
        return this.send([deferred]).then(() => result('COMMIT'));
      }
      if (!deferred) return base.call(this, config);
      return this.send([deferred, { text: 'COMMIT', values: [] }]);
    }
    if (!this.beginPending && !this.deferred) return base.call(this, config, values, callback);
    if (typeof callback === 'function' || typeof values === 'function' || !this.supported(config)) {
      // Not a shape to pipeline (callback form, cursor…): what is waiting goes first in pg's own queue, and
      // this query is returned as pg returns it. A failure of what was waiting fails the COMMIT.
      for (const w of this.takeWaiting()) {
        const sent =
          'text' in w
            ? base.call(
                this,
                w.name ? { name: w.name, text: w.text, values: w.values } : w.text,
                w.name ? undefined : w.values,
              )
            : base.call(this, w.config, w.values);
        (sent as Promise<unknown>).catch((e: unknown) => (this.failure ??= e));
      }
      return base.call(this, config, values, callback);
    }
    return this.send([...this.takeWaiting(), { config, values }]);
  }

  private supported(config: unknown): boolean {
    if (typeof config === 'string') return true;
    if (!config || typeof config !== 'object') return false;
    const c = config as { submit?: unknown; rows?: unknown };
    return typeof c.submit !== 'function' && !c.rows;
  }

  private takeWaiting(): ({ config: unknown; values?: unknown } | DeferredStatement)[] {
    const out: ({ config: unknown; values?: unknown } | DeferredStatement)[] = [];
    if (this.beginPending) out.push({ config: BEGIN });
    if (this.deferred) out.push(this.deferred);
    this.beginPending = false;
    this.deferred = undefined;
    return out;
  }

  /**
   * Back to pg's one-query-at-a-time mode once nothing is on the wire any more: queries the caller issued
   * concurrently (they were sent at once, pipelined) must be answered first, or their answers would find no
   * active query.
   */
  private leavePipelineMode(): void {
    const self = this as unknown as {
      pipeline: boolean;
      _activeQuery: unknown;
      _sentQueryQueue: unknown[];
      _queryQueue: unknown[];
    };
    if (!self._activeQuery && self._sentQueryQueue.length === 0 && self._queryQueue.length === 0)
      self.pipeline = false;
    else this.once('drain', () => this.leavePipelineMode());
  }

  /**
   * Sends the statements in one write (pg's pipeline mode: each with its Sync, answered in order) and
   * resolves with the last one's result once all are answered, or rejects with the first error.
   */
  private async send(
    statements: ({ config: unknown; values?: unknown } | DeferredStatement)[],
  ): Promise<QueryResult> {
    const base = Client.prototype.query as unknown as (
      config: unknown,
      values?: unknown,
    ) => Promise<QueryResult>;
    if (statements.length === 0) return result('');
    const self = this as unknown as {
      pipeline: boolean;
      connection: { stream: NodeJS.WritableStream & { cork?(): void; uncork?(): void } };
    };
    const promises: Promise<QueryResult>[] = [];
    const alone = statements.length === 1;
    if (!alone) {
      self.pipeline = true;
      self.connection.stream.cork?.();
    }
    try {
      for (const s of statements) {
        if ('text' in s)
          promises.push(
            base.call(
              this,
              s.name ? { name: s.name, text: s.text, values: s.values } : s.text,
              s.name ? undefined : s.values,
            ),
          );
        else promises.push(base.call(this, s.config, s.values));
      }
    } finally {
      if (!alone) self.connection.stream.uncork?.();
    }
    const settled = await Promise.allSettled(promises);
    if (!alone) this.leavePipelineMode();
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    return (settled[settled.length - 1] as PromiseFulfilledResult<QueryResult>).value;
  }
}

/**
 * Runs `statement` in the manager's transaction, sent on the wire with the transaction's next statement or
 * its COMMIT (PipeliningClient); its result is not returned. Outside a transaction, or on another client,
 * it runs at once.
 */
export async function deferUntilCommit(
  manager: EntityManager,
  statement: DeferredStatement,
  runNow: () => Promise<unknown>,
): Promise<void> {
  const qr = manager.queryRunner;
  if (qr && !qr.isReleased && qr.isTransactionActive) {
    const client = (await qr.connect()) as unknown;
    if (client instanceof PipeliningClient && !client.hasDeferred) {
      client.defer(statement);
      return;
    }
  }
  await runNow();
}
