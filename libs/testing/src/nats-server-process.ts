import { ChildProcess, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Binds `port` (0 = any) on loopback and gives back the port the system used, or undefined when it is taken. */
function tryPort(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(undefined));
    s.listen(port, '127.0.0.1', () => {
      const addr = s.address();
      const got = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(got));
    });
  });
}

const PORT_CLAIMS = join(tmpdir(), 'lienthong-test-ports');
const CLAIM_TTL_MS = 15 * 60_000;

/**
 * Claims `port` for this process against the other test processes of the run (jest workers pick ports at
 * the same time, and a port checked free by two of them is bound by only one): a claim file created with
 * O_EXCL, honoured for a quarter of an hour. False when another process holds a fresh claim.
 */
function claimPort(port: number): boolean {
  mkdirSync(PORT_CLAIMS, { recursive: true });
  const file = join(PORT_CLAIMS, String(port));
  try {
    closeSync(openSync(file, 'wx'));
    return true;
  } catch {
    try {
      if (Date.now() - statSync(file).mtimeMs < CLAIM_TTL_MS) return false;
      rmSync(file, { force: true });
      closeSync(openSync(file, 'wx'));
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * A port that is free now, taken at random below the system's ephemeral range (32768 and up on Linux): a port
 * the system hands out as its own (port 0) is also where the many client sockets of a busy test run land, so a
 * service told to listen there a moment later may find it taken.
 */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 40; i++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (!claimPort(port)) continue;
    const got = await tryPort(port);
    if (got) return got;
  }
  const any = await tryPort(0);
  if (!any) throw new Error('no free port on 127.0.0.1');
  return any;
}

export function natsServerBinary(): string {
  for (const p of [
    process.env.NATS_SERVER_BIN,
    '/usr/sbin/nats-server',
    '/usr/local/bin/nats-server',
    '/usr/bin/nats-server',
  ]) {
    if (p && existsSync(p)) return p;
  }
  return 'nats-server';
}

export interface NatsServerOptions {
  port?: number;
  /** Extra configuration appended to the generated config file (leafnodes, jetstream domain…). */
  extraConfig?: string;
  jetstreamDomain?: string;
  serverName?: string;
  /** Store directory kept across runs (the benchmark's); default a new temporary directory. */
  dir?: string;
}

/**
 * A private nats-server process with JetStream, for tests that stop and restart NATS or need a second
 * server (federation). The store directory survives stop/start so streams persist like a real restart.
 */
export class NatsServerProcess {
  private proc?: ChildProcess;
  readonly dir: string;
  port = 0;

  constructor(private readonly opts: NatsServerOptions = {}) {
    this.dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'lt-nats-'));
    mkdirSync(this.dir, { recursive: true });
  }

  /** The server's pid while it runs (the benchmark reads its CPU time from /proc). */
  get pid(): number | undefined {
    return this.proc?.exitCode === null ? this.proc.pid : undefined;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    if (!this.port) this.port = this.opts.port ?? (await freePort());
    const conf = join(this.dir, 'nats.conf');
    writeFileSync(
      conf,
      [
        `server_name: ${this.opts.serverName ?? `test_${this.port}`}`,
        `listen: 127.0.0.1:${this.port}`,
        `jetstream { store_dir: "${join(this.dir, 'js')}"${this.opts.jetstreamDomain ? `, domain: ${this.opts.jetstreamDomain}` : ''} }`,
        this.opts.extraConfig ?? '',
      ].join('\n'),
    );
    const proc = spawn(natsServerBinary(), ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc = proc;
    await new Promise<void>((resolve, reject) => {
      let log = '';
      const timer = setTimeout(() => reject(new Error(`nats-server did not start: ${log}`)), 10_000);
      proc.stderr?.on('data', (d: Buffer) => {
        log += d.toString();
        if (log.includes('Server is ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`nats-server exited with ${code}: ${log}`));
      });
    });
    proc.stderr?.removeAllListeners('data');
    proc.stderr?.resume();
  }

  /** Stops the server: SIGTERM (graceful) by default, SIGKILL for a crash. The store survives either way. */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill(signal);
      setTimeout(() => proc.kill('SIGKILL'), 5000).unref();
    });
    this.proc = undefined;
  }

  async destroy(): Promise<void> {
    await this.stop();
    if (!this.opts.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
