// Round trips and CPU of the platform's transaction shapes, main's (pg's own client, jsonb outbox, the
// relay's lock, SELECT, DELETE and COMMIT each a round trip: its statements reproduced here) against this
// branch's (PipeliningClient, text outbox, OutboxService and OutboxRelay as built), back to back on the same server (`node bench/pg-round-trips.mjs [--tx 4000] [--workers 8] [--rounds 2]`; needs the
// build and DATABASE_URL or the local PostgreSQL). Each transaction is a consumer's unit of work (claim the
// messages, one UPDATE, the outbox INSERT, COMMIT) and every fourth is followed by an outbox relay drain (lock +
// SELECT, DELETE, COMMIT). Reports per transaction: writes the client waited on (round trips), node CPU and
// the PostgreSQL backends' CPU (/proc/<pid>/stat), and the load average.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createRequire } from 'node:module';
import { arg } from './lib.mjs';

const require = createRequire(import.meta.url);
const pg = require('pg');
const { DataSource } = require('typeorm');
const common = require('../libs/common/dist/index.js');

const URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const TX = Number(arg('tx', '4000'));
const WORKERS = Number(arg('workers', '8'));
const ROUNDS = Number(arg('rounds', '2'));
const WARMUP = Number(arg('warmup', '600'));
const SIZE = Number(arg('items', '3')); // items in each event's data (3: ~600 bytes; 30: ~3 KB, TOASTed)
const schema = `rt_${process.pid}`;
const TICK = 100; // USER_HZ

function counting(Base) {
  return class extends Base {
    constructor(c) {
      super(c);
      const stream = this.connection.stream;
      for (const k of ['_write', '_writev']) {
        const f = stream[k]?.bind(stream);
        if (f) stream[k] = (...a) => (counting.writes++, f(...a));
      }
    }
  };
}
counting.writes = 0;

function procTicks(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

async function run(mode) {
  const main = mode === 'main';
  const Client = counting(main ? pg.Client : common.PipeliningClient);
  const sch = `${schema}_${mode}`;
  const ds = new DataSource({
    type: 'postgres',
    url: URL,
    extra: { Client, max: WORKERS + 1, options: `-c search_path=${sch}`, application_name: sch },
  });
  await ds.initialize();
  const identity = { service: 'bench', nodeId: 'n1' };
  const outbox = new common.OutboxService(identity);
  const processed = new common.ProcessedMessages();
  const branchRelay = new common.OutboxRelay(
    ds,
    { publishRaw: async () => undefined },
    { DB_SCHEMA: sch, OUTBOX_BATCH_SIZE: 100, OUTBOX_POLL_MS: 1000 },
    new (require('prom-client').Registry)(),
  );
  // main's relay: its statements, one round trip each, in its transaction
  const mainRelay = {
    drainOnce: () =>
      ds.transaction(async (m) => {
        const [{ locked }] = await common.preparedQuery(
          m,
          'lt_outbox_lock',
          'SELECT pg_try_advisory_xact_lock(hashtext($1)) AS locked',
          [`${sch}.outbox`],
        );
        if (!locked) return 0;
        const rows = await common.preparedQuery(
          m,
          'lt_outbox_batch',
          `SELECT seq, id, subject, envelope::text AS json, envelope->>'type' AS type,
                envelope->>'correlationId' AS "correlationId", envelope->>'traceparent' AS traceparent
           FROM outbox ORDER BY seq LIMIT $1`,
          [100],
        );
        if (rows.length === 0) return 0;
        await common.preparedQuery(
          m,
          'lt_outbox_delete',
          'DELETE FROM outbox WHERE seq = ANY($1::bigint[])',
          [rows.map((r) => r.seq)],
        );
        return rows.length;
      }),
  };
  const relay = main ? mainRelay : branchRelay;
  const insertMain = (m, rows) => {
    const values = [];
    const tuples = rows.map((r, i) => {
      values.push(r.envelope.id, r.subject, JSON.stringify(r.envelope));
      return `($${i * 3 + 1}::uuid, $${i * 3 + 2}, $${i * 3 + 3}::jsonb)`;
    });
    const text = `INSERT INTO outbox (id, subject, envelope) VALUES ${tuples.join(',')} ON CONFLICT (id) DO NOTHING`;
    return common.preparedQuery(m, `lt_outbox_insert_${rows.length}`, text, values);
  };
  // warm every pooled connection (prepared statements) before measuring
  const unit = async (i) => {
    await ds.transaction(async (m) => {
      const ids = [randomUUID(), randomUUID(), randomUUID()];
      await processed.claimMany(m, 'bench', ids);
      await m.query('UPDATE t SET n = n + 1 WHERE id = $1', [i % 100]);
      const rows = ids.map((id) => ({
        subject: 'bench.x',
        envelope: {
          id,
          type: 'bench.x',
          occurredAt: new Date().toISOString(),
          correlationId: randomUUID(),
          source: 'documents@n1',
          data: {
            i,
            documentId: randomUUID(),
            items: Array.from({ length: SIZE }, (_, k) => ({
              org: `G01.${k}`,
              status: 'arrived',
              at: new Date().toISOString(),
            })),
          },
        },
      }));
      await (main ? insertMain(m, rows) : outbox.insert(m, rows));
    });
    if (i % 4 === 0) await relay.drainOnce();
  };
  // warm up (JIT, prepared statements on every pooled connection) before measuring
  let warm = 0;
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      while (warm < WARMUP) await unit(warm++);
    }),
  );
  const pids = (await ds.query('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [sch])).map(
    (r) => r.pid,
  );
  const pg0 = pids.reduce((s, p) => s + procTicks(p), 0);
  const cpu0 = process.cpuUsage();
  const w0 = counting.writes;
  const t0 = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      while (next < TX) await unit(next++);
    }),
  );
  const ms = Date.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const pgTicks = pids.reduce((s, p) => s + procTicks(p), 0) - pg0;
  const writes = counting.writes - w0;
  while ((await relay.drainOnce()) > 0);
  await ds.destroy();
  return {
    mode,
    roundTripsPerTx: +(writes / TX).toFixed(2),
    nodeCpuUsPerTx: Math.round((cpu.user + cpu.system) / TX),
    pgBackendCpuUsPerTx: Math.round((pgTicks * (1e6 / TICK)) / TX),
    txPerSecond: Math.round((TX * 1000) / ms),
    load: loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
  };
}

const admin = new pg.Client({ connectionString: URL });
await admin.connect();
for (const mode of ['main', 'branch']) {
  const sch = `${schema}_${mode}`;
  await admin.query(`CREATE SCHEMA ${sch}`);
  await admin.query(`SET search_path = ${sch}`);
  await admin.query(`CREATE TABLE outbox (seq bigserial PRIMARY KEY, id uuid NOT NULL UNIQUE, subject text NOT NULL,
    envelope jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), attempts integer NOT NULL DEFAULT 0, last_error text)`);
  if (mode === 'branch') {
    await admin.query(
      `ALTER TABLE outbox ADD COLUMN type text, ADD COLUMN correlation_id text, ADD COLUMN traceparent text`,
    );
    await admin.query(`ALTER TABLE outbox ALTER COLUMN envelope TYPE text USING envelope::text`);
  }
  await admin.query(`CREATE TABLE processed_messages (consumer text NOT NULL, message_id text NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (consumer, message_id))`);
  await admin.query('CREATE TABLE t (id int PRIMARY KEY, n int NOT NULL)');
  await admin.query('INSERT INTO t SELECT g, 0 FROM generate_series(0, 99) g');
}
try {
  for (let r = 0; r < ROUNDS; r++)
    for (const mode of r % 2 ? ['branch', 'main'] : ['main', 'branch'])
      console.log(JSON.stringify(await run(mode)));
} finally {
  for (const mode of ['main', 'branch']) await admin.query(`DROP SCHEMA ${schema}_${mode} CASCADE`);
  await admin.end();
}
