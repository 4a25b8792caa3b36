// `node bench/client-overhead.mjs [--requests 20000] [--concurrency 64] [--rounds 3]`: what a request through
// libs/client costs the caller compared with a bare node:http request on the same keep-alive agent (the
// benchmark's HTTP layer before it used the client). A trivial JSON server runs in its own process; each round
// runs both ways in turn and prints requests/s and the caller's CPU per request. Build first (npm run build).
import { spawn } from 'node:child_process';
import http from 'node:http';
import { LienthongClient } from '../libs/client/dist/index.js';
import { arg } from './lib.mjs';

const REQUESTS = arg('requests', 20_000);
const CONCURRENCY = arg('concurrency', 64);
const ROUNDS = arg('rounds', 3);

const server = spawn(
  process.execPath,
  [
    '-e',
    `const s = require('node:http').createServer((req, res) => { req.resume(); req.on('end', () => {
       res.writeHead(201, { 'Content-Type': 'application/json' }); res.end('{"id":"00000000-0000-0000-0000-000000000000","status":"draft"}'); }); });
     s.keepAliveTimeout = 5000; s.listen(0, '127.0.0.1', () => console.log(s.address().port));`,
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const port = await new Promise((resolve) =>
  server.stdout.once('data', (d) => resolve(Number(String(d).trim()))),
);
const base = `http://127.0.0.1:${port}`;
const agent = new http.Agent({ keepAlive: true, maxSockets: 128, timeout: 4000 });
const body = { number: '1', notation: 'CV', subject: 'Về việc triển khai', recipients: ['000.01.00.P01'] };
const token = 'x'.repeat(900); // about the size of an access token

/** The benchmark's former `api` function, without its retry branch. */
function bare(path) {
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${base}${path}`,
      {
        method: 'POST',
        agent,
        headers: {
          'Content-Type': 'application/json',
          'Content-Length': payload.length,
          Authorization: `Bearer ${token}`,
        },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode, body: JSON.parse(Buffer.concat(chunks).toString()) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const client = new LienthongClient({ urls: { documents: base }, agent }).withTokens(token);
const viaClient = (path) => client.send('documents', 'POST', path, { body });

async function run(fn) {
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < REQUESTS) {
        const r = await fn('/api/v1/documents');
        if (r.status !== 201) throw new Error(`status ${r.status}`);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { perSecond: REQUESTS / seconds, cpuUsPerRequest: (cpu.user + cpu.system) / REQUESTS };
}

await run(bare); // warm-up of sockets and JIT
await run(viaClient);
const rows = { bare: [], client: [] };
for (let i = 0; i < ROUNDS; i++) {
  rows.bare.push(await run(bare));
  rows.client.push(await run(viaClient));
}
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [name, rs] of Object.entries(rows)) {
  console.log(
    `${name.padEnd(7)} ${median(rs.map((r) => r.perSecond))
      .toFixed(0)
      .padStart(6)} requests/s, ` +
      `${median(rs.map((r) => r.cpuUsPerRequest))
        .toFixed(0)
        .padStart(4)} µs CPU per request (median of ${ROUNDS})`,
  );
}
server.kill();
agent.destroy();
client.close();
