// National-axis leg benchmark (issue 12 items 5–6): the sign path and the send path of the integration bus.
//  1. sign: edXML packages built and XML-signed per second — the general signer (parse + exc-c14n of the whole
//     package, key imported per package, one package per axis recipient, as before) against the one-pass
//     signer (canonical form digested as built, cached key, one package per document for all its recipients).
//  2. send: documents published as `document.send-requested` (real PostgreSQL and NATS, identity's lookup
//     answered by a NATS responder) with one recipient in three behind the axis, then with three axis
//     recipients each; the SIMULATED axis runs in its own process. Measured until every exchange is `sent`
//     and the outbox is empty: recipient-deliveries/s overall and axis sends/s (sendEdoc calls).
// Runs against built code (`npx tsc -b tsconfig.build.json`); `--root <dir>` runs the send phase against
// another checkout's build (e.g. main) to compare in one sitting.
// Usage: node bench/axis.mjs [--docs 600] [--packages 200] [--root /path/to/checkout]
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { answerOrganizationResolve, arg } from './lib.mjs';

process.env.LT_NAMESPACE = `bench${randomBytes(3).toString('hex')}`;
const require = createRequire(import.meta.url);
const DOCS = arg('docs', 600);
const PACKAGES = arg('packages', 200);
const rootIdx = process.argv.indexOf('--root');
const ROOT =
  rootIdx > 0 ? resolve(process.argv[rootIdx + 1]) : resolve(new URL('..', import.meta.url).pathname);
const ONLY = process.argv.includes('--send-only')
  ? 'send'
  : process.argv.includes('--sign-only')
    ? 'sign'
    : 'all';

require('reflect-metadata');
const { RpcSubjects, Subjects } = require('../libs/contracts/dist/index.js');
const { TestTokens, testServiceEnv, dropSchema, withPg } = require('../libs/testing/dist/index.js');
const edxml = require('../services/integration-bus/dist/edxml/index.js');
const { connect } = require('@nats-io/transport-node');
const { jetstream } = require('@nats-io/jetstream');

console.log(
  `national-axis leg — ${new Date().toISOString()}, ${cpus().length} CPUs, load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);

const AGENCIES = Array.from({ length: 20 }, (_, i) => `000.00.00.G${String(10 + i)}`);

// 1. sign path
if (ONLY !== 'send') {
  const cred = edxml.generateSelfSigned('bench-node', 2048);
  const pdf = randomBytes(60 * 1024); // a typical signed PDF → ~80 KB package
  const pkg = (to) => ({
    from: { organId: '000.00.00.H01', organName: 'Văn phòng Trung ương Đảng' },
    to: to.map((organId) => ({ organId })),
    documentId: edxml.formatDocumentId('000.00.00.H01', '2026-11-20', '1', 'CV/VPTW'),
    codeNumber: '1',
    codeNotation: 'CV/VPTW',
    promulgationDate: '2026-11-20',
    type: '1',
    subject: 'Về việc triển khai chuyển đổi số & "báo cáo" <khẩn>',
    signer: { position: 'Chánh Văn phòng', fullName: 'Nguyễn Văn A' },
    priority: 1,
    steeringType: 0,
    toPlaces: [],
    responseFor: [],
    traces: [],
    businessDocType: 0,
    attachments: [{ contentId: 'cid:1', name: 'tệp.pdf', contentType: 'application/pdf', content: pdf }],
  });
  const rate = (n, fn) => {
    fn(); // warm-up
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    return (n * 1000) / (performance.now() - t0);
  };
  // Before: one package per recipient, the general signer, the PEM key imported per package.
  const before1 = rate(PACKAGES, () =>
    edxml.signPackage(edxml.buildPackage(pkg([AGENCIES[0]])), { ...cred }),
  );
  const after1 = rate(PACKAGES, () => edxml.buildSignedPackage(pkg([AGENCIES[0]]), cred));
  const three = AGENCIES.slice(0, 3);
  const before3 = rate(Math.ceil(PACKAGES / 3), () => {
    for (const a of three) edxml.signPackage(edxml.buildPackage(pkg([a])), { ...cred });
  });
  const after3 = rate(PACKAGES, () => edxml.buildSignedPackage(pkg(three), cred));
  // Every package of the fast path still verifies with xml-crypto.
  const check = edxml.verifyPackage(edxml.buildSignedPackage(pkg(three), cred), [cred.certPem], 1e8);
  if (!check.valid) throw new Error(`fast-path package does not verify: ${check.problem}`);
  console.log(
    `sign (${(Buffer.byteLength(edxml.buildPackage(pkg(three))) / 1024).toFixed(0)} KB package, RSA-2048):`,
  );
  console.log(
    `  1 axis recipient : ${before1.toFixed(0)} → ${after1.toFixed(0)} packages/s  (×${(after1 / before1).toFixed(1)})`,
  );
  console.log(
    `  3 axis recipients: ${(before3 * 3).toFixed(0)} → ${(after3 * 3).toFixed(0)} recipients signed for/s  (×${(after3 / before3).toFixed(1)})`,
  );
}

// 2. send path
if (ONLY !== 'sign') {
  const SYSTEM_ID = '000.00.00.H99';
  const SECRET = 'bench-secret';
  const sim = spawn(
    process.execPath,
    [
      resolve(
        new URL('..', import.meta.url).pathname,
        'services/integration-bus/dist/national-axis-simulator/main.js',
      ),
    ],
    {
      env: { ...process.env, SIMULATOR_PORT: '0', SIMULATOR_SYSTEMS: `${SYSTEM_ID}=${SECRET}` },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const simUrl = await new Promise((ok, ko) => {
    let out = '';
    sim.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/[^;\s]+)/.exec(out);
      if (m) ok(m[1]);
    });
    sim.on('exit', () => ko(new Error('simulator exited')));
  });
  const { createIntegrationBusApp } = require(`${ROOT}/services/integration-bus/dist/integration-bus.app.js`);
  console.log(`send (bus from ${ROOT}, simulated axis in its own process at ${simUrl}):`);
  const tokens = await TestTokens.start();
  const cred = edxml.generateSelfSigned('bench-node', 2048);
  const { fromSendRequested, exchangeIdFor } = require(
    `${ROOT}/services/integration-bus/dist/exchanges/routed-document.js`,
  );
  const docEvent = (i, to, notation) => ({
    documentId: randomUUID(),
    fromOrganizationCode: '000.00.00.B00',
    recipients: to,
    businessType: 0,
    attachments: [],
    document: {
      number: String(i + 1),
      notation,
      type: 'CV',
      subject: `Về việc ${i}`,
      promulgationDate: '2026-11-20',
      signer: { position: 'Chánh Văn phòng', fullName: 'Trần Thị B' },
      secrecy: 'none',
      urgency: 'normal',
      steering: false,
    },
  });
  for (const [label, recipientsOf] of [
    [
      '1 in 3 recipients behind the axis',
      (i) => ['000.00.00.B01', '000.00.00.B02', AGENCIES[i % AGENCIES.length]],
    ],
    ['3 axis recipients per document', (i) => [0, 1, 2].map((k) => AGENCIES[(i + k) % AGENCIES.length])],
  ]) {
    const env = await testServiceEnv('bench_axis', {
      JWKS_URL: tokens.jwksUrl,
      LOG_LEVEL: 'silent',
      DB_POOL_SIZE: '10',
      NODE_CERT_PEM: cred.certPem,
      NODE_KEY_PEM: cred.keyPem,
      NATIONAL_AXIS_URL: simUrl,
      NATIONAL_AXIS_SYSTEM_ID: SYSTEM_ID,
      NATIONAL_AXIS_SECRET: SECRET,
      NATIONAL_AXIS_POLL_MS: '60000',
    });
    const nc = await connect({ servers: env.NATS_URL });
    // Codes with `.G` are government agencies behind the national axis; the others party organizations.
    answerOrganizationResolve(nc, RpcSubjects.organizationResolve, (code) =>
      code.includes('.G')
        ? { level: 'central', sector: 'state', zone: 'internet' }
        : { level: 'central', sector: 'party', zone: 'party-wan' },
    );
    const app = await createIntegrationBusApp(env, false);
    const js = jetstream(nc);
    const q = (sql) =>
      withPg(
        env.DATABASE_URL,
        async (c) => (await c.query(sql.replaceAll('S.', `"${env.DB_SCHEMA}".`))).rows[0],
      );
    const before = await (await fetch(`${simUrl}/_sim/items`)).json();
    const t0 = performance.now();
    let recipients = 0;
    let axisRecipients = 0;
    await Promise.all(
      Array.from({ length: DOCS }, (_, i) => {
        const id = randomUUID();
        const to = recipientsOf(i);
        recipients += to.length;
        axisRecipients += to.filter((c) => c.includes('.G')).length;
        const data = {
          documentId: id,
          fromOrganizationCode: '000.00.00.B00',
          recipients: to,
          businessType: 0,
          attachments: [],
          document: {
            number: String(i + 1),
            notation: `CV/${label.length}`,
            type: 'CV',
            subject: `Về việc ${i}`,
            promulgationDate: '2026-11-20',
            signer: { position: 'Chánh Văn phòng', fullName: 'Trần Thị B' },
            secrecy: 'none',
            urgency: 'normal',
            steering: false,
          },
        };
        const envl = {
          id,
          type: 'document.send-requested',
          occurredAt: new Date().toISOString(),
          source: 'bench',
          data,
        };
        return js.publish(Subjects.documentSendRequested(), JSON.stringify(envl), { msgID: id });
      }),
    );
    let done = { sent: 0, axis: 0, outbox: 1 };
    while (performance.now() - t0 < 300_000) {
      done = await q(
        `SELECT (SELECT count(*) FROM S.exchanges WHERE state = 'sent')::int AS sent,
                (SELECT count(*) FROM S.exchanges WHERE state = 'sent' AND route = 'national-axis')::int AS axis,
                (SELECT count(*) FROM S.outbox)::int AS outbox`,
      );
      if (done.sent >= recipients && done.outbox === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const secs = (performance.now() - t0) / 1000;
    const after = await (await fetch(`${simUrl}/_sim/items`)).json();
    const calls = after.items.length - before.items.length;
    console.log(
      `  ${label}: ${DOCS} documents, ${recipients} recipients (${axisRecipients} on the axis) all sent in ${secs.toFixed(2)} s` +
        `${done.sent < recipients ? ` — INCOMPLETE ${done.sent}/${recipients}` : ''}`,
    );
    console.log(
      `    ${(done.sent / secs).toFixed(0)} recipient-deliveries/s overall; ${(done.axis / secs).toFixed(0)} axis recipients/s in ${calls} sendEdoc calls (${(calls / secs).toFixed(0)}/s)`,
    );
    // The sender alone: axis exchanges inserted as routing leaves them (queued, due now), then timed until sent.
    {
      const rows = [];
      for (let i = 0; i < DOCS; i++) {
        const d = fromSendRequested(
          docEvent(
            i,
            recipientsOf(i).filter((c) => c.includes('.G')),
            'SENDER/ONLY',
          ),
        );
        for (const to of d.recipients)
          rows.push([
            exchangeIdFor(d.fromOrganizationCode, d.edxmlDocumentId, to),
            d.sourceDocumentId,
            d.edxmlDocumentId,
            d.fromOrganizationCode,
            to,
            JSON.stringify(d),
          ]);
      }
      const s0 = await (await fetch(`${simUrl}/_sim/items`)).json();
      const t1 = performance.now();
      await withPg(env.DATABASE_URL, async (c) => {
        for (let k = 0; k < rows.length; k += 500) {
          const chunk = rows.slice(k, k + 500);
          await c.query(
            `INSERT INTO "${env.DB_SCHEMA}".exchanges (id, document_id, edxml_document_id, from_code, to_code, business_type, route, state, next_attempt_at, expires_at, trace, payload)
             SELECT id, doc, edoc, f, t, 0, 'national-axis', 'queued', now(), now() + interval '1 day', '[]'::jsonb, p::jsonb
               FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS x(id, doc, edoc, f, t, p)`,
            [0, 1, 2, 3, 4, 5].map((j) => chunk.map((r) => r[j])),
          );
        }
      });
      if (Subjects.busAxisWake) nc.publish(Subjects.busAxisWake(), 'bench');
      let sent = 0;
      while (performance.now() - t1 < 300_000) {
        sent = (
          await q(
            `SELECT count(*)::int AS n FROM S.exchanges WHERE route = 'national-axis' AND state = 'sent' AND edxml_document_id LIKE '%SENDER/ONLY'`,
          )
        ).n;
        if (sent >= rows.length) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const secs1 = (performance.now() - t1) / 1000;
      const s1 = await (await fetch(`${simUrl}/_sim/items`)).json();
      const calls1 = s1.items.length - s0.items.length;
      console.log(
        `    sender alone: ${rows.length} queued axis exchanges sent in ${secs1.toFixed(2)} s → ${(sent / secs1).toFixed(0)} axis recipients/s, ${(calls1 / secs1).toFixed(0)} sendEdoc calls/s${sent < rows.length ? ` — INCOMPLETE ${sent}/${rows.length}` : ''}`,
      );
    }
    await app.close();
    await nc.drain();
    await dropSchema(env.DATABASE_URL, env.DB_SCHEMA);
  }
  await tokens.close();
  sim.kill('SIGTERM');
}
console.log(
  `load average at the end ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
process.exit(0);
