import { AsyncLocalStorage } from 'node:async_hooks';
import { GroupCommit } from './group-commit';

describe('GroupCommit', () => {
  it('gathers requests that arrive while a batch commits into the next batch', async () => {
    const batches: number[][] = [];
    const gc = new GroupCommit<number, number>(async (items) => {
      batches.push(items);
      await new Promise((r) => setTimeout(r, 5));
      return items.map((i) => i * 10);
    });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => gc.submit(i)));
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i * 10));
    // The first request runs alone; the 19 that queued meanwhile share the second batch.
    expect(batches).toEqual([[0], Array.from({ length: 19 }, (_, i) => i + 1)]);
  });

  it('applies a failed batch one by one, so only the bad request fails', async () => {
    const gc = new GroupCommit<number, number>(async (items) => {
      if (items.includes(3)) throw new Error(`bad ${items.length}`);
      return items;
    });
    const outcomes = await Promise.allSettled([0, 1, 2, 3, 4].map((i) => gc.submit(i)));
    expect(outcomes.map((o) => o.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    expect((outcomes[3] as PromiseRejectedResult).reason.message).toBe('bad 1');
  });

  it('caps a batch at its maximum size', async () => {
    const sizes: number[] = [];
    const gc = new GroupCommit<number, number>(async (items) => {
      sizes.push(items.length);
      return items;
    }, 4);
    await Promise.all(Array.from({ length: 10 }, (_, i) => gc.submit(i)));
    expect(Math.max(...sizes)).toBe(4);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(10);
  });
});

describe('GroupCommit contexts', () => {
  it("runs each item's code in the async context of the request that submitted it", async () => {
    const als = new AsyncLocalStorage<string>();
    const gc = new GroupCommit<number, string | undefined>(async (items, contexts) => {
      await new Promise((r) => setTimeout(r, 5));
      return items.map((_, i) => contexts[i](() => als.getStore()));
    });
    const seen = await Promise.all(
      Array.from({ length: 6 }, (_, i) => als.run(`request-${i}`, () => gc.submit(i))),
    );
    expect(seen).toEqual(Array.from({ length: 6 }, (_, i) => `request-${i}`));
  });
});
