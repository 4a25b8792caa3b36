// The machine's floor: what PostgreSQL and JetStream alone sustain here, at a given concurrency.
//   node bench/floor.mjs [--concurrency 32] [--seconds 10]
// Prints single-row insert transactions/s (each its own commit) and JetStream async publishes/s (1 KB).
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import pg from 'pg';
import { arg } from './lib.mjs';

export async function measureFloor({
  concurrency = arg('concurrency', 32),
  seconds = arg('seconds', 10),
  databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
} = {}) {
  // PostgreSQL: N clients each committing one-row INSERTs in a loop.
  const pool = new pg.Pool({ connectionString: databaseUrl, max: concurrency });
  await pool.query(
    'CREATE TABLE IF NOT EXISTS bench_floor (id bigserial PRIMARY KEY, payload text, at timestamptz DEFAULT now())',
  );
  const payload = 'x'.repeat(200);
  let pgCount = 0;
  let deadline = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) {
        await pool.query('INSERT INTO bench_floor (payload) VALUES ($1)', [payload]);
        pgCount++;
      }
    }),
  );
  await pool.query('DROP TABLE bench_floor');
  await pool.end();
  const pgRate = pgCount / seconds;

  // JetStream: async publish with at most `concurrency × 8` acks outstanding.
  const nc = await connect({ servers: natsUrl });
  const jsm = await jetstreamManager(nc);
  const stream = `BENCH_FLOOR_${process.pid}`;
  await jsm.streams.add({ name: stream, subjects: [`bench.floor.${process.pid}`] });
  const js = jetstream(nc);
  const body = new Uint8Array(1024).fill(120);
  let jsCount = 0;
  deadline = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) {
        const batch = [];
        for (let i = 0; i < 8; i++) batch.push(js.publish(`bench.floor.${process.pid}`, body));
        await Promise.all(batch);
        jsCount += 8;
      }
    }),
  );
  await jsm.streams.delete(stream);
  await nc.close();
  const jsRate = jsCount / seconds;
  return {
    concurrency,
    seconds,
    postgresInsertTxPerSec: Math.round(pgRate),
    jetstreamPublishPerSec: Math.round(jsRate),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await measureFloor();
  console.log(
    `PostgreSQL single-row insert transactions: ${r.postgresInsertTxPerSec.toLocaleString()} /s (concurrency ${r.concurrency})`,
  );
  console.log(`JetStream async publish (1 KB):            ${r.jetstreamPublishPerSec.toLocaleString()} /s`);
}
