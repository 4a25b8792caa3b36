import { AsyncResource } from 'node:async_hooks';

/** Runs a function in the async context (correlation id, trace, logger) of the request that submitted an item. */
export type InContext = <R>(fn: () => R) => R;

/**
 * Group commit: concurrent requests that would each take the same lock and commit on their own (the outgoing
 * register counter of an office, taken by every registration) are gathered and applied in one transaction,
 * one batch at a time. A lone request waits for nobody; under load a batch holds every request that arrived
 * while the previous one committed. If a batch fails, its requests are applied one by one, so a bad request
 * fails alone. A batch runs in the async context of the request that started it: `apply` gets, per item, a
 * function that runs code in that item's own request context (so its events and audit records carry its own
 * correlation id and trace).
 */
export class GroupCommit<I, O> {
  private readonly queue: {
    item: I;
    ctx: InContext;
    resolve: (o: O) => void;
    reject: (e: unknown) => void;
  }[] = [];
  private running = false;

  constructor(
    private readonly apply: (items: I[], contexts: InContext[]) => Promise<O[]>,
    private readonly maxBatch = 128,
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      // (AsyncLocalStorage.snapshot() does the same through AsyncResource.bind, measurably slower per call.)
      const scope = new AsyncResource('GroupCommit');
      this.queue.push({ item, ctx: (fn) => scope.runInAsyncScope(fn), resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length) {
        const batch = this.queue.splice(0, this.maxBatch);
        try {
          const out = await this.apply(
            batch.map((b) => b.item),
            batch.map((b) => b.ctx),
          );
          batch.forEach((b, i) => b.resolve(out[i]));
        } catch (e) {
          if (batch.length === 1) {
            batch[0].reject(e);
            continue;
          }
          for (const b of batch) {
            try {
              b.resolve((await this.apply([b.item], [b.ctx]))[0]);
            } catch (err) {
              b.reject(err);
            }
          }
        }
      }
    } finally {
      this.running = false;
    }
  }
}
