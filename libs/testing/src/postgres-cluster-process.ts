import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './nats-server-process';

/** The directory holding initdb/pg_ctl/postgres: PG_BIN, else the newest /usr/lib/postgresql/<v>/bin. */
export function postgresBinDir(): string | undefined {
  if (process.env.PG_BIN && existsSync(join(process.env.PG_BIN, 'initdb'))) return process.env.PG_BIN;
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(base, versions[0], 'bin') : undefined;
}

export interface PostgresClusterOptions {
  /** Data directory; kept across stop/start. Default: a new temporary directory. */
  dir?: string;
  port?: number;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string>;
}

/**
 * A private PostgreSQL cluster (initdb + postgres), for tests that restart the database and for the
 * benchmark, so neither touches the shared server. Runs as the `postgres` OS user when started by root
 * (PostgreSQL refuses to run as root); the postmaster is our direct child, so signals reach it. Trust authentication on 127.0.0.1 only.
 */
export class PostgresClusterProcess {
  readonly dir: string;
  port = 0;
  private proc?: ChildProcess;
  private readonly bin: string;
  private readonly asUser?: { uid: number; gid: number };

  constructor(private readonly opts: PostgresClusterOptions = {}) {
    const bin = postgresBinDir();
    if (!bin) throw new Error('no PostgreSQL binaries (initdb) found: set PG_BIN');
    this.bin = bin;
    if (userInfo().uid === 0) {
      const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
      const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
      if (r.status !== 0)
        throw new Error('running as root and there is no `postgres` user to run PostgreSQL');
      this.asUser = { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
    }
    this.dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'lt-pg-'));
    if (this.asUser) chownSync(this.dir, this.asUser.uid, this.asUser.gid);
  }

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  /** URL of a database on this cluster (user postgres, trust). */
  url(database = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /** spawn options running a PostgreSQL binary as the `postgres` user when we are root. */
  private get identity(): { uid?: number; gid?: number } {
    return this.asUser ? { uid: this.asUser.uid, gid: this.asUser.gid } : {};
  }

  async start(): Promise<void> {
    if (!this.port) this.port = this.opts.port ?? (await freePort());
    if (!existsSync(join(this.dataDir, 'PG_VERSION'))) {
      mkdirSync(this.dataDir, { recursive: true });
      if (this.asUser) chownSync(this.dataDir, this.asUser.uid, this.asUser.gid);
      const r = spawnSync(
        join(this.bin, 'initdb'),
        ['-D', this.dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'],
        { encoding: 'utf8', cwd: this.dir, ...this.identity },
      );
      if (r.status !== 0) throw new Error(`initdb failed: ${r.stderr || r.stdout}`);
    }
    const settings = {
      listen_addresses: '127.0.0.1',
      port: String(this.port),
      unix_socket_directories: '',
      max_connections: '200',
      ...(this.opts.settings ?? {}),
    };
    const proc = spawn(
      join(this.bin, 'postgres'),
      ['-D', this.dataDir, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])],
      { stdio: ['ignore', 'ignore', 'pipe'], cwd: this.dir, ...this.identity },
    );
    this.proc = proc;
    await new Promise<void>((resolve, reject) => {
      let log = '';
      const timer = setTimeout(() => reject(new Error(`postgres did not start: ${log}`)), 30_000);
      proc.stderr?.on('data', (d: Buffer) => {
        log += d.toString();
        if (log.includes('ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`postgres exited with ${code}: ${log}`));
      });
    });
    proc.stderr?.removeAllListeners('data');
    proc.stderr?.resume();
  }

  /** The postmaster's pid (its children are the backends and background workers). */
  get pid(): number | undefined {
    return this.proc?.exitCode === null ? this.proc.pid : undefined;
  }

  /**
   * Stops the server: `fast` (SIGINT: disconnect clients, checkpoint) or `immediate` (SIGQUIT: no
   * checkpoint, crash recovery at the next start — what a power cut looks like to the data directory).
   */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill(mode === 'fast' ? 'SIGINT' : 'SIGQUIT');
      setTimeout(() => proc.kill('SIGKILL'), 30_000).unref();
    });
    this.proc = undefined;
  }

  async destroy(): Promise<void> {
    await this.stop('immediate');
    if (!this.opts.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}
