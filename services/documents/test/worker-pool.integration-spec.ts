import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TimeLimitExceeded, WORKER_READY, WorkerPool } from '../src/signatures/worker-pool';

/**
 * The pool that runs signature verification: a job that never ends is cut at the time limit without
 * blocking the caller's event loop, a worker that dies fails only its own job, and the jobs queued
 * behind either are served by a fresh worker. Real worker threads running a small script.
 */
describe('worker pool with a time limit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lt-pool-'));
  const script = join(dir, 'worker.js');
  writeFileSync(
    script,
    `const { parentPort } = require('node:worker_threads');
     parentPort.on('message', (m) => {
       if (m === 'spin') for (;;) {}
       if (m === 'die') process.exit(3);
       parentPort.postMessage('echo:' + m);
     });
     parentPort.postMessage(${JSON.stringify(WORKER_READY)});`,
  );
  let pool: WorkerPool<string, string>;
  beforeEach(() => {
    pool = new WorkerPool<string, string>({ script, workerData: null, size: 1, timeLimitMs: 500 });
  });
  afterEach(() => pool.close());
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('cuts a job that never ends, keeps the event loop free meanwhile, then serves the next job', async () => {
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 1);
    const spinning = pool.run('spin').then(
      () => 'resolved',
      (e: unknown) => e,
    );
    const next = pool.run('after');
    const outcome = await spinning;
    clearInterval(ticker);
    expect(outcome).toBeInstanceOf(TimeLimitExceeded);
    expect(ticks).toBeGreaterThan(0);
    await expect(next).resolves.toBe('echo:after');
  });

  it('fails only the job whose worker died', async () => {
    const died = pool.run('die');
    const next = pool.run('next');
    await expect(died).rejects.toThrow(/exited with code 3/);
    await expect(next).resolves.toBe('echo:next');
  });

  it('fails the waiting job when a worker cannot start, instead of starting workers forever', async () => {
    const broken = join(dir, 'broken.js');
    writeFileSync(broken, `throw new Error('cannot load');`);
    const bad = new WorkerPool<string, string>({
      script: broken,
      workerData: null,
      size: 1,
      timeLimitMs: 500,
    });
    try {
      await expect(bad.run('x')).rejects.toThrow(/cannot load|exited/);
    } finally {
      await bad.close();
    }
  });
});
