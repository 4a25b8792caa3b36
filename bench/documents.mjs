// Documents benchmark: documents created+sent per second over HTTP, and full-text search latency on a
// 1,000,000-row documents table. Runs against the built service (`npx tsc -b tsconfig.build.json` first),
// real PostgreSQL and NATS; identity's organization lookup is answered by a small NATS responder.
// Usage: node bench/documents.mjs [--docs 300] [--concurrency 16] [--rows 1000000]
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { arg, percentile, answerOrganizationResolve, documentBody } from './lib.mjs';

process.env.LT_NAMESPACE = `bench${randomBytes(3).toString('hex')}`;
const require = createRequire(import.meta.url);
const DOCS = arg('docs', 300);
const CONCURRENCY = arg('concurrency', 16);
const ROWS = arg('rows', 1_000_000);

require('reflect-metadata');
const { RpcSubjects } = require('../libs/contracts/dist/index.js');
const { TestTokens, testServiceEnv, dropSchema, withPg } = require('../libs/testing/dist/index.js');
const { createDocumentsApp } = require('../services/documents/dist/documents.app.js');
const { connect } = require('@nats-io/transport-node');

const tokens = await TestTokens.start();
const attachments = mkdtempSync(join(tmpdir(), 'lt-bench-att-'));
const env = await testServiceEnv('bench_documents', {
  JWKS_URL: tokens.jwksUrl,
  ATTACHMENTS_DIR: attachments,
  LOG_LEVEL: 'silent',
  DB_POOL_SIZE: '10',
});
const nc = await connect({ servers: env.NATS_URL });
answerOrganizationResolve(nc, RpcSubjects.organizationResolve);

const app = await createDocumentsApp(env);
const base = await app.getUrl();
const url = base.replace('[::1]', '127.0.0.1');
const clerk = await tokens.mint({ org: 'B0', roles: ['clerk'] });
const headers = { Authorization: `Bearer ${clerk}`, 'Content-Type': 'application/json' };
const body = (i) => documentBody(i, ['B1', 'B2']);

// 1. created + sent per second
{
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < DOCS) {
      const i = next++;
      const c = await fetch(`${url}/api/v1/documents`, { method: 'POST', headers, body: body(i) });
      if (c.status !== 201) throw new Error(`create ${c.status} ${await c.text()}`);
      const { id } = await c.json();
      const s = await fetch(`${url}/api/v1/documents/${id}/send`, { method: 'POST', headers });
      if (s.status !== 202) throw new Error(`send ${s.status} ${await s.text()}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const secs = (performance.now() - t0) / 1000;
  console.log(
    `create+send: ${DOCS} documents in ${secs.toFixed(2)} s = ${(DOCS / secs).toFixed(1)} documents/s (concurrency ${CONCURRENCY})`,
  );
}

// 2. search latency on ROWS rows (bulk insert with generate_series; the GIN index is rebuilt after the load)
await withPg(env.DATABASE_URL, async (c) => {
  await c.query(`SET search_path = ${env.DB_SCHEMA}, public`);
  const t0 = performance.now();
  const { rows: gin } = await c.query(
    `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND tablename = 'documents' AND indexdef LIKE '%USING gin%'`,
    [env.DB_SCHEMA],
  );
  for (const ix of gin) await c.query(`DROP INDEX ${ix.indexname}`);
  await c.query(
    `INSERT INTO documents (id, organization_code, direction, number, notation, type, subject, content, promulgation_date,
       signer, secrecy, urgency, state, register_year, register_number, created_by, created_at)
     SELECT gen_random_uuid(), 'B' || (i % 10), 'outgoing', i::text, 'CV/TU', 'CV',
       (ARRAY['Về việc triển khai', 'Báo cáo tổng kết', 'Kế hoạch kiểm tra', 'Hướng dẫn thực hiện', 'Thông báo kết luận'])[1 + i % 5]
         || ' ' || (ARRAY['công tác đảng viên', 'chuyển đổi số', 'nghị quyết trung ương', 'đào tạo cán bộ', 'công tác dân vận', 'phòng chống tham nhũng', 'xây dựng chính quyền'])[1 + (i / 7) % 7]
         || ' năm ' || (2000 + i % 27) || ' mã ' || md5(i::text),
       NULL, DATE '2026-01-01' + (i % 300), '{"position":"x","fullName":"y"}', 'none', 'normal', 'draft', 2025, 100000 + i / 10,
       'bench', now() - make_interval(secs => i)
     FROM generate_series(1, $1::int) AS i`,
    [ROWS],
  );
  const t1 = performance.now();
  for (const ix of gin) await c.query(ix.indexdef);
  await c.query('ANALYZE documents');
  const t2 = performance.now();
  console.log(
    `loaded ${ROWS} rows in ${((t1 - t0) / 1000).toFixed(1)} s, GIN index + analyze ${((t2 - t1) / 1000).toFixed(1)} s`,
  );
});

const queries = [
  ['common term, no diacritics', 'q=trien%20khai'],
  ['selective phrase', 'q=phong%20chong%20tham%20nhung%20nam%202013'],
  [
    'rare term (one row)',
    `q=${encodeURIComponent('mã')}%20${await (async () => {
      const { createHash } = await import('node:crypto');
      return createHash('md5')
        .update(String(Math.floor((ROWS * 0.77) / 10) * 10))
        .digest('hex');
    })()}`,
  ],
  ['term + status + date filter', 'q=chuyen%20doi%20so&status=draft&from=2026-01-01&to=2026-12-31'],
  ['no query, first page', 'limit=50'],
];
for (const [label, qs] of queries) {
  const times = [];
  let count = 0;
  let next = null;
  for (let i = 0; i < 30; i++) {
    const t0 = performance.now();
    const r = await fetch(`${url}/api/v1/documents?${qs}`, { headers });
    const b = await r.json();
    times.push(performance.now() - t0);
    count = b.items?.length ?? -1;
    next = b.nextCursor;
  }
  // Second page through the keyset cursor.
  let pageMs = null;
  if (next) {
    const t0 = performance.now();
    await fetch(`${url}/api/v1/documents?${qs}&cursor=${next}`, { headers }).then((r) => r.json());
    pageMs = performance.now() - t0;
  }
  if (process.argv.includes('--explain')) {
    await withPg(env.DATABASE_URL, async (c) => {
      await c.query(`SET search_path = ${env.DB_SCHEMA}, public`);
      const p = new URLSearchParams(qs);
      const q = p.get('q');
      const where = [`organization_code = 'B0'`, `secrecy = 'none'`];
      if (q) where.push(`search @@ plainto_tsquery('simple', fold_text('${q.replace(/'/g, "''")}'))`);
      if (p.get('status'))
        where.push(
          `(state = '${p.get('status')}' OR (direction = 'outgoing' AND EXISTS (SELECT 1 FROM document_recipients r WHERE r.document_id = documents.id AND r.status = '${p.get('status')}')))`,
        );
      const plan = await c.query(
        `EXPLAIN (ANALYZE, COSTS OFF) SELECT id FROM documents WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT 51`,
      );
      console.log(plan.rows.map((r) => `    ${r['QUERY PLAN']}`).join('\n'));
    });
  }
  console.log(
    `search ${label}: p50 ${percentile(times, 50).toFixed(1)} ms, p95 ${percentile(times, 95).toFixed(1)} ms (items ${count}${pageMs !== null ? `, next page ${pageMs.toFixed(1)} ms` : ''})`,
  );
}

await app.close();
await nc.drain();
await tokens.close();
await dropSchema(env.DATABASE_URL, env.DB_SCHEMA);
rmSync(attachments, { recursive: true, force: true });
process.exit(0);
