// `npm start`: install if needed, build, find or start PostgreSQL and NATS, run the four services with
// prefixed logs, print their URLs. Ctrl-C stops everything.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ensureInstalled,
  build,
  providePostgres,
  provideNats,
  serviceDatabaseEnv,
  DATA_DIR,
  SERVICES,
  startService,
  waitReady,
} from './platform.mjs';
import { startConsoleServer } from './console-server.mjs';

ensureInstalled();
build();
const pg = await providePostgres('lienthong');
const nats = await provideNats();
// Migrations as the configured (owner) user, each service on a role of its own when that user may create roles.
const databaseEnv = await serviceDatabaseEnv(process.env.MIGRATION_DATABASE_URL ?? pg.url);
// The bootstrap admin's password: ADMIN_PASSWORD, else one generated on the first start and kept in
// .data/admin-password (mode 600, never committed) so `npm run seed:demo` can log in.
let adminPassword = process.env.ADMIN_PASSWORD;
const pwFile = join(DATA_DIR, 'admin-password');
// Both files below live in .data/, which a fresh clone does not have (whether or not ADMIN_PASSWORD is set).
mkdirSync(DATA_DIR, { recursive: true });
if (!adminPassword) {
  if (!existsSync(pwFile))
    writeFileSync(pwFile, `${randomBytes(12).toString('base64url')}\n`, { mode: 0o600 });
  adminPassword = readFileSync(pwFile, 'utf8').trim();
}
// Likewise the key that encrypts identity's signing keys at rest, so tokens survive a restart in development.
let kek = process.env.KEY_ENCRYPTION_KEY;
const kekFile = join(DATA_DIR, 'key-encryption-key');
if (!kek) {
  mkdirSync(DATA_DIR, { recursive: true });
  if (!existsSync(kekFile))
    writeFileSync(kekFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  kek = readFileSync(kekFile, 'utf8').trim();
}
const shared = {
  DATABASE_URL: pg.url,
  NATS_URL: nats.url,
  NODE_ID: process.env.NODE_ID ?? 'central',
  ADMIN_PASSWORD: adminPassword,
  KEY_ENCRYPTION_KEY: kek,
  // The console's proxy runs on this machine: its X-Forwarded-For names the client the token throttle counts.
  TRUSTED_PROXIES: process.env.TRUSTED_PROXIES ?? 'loopback',
  ATTACHMENTS_DIR: process.env.ATTACHMENTS_DIR ?? join(DATA_DIR, 'attachments'),
};
const started = Date.now();
const procs = SERVICES.map((svc) =>
  startService(
    svc,
    {
      ...shared,
      ...(databaseEnv[svc.name] ?? {}),
      PORT: String(svc.port),
      JWKS_URL: `http://127.0.0.1:${SERVICES[0].port}/.well-known/jwks.json`,
    },
    {
      pretty: process.env.LOG_FORMAT !== 'json',
    },
  ),
);

let stopping = false;
async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  console.log('\n» stopping…');
  await Promise.all(
    procs.map(
      (p) =>
        new Promise((resolve) => {
          if (p.exitCode !== null) return resolve();
          p.once('exit', resolve);
          p.kill('SIGTERM');
          setTimeout(() => p.kill('SIGKILL'), 15_000).unref();
        }),
    ),
  );
  await nats.stop();
  await pg.stop();
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
procs.forEach((p, i) =>
  p.on('exit', (code) => {
    if (!stopping) {
      console.error(`✖ ${SERVICES[i].name} exited with code ${code}`);
      void stop(1);
    }
  }),
);

// A first start migrates every schema; on a slow or busy machine that can take minutes (START_READY_TIMEOUT_S).
const readySeconds = Number(process.env.START_READY_TIMEOUT_S || 300);
const ready = await Promise.all(
  SERVICES.map((s) => waitReady(`http://127.0.0.1:${s.port}/health/ready`, readySeconds * 1000)),
);
// The one origin (API.md): the web console plus the public API routed by path to the four services.
const consoleOrigin = ready.every(Boolean)
  ? await startConsoleServer({
      port: Number(process.env.CONSOLE_PORT ?? 3000),
      host: process.env.CONSOLE_HOST ?? '127.0.0.1',
      upstreams: Object.fromEntries(SERVICES.map((s) => [s.name, `http://127.0.0.1:${s.port}`])),
    }).catch((e) => {
      console.error(`✖ the console could not listen on :${process.env.CONSOLE_PORT ?? 3000}: ${e.message}`);
      return undefined;
    })
  : undefined;
if (ready.every(Boolean)) {
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (consoleOrigin)
    console.log(`\n➜ Console: ${consoleOrigin.url}   (log in with a user below or from npm run seed:demo)`);
  console.log(
    `\n✔ Liên thông is up in ${secs}s (PostgreSQL: ${pg.source ?? 'DATABASE_URL'}, NATS: ${nats.source ?? 'NATS_URL'})`,
  );
  for (const s of SERVICES) {
    console.log(`  ${s.name.padEnd(16)} http://127.0.0.1:${s.port}   docs: http://127.0.0.1:${s.port}/docs`);
  }
  console.log(
    // Never the password itself: terminals and CI logs are kept.
    `  Bootstrap admin: user "admin", password ${process.env.ADMIN_PASSWORD ? 'from ADMIN_PASSWORD' : 'in .data/admin-password'}`,
  );
  console.log('  Try demo data: npm run seed:demo      Stop: Ctrl-C\n');
} else {
  console.error(`✖ some services did not become ready within ${readySeconds} s`);
  await stop(1);
}
