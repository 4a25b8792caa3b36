// Audit benchmark: sustained append rate (JetStream publish → committed leaves) and inclusion-proof latency
// (HTTP, p50/p99) at 1,000,000 entries. Runs against the built service (`npx tsc -b tsconfig.build.json`
// first), real PostgreSQL and NATS.
// The 1M tree is filled through the service's own LogRepository.append (the same Merkle code and SQL as the
// intake, 10,000 events per transaction) rather than through JetStream, to keep the run short.
// Usage: node bench/audit.mjs [--events 20000] [--entries 1000000] [--proofs 2000]
import { randomBytes, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { arg, percentile } from './lib.mjs';

process.env.LT_NAMESPACE = `bench${randomBytes(3).toString('hex')}`;
const require = createRequire(import.meta.url);
const EVENTS = arg('events', 20_000);
const ENTRIES = arg('entries', 1_000_000);
const PROOFS = arg('proofs', 2_000);

require('reflect-metadata');
const { Subjects } = require('../libs/contracts/dist/index.js');
const { TestTokens, testServiceEnv, dropSchema, withPg } = require('../libs/testing/dist/index.js');
const { createAuditApp } = require('../services/audit/dist/audit.app.js');
const { LogRepository } = require('../services/audit/dist/log/log.repository.js');
const { CheckpointService } = require('../services/audit/dist/checkpoint/checkpoint.service.js');
const { leafHash, verifyInclusion } = require('../services/audit/dist/merkle/merkle.js');
const { connect } = require('@nats-io/transport-node');
const { jetstream } = require('@nats-io/jetstream');

const tokens = await TestTokens.start();
const env = await testServiceEnv('bench_audit', {
  JWKS_URL: tokens.jwksUrl,
  LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent',
  DB_POOL_SIZE: '10',
  AUDIT_BATCH_SIZE: process.env.BENCH_BATCH ?? '500',
  AUDIT_CHECKPOINT_EVERY: '100000',
});
// The HTTP-serving instance does not consume, so a backlog can be published before the consumer starts.
const app = await createAuditApp({ ...env, AUDIT_INTAKE_ENABLED: 'false' });
const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
const nc = await connect({ servers: env.NATS_URL });
const js = jetstream(nc);
const admin = await tokens.mint({ org: 'ROOT', roles: ['system-admin'] });

const event = (i) => ({
  id: randomUUID(),
  time: new Date().toISOString(),
  service: 'documents',
  action: i % 3 ? 'document.read' : 'document.sent',
  actor: { sub: `user-${i % 1000}`, organizationCode: `ORG-${i % 50}`, type: 'user' },
  resource: { type: 'document', id: randomUUID() },
  outcome: 'success',
});
const size = () =>
  withPg(env.DATABASE_URL, async (c) =>
    Number((await c.query(`SELECT size FROM ${env.DB_SCHEMA}.tree_state`)).rows[0].size),
  );

async function publishAll(n, offset) {
  const WINDOW = 1000;
  for (let i = 0; i < n; i += WINDOW) {
    await Promise.all(
      Array.from({ length: Math.min(WINDOW, n - i) }, (_, j) => {
        const id = randomUUID();
        const env = {
          id,
          type: 'audit.event',
          occurredAt: new Date().toISOString(),
          source: 'documents@central',
          data: event(offset + i + j),
        };
        return js.publish(Subjects.auditEvent('documents'), JSON.stringify(env), { msgID: id });
      }),
    );
  }
}
const waitFor = async (n) => {
  while ((await size()) < n) await new Promise((r) => setTimeout(r, 20));
};

// 1a. Backlog drain: EVENTS already in JetStream, then a consumer starts; time until all are committed leaves.
let consumerApp;
{
  await publishAll(EVENTS, 0);
  const t0 = performance.now();
  consumerApp = await createAuditApp(env);
  await waitFor(EVENTS);
  const secs = (performance.now() - t0) / 1000;
  console.log(
    `append (backlog drain, incl. consumer boot): ${EVENTS} events committed in ${secs.toFixed(2)} s = ${Math.round(EVENTS / secs)} events/s`,
  );
}

// 1b. End to end: publish EVENTS more while the consumer runs; time from the first publish to the last commit.
{
  const t0 = performance.now();
  await publishAll(EVENTS, EVENTS);
  const published = performance.now();
  await waitFor(2 * EVENTS);
  const secs = (performance.now() - t0) / 1000;
  console.log(
    `append (live, publish → committed leaf): ${EVENTS} events published in ${((published - t0) / 1000).toFixed(2)} s, all committed after ${secs.toFixed(2)} s = ${Math.round(EVENTS / secs)} events/s`,
  );
}

// 2. Fill to ENTRIES through the repository (same Merkle code and SQL as the intake).
{
  const repo = app.get(LogRepository);
  const t0 = performance.now();
  let n = await size();
  while (n < ENTRIES) {
    const batch = Array.from({ length: Math.min(10_000, ENTRIES - n) }, (_, i) => event(n + i));
    n = (await repo.append(batch)).size;
    if (n % 100_000 < 10_000) process.stderr.write(`  … ${n} entries\n`);
  }
  console.log(`bulk fill: ${ENTRIES} entries in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

// 3. Inclusion-proof latency over HTTP at ENTRIES (random leaves, tree size = ENTRIES), each proof verified.
{
  const headers = { Authorization: `Bearer ${admin}` };
  await app.get(CheckpointService).sign();
  const cp = await (await fetch(`${url}/api/v1/audit/checkpoint`, { headers })).json();
  // Warm-up (JIT, connection pool, JWKS fetch).
  for (let i = 0; i < 50; i++)
    await fetch(`${url}/api/v1/audit/proofs/inclusion?leafIndex=${i}&treeSize=${cp.treeSize}`, { headers });
  const root = Buffer.from(cp.rootHash, 'hex');
  const lat = [];
  for (let i = 0; i < PROOFS; i++) {
    const leaf = Math.floor(Math.random() * cp.treeSize);
    const t = performance.now();
    const res = await fetch(
      `${url}/api/v1/audit/proofs/inclusion?leafIndex=${leaf}&treeSize=${cp.treeSize}`,
      { headers },
    );
    const p = await res.json();
    lat.push(performance.now() - t);
    if (
      !verifyInclusion(
        leaf,
        cp.treeSize,
        Buffer.from(p.leafHash, 'hex'),
        p.auditPath.map((x) => Buffer.from(x, 'hex')),
        root,
      )
    ) {
      throw new Error(`proof for ${leaf} does not verify`);
    }
  }
  console.log(
    `inclusion proof at ${cp.treeSize} entries: p50 ${percentile(lat, 50).toFixed(2)} ms, p99 ${percentile(lat, 99).toFixed(2)} ms (${PROOFS} sequential HTTP requests, each verified)`,
  );
  // The same proofs without HTTP (repository: one SQL round trip + hashing), to separate the HTTP stack
  // (client and server share this process) from the log's own cost.
  const repo = app.get(LogRepository);
  const direct = [];
  for (let i = 0; i < PROOFS; i++) {
    const leaf = Math.floor(Math.random() * cp.treeSize);
    const t = performance.now();
    await repo.inclusionProof(leaf, cp.treeSize);
    direct.push(performance.now() - t);
  }
  console.log(
    `inclusion proof at ${cp.treeSize} entries, in-process (no HTTP): p50 ${percentile(direct, 50).toFixed(2)} ms, p99 ${percentile(direct, 99).toFixed(2)} ms`,
  );
  void leafHash;
}

await consumerApp.close();
await app.close();
await nc.drain();
await tokens.close();
await dropSchema(env.DATABASE_URL, env.DB_SCHEMA);
process.exit(0);
