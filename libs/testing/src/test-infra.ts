import { randomBytes } from 'node:crypto';
import { createConnection } from 'node:net';
import { Client } from 'pg';

const LOCAL_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test';
const LOCAL_NATS_URL = 'nats://127.0.0.1:4222';

function reachable(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host, port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

let dbUrl: Promise<string> | undefined;
let natsUrl: Promise<string> | undefined;

/**
 * Real PostgreSQL for tests: TEST_DATABASE_URL, else the local server when reachable, else a
 * testcontainers container (needs a Docker engine).
 */
export function testDatabaseUrl(): Promise<string> {
  dbUrl ??= (async () => {
    if (process.env.TEST_DATABASE_URL) return process.env.TEST_DATABASE_URL;
    if (await reachable('127.0.0.1', 5432)) return LOCAL_DATABASE_URL;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { PostgreSqlContainer } = require('@testcontainers/postgresql');
    const container = await new PostgreSqlContainer('postgres:16-alpine').start();
    return container.getConnectionUri() as string;
  })();
  return dbUrl;
}

/** Real NATS with JetStream: TEST_NATS_URL, else local, else a testcontainers container. */
export function testNatsUrl(): Promise<string> {
  natsUrl ??= (async () => {
    if (process.env.TEST_NATS_URL) return process.env.TEST_NATS_URL;
    if (await reachable('127.0.0.1', 4222)) return LOCAL_NATS_URL;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { GenericContainer, Wait } = require('testcontainers');
    const container = await new GenericContainer('nats:2.10-alpine')
      .withCommand(['-js'])
      .withExposedPorts(4222)
      .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
      .start();
    return `nats://${container.getHost()}:${container.getMappedPort(4222)}`;
  })();
  return natsUrl;
}

/** A schema name no other test file uses. */
export function uniqueSchema(prefix: string): string {
  return `${prefix.replace(/[^a-z0-9_]/g, '_')}_${randomBytes(4).toString('hex')}`;
}

export async function withPg<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export async function dropSchema(url: string, schema: string): Promise<void> {
  await withPg(url, (c) => c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
}

/** Polls until `fn` returns a truthy value or the time runs out (then throws with the last value). */
export async function eventually<T>(
  fn: () => Promise<T> | T,
  timeoutMs = 10_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      lastError = e;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(
    `condition not met in ${timeoutMs} ms; last value ${JSON.stringify(last)} ${lastError ? String(lastError) : ''}`,
  );
}
