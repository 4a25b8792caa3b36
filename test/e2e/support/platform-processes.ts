import {
  dropRole,
  dropSchema,
  freePort,
  mayCreateRoles,
  testDatabaseUrl,
  testNatsUrl,
  urlAsRole,
} from '@lienthong/testing';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');
// Generous on purpose: under CI load (two e2e files at once, each with four services) a cold start with key
// generation and migrations can take well over a minute; the tests assert behaviour, not start-up speed.
const READY_TIMEOUT_MS = 150_000;
export const SERVICES = ['identity', 'documents', 'integration-bus', 'audit'] as const;
export type Service = (typeof SERVICES)[number];

export async function waitReady(url: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (r.status === 200) return true;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

/**
 * One node of the platform as real processes (built `dist/`), on the shared test PostgreSQL and NATS, with
 * its own schemas, ports and NATS namespace.
 */
export class PlatformProcesses {
  readonly ports = {} as Record<Service, number>;
  grpcPort = 0;
  readonly logs = {} as Record<Service, string>;
  readonly adminPassword = `E2e-${randomBytes(12).toString('hex')}`;
  private readonly procs = new Map<Service, ChildProcess>();
  private readonly schemas: string[] = [];
  /** Runtime database role per service (migrations run as the test database's user), when it may create roles. */
  private readonly roles = new Map<Service, string>();
  private readonly schemaOf = new Map<Service, string>();
  private dbUrl = '';
  private env: Record<string, string> = {};

  /**
   * `infra` points the node at other PostgreSQL/NATS servers than the shared test ones (the fault suite
   * starts its own, to restart them).
   */
  constructor(
    private readonly extraEnv: Partial<Record<Service | 'all', Record<string, string>>> = {},
    private readonly infra: { databaseUrl?: string; natsUrl?: string } = {},
  ) {}

  url(service: Service): string {
    return `http://127.0.0.1:${this.ports[service]}`;
  }

  /** The environment a service of this node runs with (to start another instance beside it). */
  envOf(s: Service): Record<string, string> {
    return {
      ...this.env,
      DB_SCHEMA: this.schemas[SERVICES.indexOf(s)],
      PORT: String(this.ports[s]),
      GRPC_PORT: String(this.grpcPort),
      ...(this.extraEnv[s] ?? {}),
    };
  }

  async start(): Promise<void> {
    this.dbUrl = this.infra.databaseUrl ?? (await testDatabaseUrl());
    const natsUrl = this.infra.natsUrl ?? (await testNatsUrl());
    const tag = randomBytes(3).toString('hex');
    for (const s of SERVICES) this.ports[s] = await freePort();
    this.grpcPort = await freePort();
    this.env = {
      DATABASE_URL: this.dbUrl,
      NATS_URL: natsUrl,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      JWKS_URL: `${this.url('identity')}/.well-known/jwks.json`,
      ADMIN_PASSWORD: this.adminPassword,
      OUTBOX_POLL_MS: '200',
      ...(this.extraEnv.all ?? {}),
    };
    const withRoles = await mayCreateRoles(this.dbUrl);
    for (const s of SERVICES) {
      const schema = `e2e_${tag}_${s.replace('-', '_')}`;
      this.schemas.push(schema);
      if (withRoles) this.roles.set(s, `${schema}_rt`);
      this.schemaOf.set(s, schema);
      this.spawn(s, schema);
    }
    const ready = await Promise.all(
      SERVICES.map((s) => waitReady(`${this.url(s)}/health/ready`, READY_TIMEOUT_MS)),
    );
    SERVICES.forEach((s, i) => {
      if (!ready[i]) throw new Error(`${s} not ready; log:\n${this.logs[s].slice(-3000)}`);
      // Ready on its port, but not ours (it could not listen there and something else answers)?
      if (this.procs.get(s)?.exitCode !== null)
        throw new Error(
          `${s} exited; something else answers on its port; log:\n${this.logs[s].slice(-3000)}`,
        );
    });
  }

  private spawn(s: Service, schema: string): void {
    // A restarted service keeps the earlier process's log above a marker.
    this.logs[s] = this.logs[s] ? `${this.logs[s]}\n--- restarted ---\n` : '';
    const p = spawn(process.execPath, [join(ROOT, 'services', s, 'dist', 'main.js')], {
      env: {
        ...process.env,
        ...this.env,
        DB_SCHEMA: schema,
        ...this.databaseEnv(s),
        PORT: String(this.ports[s]),
        GRPC_PORT: String(this.grpcPort),
        ...(this.extraEnv[s] ?? {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    p.stdout?.on('data', (d) => (this.logs[s] += d.toString()));
    p.stderr?.on('data', (d) => (this.logs[s] += d.toString()));
    this.procs.set(s, p);
  }

  /** As in production: the owner migrates, the service runs on a role of its own (created at its boot). */
  private databaseEnv(s: Service): Record<string, string> {
    const role = this.roles.get(s);
    if (!role) return {};
    return {
      MIGRATION_DATABASE_URL: this.dbUrl,
      DATABASE_URL: urlAsRole(this.dbUrl, role, `pw-${this.adminPassword}`),
    };
  }

  /** The runtime database role and schema of each service (empty when the test user may not create roles). */
  async runtimeRoles(): Promise<Partial<Record<Service, { role: string; schema: string }>>> {
    const out: Partial<Record<Service, { role: string; schema: string }>> = {};
    SERVICES.forEach((s, i) => {
      const role = this.roles.get(s);
      if (role) out[s] = { role, schema: this.schemas[i] };
    });
    return out;
  }

  /** Runs statements as a service's runtime role: 'allowed' or the SQLSTATE of each refusal. */
  async asRole(s: Service, statements: string[]): Promise<string[]> {
    const c = new Client({ connectionString: this.databaseEnv(s).DATABASE_URL });
    await c.connect();
    try {
      const out: string[] = [];
      for (const sql of statements) {
        out.push(
          await c.query(sql).then(
            () => 'allowed',
            (e: { code?: string }) => e.code ?? 'error',
          ),
        );
      }
      return out;
    } finally {
      await c.end();
    }
  }

  /** The schema a service owns (for checks that read its tables, e.g. the outbox). */
  schema(s: Service): string {
    return this.schemaOf.get(s)!;
  }

  /** Whether the service's process is still running. */
  running(s: Service): boolean {
    return this.procs.get(s)?.exitCode === null && this.procs.get(s)?.signalCode === null;
  }

  /** Kills the service's process with `signal` (SIGKILL: no shutdown hooks, like a crash) and waits for its exit. */
  async kill(s: Service, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.procs.get(s);
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill(signal);
    });
  }

  /** Starts the service again on the same port and schema and waits until it is ready. */
  async restart(s: Service, timeoutMs = 90_000): Promise<void> {
    await this.kill(s, 'SIGTERM');
    this.spawn(s, this.schemaOf.get(s)!);
    if (!(await waitReady(`${this.url(s)}/health/ready`, timeoutMs)))
      throw new Error(`${s} not ready after a restart; log:\n${this.logs[s].slice(-3000)}`);
  }

  async stopService(s: Service): Promise<void> {
    const p = this.procs.get(s);
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
      setTimeout(() => p.kill('SIGKILL'), 10_000).unref();
    });
  }

  async stop(): Promise<void> {
    await Promise.all(SERVICES.map((s) => this.stopService(s)));
    for (const schema of this.schemas) await dropSchema(this.dbUrl, schema);
    for (const role of this.roles.values()) await dropRole(this.dbUrl, role);
  }
}
