// Audit events query with an auditor's scope (GET /api/v1/audit/events as a non-admin): the session-6 SQL
// (`hashtext(organization_code) = ANY(ARRAY(SELECT hashtext(v) …)) AND organization_code = ANY($n)`, a
// linear search per row) against the service's current EventsService.query, alternated, on a large log.
// The audit service is booted on the local PostgreSQL (its migrations make a scratch schema); the leaves
// are then written by SQL (the same indexes, rebuilt after the fill): --rows leaves (1,500,000), 20,000
// organizations with a power-law share of the traffic, 10 actions (document.status.changed 30 %). The
// auditor's subtree is the first --scope organizations (10,000, about 70 % of the leaves); small scopes
// of 1–3,000 codes are taken from the quiet and middle parts. The condition the service does not choose
// for a scope's size (INDEXED_SCOPE_MAX) is timed too, forced, to show what the threshold buys. Pages of 500 (501 fetched), the first one
// (with from=) and one from the middle of the log; median of --reps (5) runs of each variant, alternated.
// Also: identity's subtree answer (--scope codes over NATS) asked per page vs the service's cached scopeOf.
// Usage: node bench/audit-scope.mjs [--rows 1500000] [--scope 10000] [--reps 5] [--explain]
// Build first: npx tsc -b tsconfig.build.json
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { arg } from './lib.mjs';

process.env.LT_NAMESPACE = `benchscope${randomBytes(3).toString('hex')}`;
const require = createRequire(import.meta.url);
const ROWS = arg('rows', 1_500_000);
const SCOPE = arg('scope', 10_000);
const REPS = arg('reps', 5);
const ORGS = 2 * SCOPE;

require('reflect-metadata');
const { TestTokens, testServiceEnv, dropSchema } = require('../libs/testing/dist/index.js');
const { RpcClient } = require('../libs/common/dist/index.js');
const { RpcMethods, RpcSubjects } = require('../libs/contracts/dist/index.js');
const { createAuditApp } = require('../services/audit/dist/audit.app.js');
const {
  EventsService,
  INDEXED_SCOPE_MAX,
  toItem,
} = require('../services/audit/dist/events/events.service.js');
const { hashedAny, hashedSet } = require('../services/audit/dist/events/hashed-any.js');
const { DataSource } = require('typeorm');
const { connect } = require('@nats-io/transport-node');
const pg = require('pg');

const tokens = await TestTokens.start();
const env = await testServiceEnv('auditscope', {
  JWKS_URL: tokens.jwksUrl,
  AUDIT_INTAKE_ENABLED: 'false',
  AUDIT_CHECKPOINT_EVERY: '10000000',
});
const app = await createAuditApp(env);
const schema = env.DB_SCHEMA;
const db = new pg.Client({ connectionString: env.DATABASE_URL });
await db.connect();
await db.query(`SET search_path = ${schema}`);

// 20,000 organizations: the first SCOPE are the auditor's subtree (codes 000.xx.yy.H01 …).
const code = (i) =>
  i < SCOPE
    ? `000.${String(Math.floor(i / 100)).padStart(3, '0')}.${String(i % 100).padStart(2, '0')}.H01`
    : `${String(Math.floor(i / 1000)).padStart(3, '0')}.${String(i % 1000).padStart(3, '0')}.00.H${String(i % 97).padStart(2, '0')}`;
const codes = Array.from({ length: ORGS }, (_, i) => code(i));
const t0 = performance.now();
const defs = (
  await db.query(
    `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'leaves'
        AND indexname NOT IN ('leaves_pkey') AND indexdef NOT LIKE '%UNIQUE%'`,
    [schema],
  )
).rows;
for (const d of defs) await db.query(`DROP INDEX ${d.indexname}`);
await db.query(
  `INSERT INTO leaves (leaf_index, event_id, event, leaf_hash, time, action, actor_sub, organization_code,
                       resource_type, resource_id, service)
   SELECT g, md5(g::text)::uuid,
     jsonb_build_object('id', md5(g::text)::uuid, 'time', t, 'service', 'documents', 'action', a,
       'actor', jsonb_build_object('sub', 'user-' || (g * 7 % 30000), 'organizationCode', o, 'type', 'user'),
       'resource', jsonb_build_object('type', 'document', 'id', md5((g / 3)::text)::uuid), 'outcome', 'success',
       'details', jsonb_build_object('from', 'a', 'to', 'b', 'deliveryId', 'd-' || g)),
     sha256(g::text::bytea), t, a, 'user-' || (g * 7 % 30000), o, 'document', md5((g / 3)::text)::uuid::text, 'documents'
   FROM (SELECT g, timestamptz '2026-10-01' + g * interval '1.7 second' AS t,
           (ARRAY['document.status.changed', 'document.status.changed', 'document.read', 'document.sent',
                  'document.received', 'delivery.acknowledged', 'document.created', 'document.status.changed',
                  'auth.login', 'document.read'])[1 + (hashint4(g)::bigint & 1023) % 10] AS a,
           ($2::text[])[1 + floor($3 * power(((hashint4(g + 7)::bigint & 2147483647) / 2147483648.0), 2))::int] AS o
         FROM generate_series(0, $1 - 1) g) s`,
  [ROWS, codes, ORGS],
);
for (const d of defs) await db.query(d.indexdef);
await db.query(`VACUUM ANALYZE leaves`);
const fillS = ((performance.now() - t0) / 1000).toFixed(0);

const ds = app.get(DataSource);
const ev = app.get(EventsService);
// The query as fetch() builds it for these filters, with a given scope condition: session 6's (before),
// or either of the current ones forced (hashed-any.ts hashedAny / hashedSet), whatever the scope's size.
const OLD = (c, v) =>
  `hashtext(${c}) = ANY(ARRAY(SELECT hashtext(v) FROM unnest(${v}) AS v)) AND ${c} = ANY(${v})`;
const run = async (scopeSql, f, after, limit) => {
  const where = ['leaf_index > $1'];
  const params = [after];
  const add = (sql, v) => {
    params.push(v);
    where.push(sql.split('?').join(`$${params.length}`));
  };
  if (f.action !== undefined) add('hashtext(action) = hashtext(?) AND action = ?', f.action);
  if (f.from !== undefined) add('time >= ?', f.from);
  add(scopeSql('organization_code', '?::text[]'), f.scope);
  params.push(limit + 1);
  const sql = `SELECT leaf_index, leaf_hash, event FROM leaves WHERE ${where.join(' AND ')} ORDER BY leaf_index LIMIT $${params.length}`;
  const rows = await ds.query(sql, params);
  return { items: rows.slice(0, limit).map(toItem) };
};
const before = (f, after, limit) => run(OLD, f, after, limit);
const range = (a, n) => codes.slice(a, a + n);
const scopes = {
  [`${SCOPE} (subtree)`]: range(0, SCOPE),
  '3000 (middle)': range(SCOPE / 2, 3000),
  '1000 (middle)': range(SCOPE / 2, 1000),
  '500 (middle)': range(SCOPE / 2, 500),
  '200 (quiet)': range(SCOPE * 0.9, 200),
  '20 (quiet)': range(SCOPE * 0.9, 20),
  '1 (busy)': range(5, 1),
  '1 (quiet)': range(SCOPE * 0.9, 1),
};
const from = '2026-10-05T00:00:00Z';
const mid = Math.floor(ROWS / 2);
const pages = {
  'action+from, first page': [{ action: 'document.status.changed', from }, undefined],
  'action, middle page': [{ action: 'document.status.changed' }, String(mid)],
  'scope only, middle page': [{}, String(mid)],
};
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const lines = [];
let mismatches = 0;
for (const [sname, scope] of Object.entries(scopes))
  for (const [pname, [f, cursor]] of Object.entries(pages)) {
    const filter = { ...f, scope };
    const tb = [];
    const ta = [];
    const tx = [];
    // The condition the service does not choose for this size, forced: what the threshold buys.
    const other = scope.length <= INDEXED_SCOPE_MAX ? hashedSet : hashedAny;
    for (let r = 0; r < REPS; r++) {
      let t = performance.now();
      const b = await before(filter, cursor === undefined ? -1 : Number(cursor), 500);
      tb.push(performance.now() - t);
      t = performance.now();
      const a = await ev.query(filter, cursor, 500);
      ta.push(performance.now() - t);
      t = performance.now();
      const x = await run(other, filter, cursor === undefined ? -1 : Number(cursor), 500);
      tx.push(performance.now() - t);
      if (r === 0 && JSON.stringify(a.items) !== JSON.stringify(b.items)) mismatches++;
      if (r === 0 && JSON.stringify(x.items) !== JSON.stringify(b.items)) mismatches++;
    }
    lines.push(
      `  scope ${sname.padEnd(16)} ${pname.padEnd(24)} ${median(tb).toFixed(1).padStart(8)} → ${median(ta).toFixed(1).padStart(6)} ms ${scope.length <= INDEXED_SCOPE_MAX ? 'index' : 'set  '} (${other === hashedSet ? 'set' : 'index'} forced: ${median(tx).toFixed(1)} ms)`,
    );
    console.log(lines[lines.length - 1]);
  }

// Plans (one run each, EXPLAIN ANALYZE): planning and execution time, and the node that drives the scan.
if (process.argv.includes('--explain')) {
  const orig = ds.query.bind(ds);
  let seen = [];
  ds.query = async (sql, params) => {
    if (sql.startsWith('SELECT leaf_index')) {
      const p = (await orig(`EXPLAIN (ANALYZE, COSTS OFF) ${sql}`, params)).map((x) => x['QUERY PLAN']);
      const node = p
        .find((l) => /(Index|Index Only|Bitmap Heap|Seq) Scan|Join/.test(l))
        ?.trim()
        .replace(/\s*\(actual.*$/, '');
      const ms = (k) => p.find((l) => l.startsWith(k))?.replace(/^.*: /, '');
      seen.push(`${node}; planning ${ms('Planning Time')}, execution ${ms('Execution Time')}`);
    }
    return orig(sql, params);
  };
  for (const [sname, scope] of Object.entries(scopes)) {
    const [f, cursor] = pages['action, middle page'];
    seen = [];
    await before({ ...f, scope }, Number(cursor), 500);
    await ev.query({ ...f, scope }, cursor, 500);
    console.log(`  explain ${sname} (action, middle page):\n    before: ${seen[0]}\n    after:  ${seen[1]}`);
  }
  ds.query = orig;
}

// identity's subtree: asked for every page (before) or through scopeOf's cache (after).
const nc = await connect({ servers: env.NATS_URL });
const subtree = range(1, SCOPE - 1);
const sub = nc.subscribe(RpcSubjects.organizationSubtree);
void (async () => {
  for await (const m of sub) {
    const { id } = m.json();
    m.respond(JSON.stringify({ id, response: { codes: subtree }, isDisposed: true }));
  }
})();
const rpc = app.get(RpcClient);
const p = { sub: 'auditor', organizationCode: codes[0], roles: ['auditor'] };
const rb = [];
const ra = [];
for (let r = 0; r < REPS * 4; r++) {
  let t = performance.now();
  const { codes: got } = await rpc.request(RpcMethods.organizationSubtree, { code: p.organizationCode });
  Array.from(new Set([p.organizationCode, ...got]));
  rb.push(performance.now() - t);
  t = performance.now();
  await ev.scopeOf(p);
  ra.push(performance.now() - t);
}
await sub.unsubscribe();
await nc.close();

console.log(
  `audit scope filter: ${ROWS} leaves (filled in ${fillS} s), subtree ${SCOPE} codes of ${ORGS}, pages of 500, ` +
    `median of ${REPS} (before → after ms, the condition the service chose, the other one forced), ${mismatches} differing answers, load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
);
for (const l of lines) console.log(l);
console.log(
  `  subtree of ${SCOPE} codes from identity per page ${median(rb).toFixed(2)} ms → scopeOf (cached) ${median(ra).toFixed(3)} ms`,
);

await app.close();
await tokens.close();
await db.end();
await dropSchema(env.DATABASE_URL, schema);
process.exit(0);
