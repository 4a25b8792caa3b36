// Audit append: PostgreSQL cost per appended event (backend CPU, statement time, WAL bytes) and the audit
// process's own CPU, on a private PostgreSQL cluster (.data/auditpg/pg, pg_stat_statements + pg_walinspect)
// so other work on the machine does not show in the WAL. Events are built by the platform's AuditRecorder
// (its ids as in production) and appended through the service's LogRepository.append, one batch at a time.
// The tree is first filled to --prefill leaves, then a CHECKPOINT, then --events are measured (so the WAL
// includes the full-page images of the first touch of each page after a checkpoint, as in production).
// Then the REST filters' and the archive's read latencies (median of 15).
// Usage: node bench/audit-pg.mjs [--prefill 200000] [--events 20000] [--batch 100] [--vacuum] [--explain]
//        [--sql "statements run in the schema before filling"]
// For a before/after, run the same command in a copy of main built the same way.
// Build first: npx tsc -b tsconfig.build.json
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { arg } from './lib.mjs';

process.env.LT_NAMESPACE = `benchpg${randomBytes(3).toString('hex')}`;
const require = createRequire(import.meta.url);
const PREFILL = arg('prefill', 200_000);
const EVENTS = arg('events', 20_000);
const BATCH = arg('batch', 100);

require('reflect-metadata');
const { TestTokens, testServiceEnv, PostgresClusterProcess } = require('../libs/testing/dist/index.js');
const { AuditRecorder } = require('../libs/common/dist/index.js');
const { createAuditApp } = require('../services/audit/dist/audit.app.js');
const { LogRepository } = require('../services/audit/dist/log/log.repository.js');
const { EventsService } = require('../services/audit/dist/events/events.service.js');
const pg = require('pg');

const dir = join(process.cwd(), '.data', 'auditpg');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const cluster = new PostgresClusterProcess({
  dir,
  settings: {
    shared_preload_libraries: 'pg_stat_statements',
    'pg_stat_statements.track': 'all',
    max_wal_size: '10GB',
    checkpoint_timeout: '1h',
  },
});
await cluster.start();
const admin = new pg.Client({ connectionString: cluster.url('postgres') });
await admin.connect();
await admin.query('CREATE DATABASE auditpg');
await admin.end();
const db = new pg.Client({ connectionString: cluster.url('auditpg') });
await db.connect();
await db.query('CREATE EXTENSION pg_stat_statements; CREATE EXTENSION pg_walinspect');

const tokens = await TestTokens.start();
const env = await testServiceEnv('auditpg', {
  DATABASE_URL: cluster.url('auditpg'),
  JWKS_URL: tokens.jwksUrl,
  LOG_LEVEL: 'silent',
  DB_POOL_SIZE: '4',
  AUDIT_INTAKE_ENABLED: 'false',
  AUDIT_CHECKPOINT_EVERY: '10000000',
});
const app = await createAuditApp(env);
const repo = app.get(LogRepository);
// --sql "…": run as superuser in the service's schema before filling (experiments: drop an index, …).
const SQL = process.argv.includes('--sql') ? process.argv[process.argv.indexOf('--sql') + 1] : '';
if (SQL) await db.query(`SET search_path = ${env.DB_SCHEMA}; ${SQL}; RESET search_path`);
const recorder = new AuditRecorder(null, { service: 'documents' });
const ACTIONS = ['document.sent', 'document.received', 'document.read', 'delivery.acknowledged'];
let n = 0;
let doc = randomUUID();
// Resources: documents with random (v4) ids, three events each, as the platform's documents get.
const event = () => {
  const i = n++;
  if (i % 3 === 0) doc = randomUUID();
  return recorder.build({
    action: ACTIONS[i % ACTIONS.length],
    actor: {
      sub: `user-${i % 1000}`,
      organizationCode: `000.${String(i % 50).padStart(2, '0')}.00.H01`,
      type: 'user',
    },
    resource: { type: 'document', id: doc },
    details: {
      recipient: `000.${String(i % 700).padStart(3, '0')}.00.H02`,
      deliveryId: `d-${i}`,
      attempt: 1,
    },
  });
};

for (let done = 0; done < PREFILL; done += 5000) await repo.append(Array.from({ length: 5000 }, event));

const cpuOf = (pid) => {
  if (!existsSync(`/proc/${pid}/stat`)) return 0; // a pool connection closed meanwhile (idle timeout)
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 10; // ms at 100 Hz
};
const backends = async () =>
  (
    await db.query(
      `SELECT pid FROM pg_stat_activity WHERE datname = 'auditpg' AND backend_type = 'client backend' AND pid <> pg_backend_pid()`,
    )
  ).rows.map((r) => r.pid);
// Warm the pool's connections (their plans) outside the window.
for (let i = 0; i < 10; i++) await repo.append(Array.from({ length: BATCH }, event));
await db.query('CHECKPOINT');
await db.query('SELECT pg_stat_statements_reset()');
const pids = await backends();
const pgCpu0 = pids.map(cpuOf);
const lsn0 = (await db.query('SELECT pg_current_wal_lsn() AS l')).rows[0].l;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (let done = 0; done < EVENTS; done += BATCH) await repo.append(Array.from({ length: BATCH }, event));
const wall = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const lsn1 = (await db.query('SELECT pg_current_wal_lsn() AS l')).rows[0].l;
const pgCpu = pids.map(cpuOf).reduce((a, c, i) => a + c - pgCpu0[i], 0);
const wal = Number((await db.query(`SELECT $2::pg_lsn - $1::pg_lsn AS d`, [lsn0, lsn1])).rows[0].d);
const stmts = (
  await db.query(
    `SELECT calls, total_exec_time, wal_bytes, wal_fpi, left(regexp_replace(query, '\\s+', ' ', 'g'), 70) AS q
       FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'auditpg')
      ORDER BY total_exec_time DESC LIMIT 6`,
  )
).rows;
const byType = (
  await db.query(
    `SELECT "resource_manager/record_type" AS t, count, record_size, fpi_size FROM pg_get_wal_stats($1, $2, true)
      WHERE count > 0 ORDER BY record_size + fpi_size DESC LIMIT 8`,
    [lsn0, lsn1],
  )
).rows;
const sizes = (
  await db.query(
    `SELECT c.relname, pg_relation_size(c.oid) AS bytes FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
      WHERE s.nspname = $1 AND c.relkind IN ('r', 'i') ORDER BY 2 DESC`,
    [env.DB_SCHEMA],
  )
).rows;

const per = (x) => (x / EVENTS).toFixed(3);
console.log(
  `audit append, ${EVENTS} events in batches of ${BATCH} onto ${PREFILL} leaves, load ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
console.log(`  wall ${(wall / 1000).toFixed(2)} s = ${Math.round(EVENTS / (wall / 1000))} events/s`);
console.log(`  PostgreSQL backend CPU ${per(pgCpu)} ms/event (${pids.length} backends, 10 ms ticks)`);
console.log(
  `  statement time ${per(stmts.reduce((a, s) => a + s.total_exec_time, 0))} ms/event; WAL ${Math.round(wal / EVENTS)} B/event`,
);
console.log(`  audit process CPU ${per((cpu.user + cpu.system) / 1000)} ms/event`);
for (const s of stmts)
  console.log(
    `    ${String(s.calls).padStart(6)} calls ${(s.total_exec_time / EVENTS).toFixed(3)} ms/ev wal ${Math.round(Number(s.wal_bytes) / EVENTS)} B/ev fpi ${s.wal_fpi}  ${s.q}`,
  );
for (const r of byType)
  console.log(
    `    WAL ${r.t.padEnd(28)} ${String(r.count).padStart(7)} records ${Math.round(Number(r.record_size) / EVENTS)} B/ev + FPI ${Math.round(Number(r.fpi_size) / EVENTS)} B/ev`,
  );
console.log(
  `  sizes: ${sizes.map((s) => `${s.relname} ${(Number(s.bytes) / 2 ** 20).toFixed(1)} MB`).join(', ')}`,
);

// --vacuum: VACUUM ANALYZE before the reads (what autovacuum does on its own sooner or later).
if (process.argv.includes('--vacuum')) await db.query(`VACUUM ANALYZE ${env.DB_SCHEMA}.leaves`);
// Reads: the REST filters (first page of 50 and a page deep in the log) and the archive's look-up by
// resources, median of 15 runs each.
{
  const ev = app.get(EventsService);
  const some = (await db.query(`SELECT event FROM ${env.DB_SCHEMA}.leaves WHERE leaf_index = 777`)).rows[0]
    .event;
  const mid = Math.floor(n / 2);
  const t0 = new Date(Date.now() - 2000).toISOString();
  const cases = {
    action: { action: 'document.read' },
    actor: { actor: some.actor.sub },
    organization: { organizationCode: some.actor.organizationCode },
    resource: { resourceId: some.resource.id },
    scope: { scope: [some.actor.organizationCode, '000.01.00.H01'] },
    'from/to (last 2 s)': { from: t0 },
    'from/to (none)': { from: '2020-01-01T00:00:00Z', to: '2020-01-02T00:00:00Z' },
  };
  const med = async (f) => {
    const ts = [];
    for (let i = 0; i < 15; i++) {
      const t = performance.now();
      await f();
      ts.push(performance.now() - t);
    }
    return ts.sort((a, b) => a - b)[7].toFixed(2);
  };
  const out = [];
  for (const [name, f] of Object.entries(cases))
    out.push(
      `${name} ${await med(() => ev.query({ scope: null, ...f }, undefined, 50))}/${await med(() => ev.query({ scope: null, ...f }, String(mid), 50))}`,
    );
  out.push(
    `eventsOfResources ${await med(() => repo.eventsOfResources([some.resource.id], -1, n + 1, 1000))}`,
  );
  console.log(`  reads (ms, first page / from the middle): ${out.join(', ')}`);
  if (process.argv.includes('--explain')) {
    const ds = app.get(require('typeorm').DataSource);
    const orig = ds.query.bind(ds);
    ds.query = async (sql, params) => {
      const r = await orig(`EXPLAIN (ANALYZE, COSTS OFF) ${sql}`, params);
      console.log(r.map((x) => x['QUERY PLAN']).join('\n'));
      return orig(sql, params);
    };
    for (const [name, f] of Object.entries(cases)) {
      console.log(`--- ${name}`);
      await ev.query({ scope: null, ...f }, undefined, 50);
    }
    ds.query = orig;
  }
}

await app.close();
await tokens.close();
await db.end();
await cluster.stop();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
