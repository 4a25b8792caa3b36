import { extname, join } from 'node:path';
import { Worker, type ResourceLimits } from 'node:worker_threads';

export class TimeLimitExceeded extends Error {
  constructor(readonly limitMs: number) {
    super(`exceeded the time limit of ${limitMs} ms`);
  }
}

export interface WorkerPoolOptions {
  /** Path of the worker's module (`.js`, or `.ts` when running from sources under jest). */
  script: string;
  workerData: unknown;
  size: number;
  /** Wall-clock limit of one job from the moment a worker takes it. */
  timeLimitMs: number;
  /** An idle worker is stopped after this long, so an idle service holds no extra heap. */
  idleMs?: number;
  resourceLimits?: ResourceLimits;
}

interface Job {
  input: unknown;
  transfer: ArrayBuffer[];
  resolve(value: unknown): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  /** The worker has loaded its modules and said so; jobs (and their clocks) start only then. */
  ready: boolean;
  job?: Job;
  timer?: NodeJS.Timeout;
}

/** The first message a worker posts once it is initialised; every later message is a job's result. */
export const WORKER_READY = '__worker_ready__';
/** A worker that has not said it is ready after this long is treated as dead. */
const STARTUP_LIMIT_MS = 60_000;

/**
 * A small pool of worker threads, one job per worker at a time, jobs queued in arrival order. A job that
 * runs past the time limit is rejected with TimeLimitExceeded and its thread is terminated (a synchronous
 * loop cannot be interrupted otherwise); a thread that dies rejects its job. Either way the next job gets a
 * fresh thread, so one bad input never blocks the event loop nor the jobs behind it for longer than the limit.
 */
export class WorkerPool<I, O> {
  private readonly slots = new Set<Slot>();
  private readonly queue: Job[] = [];
  private closed = false;

  constructor(private readonly options: WorkerPoolOptions) {}

  run(input: I, transfer: ArrayBuffer[] = []): Promise<O> {
    if (this.closed) return Promise.reject(new Error('worker pool closed'));
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ input, transfer, resolve: resolve as (v: unknown) => void, reject });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error('worker pool closed'));
    await Promise.all([...this.slots].map((s) => this.retire(s)));
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const idle = [...this.slots].find((s) => s.ready && !s.job);
      if (idle) {
        this.dispatch(idle, this.queue.shift()!);
        continue;
      }
      // Start another worker only for jobs that no starting worker will take.
      const starting = [...this.slots].filter((s) => !s.ready).length;
      if (starting >= this.queue.length || this.slots.size >= this.options.size) return;
      this.spawn();
    }
  }

  private spawn(): Slot {
    const { script } = this.options;
    const fromSources = extname(script) === '.ts';
    const worker = new Worker(fromSources ? TS_BOOTSTRAP : script, {
      eval: fromSources,
      workerData: this.options.workerData,
      argv: fromSources ? [script] : [],
      resourceLimits: this.options.resourceLimits,
    });
    const slot: Slot = { worker, ready: false };
    slot.timer = setTimeout(() => {
      // Its startup is what fails: the oldest waiting job gets the error rather than waiting forever.
      void worker.terminate();
      this.slots.delete(slot);
      this.queue.shift()?.reject(new Error('verification worker did not start'));
      this.pump();
    }, STARTUP_LIMIT_MS);
    worker.on('message', (result: unknown) => {
      if (!slot.ready && result === WORKER_READY) {
        slot.ready = true;
        clearTimeout(slot.timer);
        this.pump();
        this.idle(slot);
        return;
      }
      this.settle(slot, (job) => job.resolve(result));
    });
    worker.on('error', (e) => this.fail(slot, e));
    worker.on('exit', (code) => this.fail(slot, new Error(`verification worker exited with code ${code}`)));
    this.slots.add(slot);
    return slot;
  }

  private dispatch(slot: Slot, job: Job): void {
    clearTimeout(slot.timer);
    slot.job = job;
    slot.worker.ref();
    slot.timer = setTimeout(() => {
      this.slots.delete(slot);
      slot.job = undefined;
      void slot.worker.terminate();
      job.reject(new TimeLimitExceeded(this.options.timeLimitMs));
      this.pump();
    }, this.options.timeLimitMs);
    slot.worker.postMessage(job.input, job.transfer);
  }

  private settle(slot: Slot, finish: (job: Job) => void): void {
    const job = slot.job;
    if (!job) return;
    clearTimeout(slot.timer);
    slot.job = undefined;
    finish(job);
    this.pump();
    this.idle(slot);
  }

  /** A worker with nothing to do: let the process exit without it, and stop it after a while. */
  private idle(slot: Slot): void {
    if (slot.job || !this.slots.has(slot)) return;
    slot.worker.unref();
    slot.timer = setTimeout(() => void this.retire(slot), this.options.idleMs ?? 30_000);
    slot.timer.unref();
  }

  private fail(slot: Slot, error: Error): void {
    if (!this.slots.delete(slot)) return;
    clearTimeout(slot.timer);
    // A worker that dies while starting fails the oldest waiting job, so a worker that cannot start at
    // all does not respawn forever.
    const job = slot.ready ? slot.job : this.queue.shift();
    slot.job = undefined;
    job?.reject(error);
    this.pump();
  }

  private async retire(slot: Slot): Promise<void> {
    this.slots.delete(slot);
    clearTimeout(slot.timer);
    await slot.worker.terminate();
  }
}

/**
 * Under jest the services run from TypeScript sources; a worker thread is plain Node, so it compiles the
 * worker's .ts modules with TypeScript's transpiler (type information is not needed for that). The built
 * service (dist/) loads the compiled .js worker directly and never takes this path.
 */
const TS_BOOTSTRAP = `
const { readFileSync } = require('node:fs');
const ts = require('typescript');
require.extensions['.ts'] = (module, filename) => {
  const out = ts.transpileModule(readFileSync(filename, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    fileName: filename,
  });
  module._compile(out.outputText, filename);
};
require(process.argv[process.argv.length - 1]);
`;

/** The worker module next to this file, in whichever form (.ts or .js) this file itself runs. */
export function siblingScript(dir: string, name: string, self: string): string {
  return join(dir, `${name}${extname(self)}`);
}
