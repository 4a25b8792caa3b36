// Integration bus benchmark: packages routed per second (document.send-requested → exchanges + bus.delivery,
// real PostgreSQL and NATS), and build/sign/parse/verify rate of a 1 MB edXML package. Runs against the built
// service (`npx tsc -b tsconfig.build.json` first); identity's organization lookup is answered by a NATS responder.
// Usage: node bench/bus.mjs [--docs 500] [--iterations 20]
import { randomBytes, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { arg, answerOrganizationResolve } from './lib.mjs';

process.env.LT_NAMESPACE = `bench${randomBytes(3).toString('hex')}`;
const require = createRequire(import.meta.url);
const DOCS = arg('docs', 500);
const ITER = arg('iterations', 20);

require('reflect-metadata');
const { RpcSubjects, Subjects } = require('../libs/contracts/dist/index.js');
const { TestTokens, testServiceEnv, dropSchema, withPg } = require('../libs/testing/dist/index.js');
const edxml = require('../services/integration-bus/dist/edxml/index.js');
const { createIntegrationBusApp } = require('../services/integration-bus/dist/integration-bus.app.js');
const { connect } = require('@nats-io/transport-node');
const { jetstream } = require('@nats-io/jetstream');

// 1. build/parse of a 1 MB package
{
  const cred = edxml.generateSelfSigned('bench-node', 2048);
  const content = randomBytes(750 * 1024); // base64 → ~1 MB package
  const pkg = {
    from: { organId: '000.00.00.H01', organName: 'Văn phòng Trung ương Đảng' },
    to: [{ organId: '000.00.00.G22' }],
    documentId: edxml.formatDocumentId('000.00.00.H01', '2026-11-20', '1', 'CV/VPTW'),
    codeNumber: '1',
    codeNotation: 'CV/VPTW',
    promulgationDate: '2026-11-20',
    type: '1',
    subject: 'Về việc triển khai chuyển đổi số',
    signer: { position: 'Chánh Văn phòng', fullName: 'Nguyễn Văn A' },
    priority: 0,
    steeringType: 0,
    toPlaces: [],
    responseFor: [],
    traces: [],
    businessDocType: 0,
    attachments: [{ contentId: 'cid:1', name: 'tệp.pdf', contentType: 'application/pdf', content }],
  };
  const limits = { maxBytes: 64 * 1024 * 1024 };
  let xml = '';
  let signed = '';
  const time = (fn) => {
    const t0 = performance.now();
    for (let i = 0; i < ITER; i++) fn();
    return (performance.now() - t0) / ITER;
  };
  const build = time(() => (xml = edxml.buildPackage(pkg)));
  const sign = time(() => (signed = edxml.signPackage(xml, cred)));
  const parse = time(() => edxml.parsePackage(signed, limits));
  const verify = time(() => edxml.verifyPackage(signed, [cred.certPem], limits.maxBytes));
  const mb = Buffer.byteLength(signed) / 1024 / 1024;
  console.log(`1 MB package (${mb.toFixed(2)} MiB, ${ITER} iterations):`);
  console.log(
    `  build  ${build.toFixed(1)} ms  (${(1000 / build).toFixed(1)}/s, ${((mb * 1000) / build).toFixed(1)} MiB/s)`,
  );
  console.log(`  sign   ${sign.toFixed(1)} ms  (${(1000 / sign).toFixed(1)}/s)`);
  console.log(
    `  parse  ${parse.toFixed(1)} ms  (${(1000 / parse).toFixed(1)}/s, ${((mb * 1000) / parse).toFixed(1)} MiB/s)`,
  );
  console.log(`  verify ${verify.toFixed(1)} ms  (${(1000 / verify).toFixed(1)}/s)`);
}

// 2. packages routed per second (local route: exchange rows + bus.delivery through the outbox)
{
  const tokens = await TestTokens.start();
  const cred = edxml.generateSelfSigned('bench-node', 1024);
  const env = await testServiceEnv('bench_bus', {
    JWKS_URL: tokens.jwksUrl,
    LOG_LEVEL: 'silent',
    DB_POOL_SIZE: '10',
    NODE_CERT_PEM: cred.certPem,
    NODE_KEY_PEM: cred.keyPem,
  });
  const nc = await connect({ servers: env.NATS_URL });
  answerOrganizationResolve(nc, RpcSubjects.organizationResolve);
  const app = await createIntegrationBusApp(env, false);
  const js = jetstream(nc);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: DOCS }, (_, i) => {
      const id = randomUUID();
      const data = {
        documentId: id,
        fromOrganizationCode: 'B0',
        recipients: ['B1', 'B2'],
        businessType: 0,
        attachments: [],
        document: {
          number: String(i + 1),
          notation: 'CV/TU',
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
  const published = performance.now();
  let routed = 0;
  while (routed < DOCS * 2) {
    await new Promise((r) => setTimeout(r, 100));
    routed = await withPg(env.DATABASE_URL, async (c) =>
      Number((await c.query(`SELECT count(*) FROM "${env.DB_SCHEMA}".exchanges`)).rows[0].count),
    );
    if (performance.now() - t0 > 120_000) break;
  }
  let outbox = 1;
  while (outbox > 0 && performance.now() - t0 < 120_000) {
    outbox = await withPg(env.DATABASE_URL, async (c) =>
      Number((await c.query(`SELECT count(*) FROM "${env.DB_SCHEMA}".outbox`)).rows[0].count),
    );
    if (outbox > 0) await new Promise((r) => setTimeout(r, 50));
  }
  const secs = (performance.now() - t0) / 1000;
  console.log(
    `routing: ${DOCS} documents × 2 local recipients published in ${((published - t0) / 1000).toFixed(2)} s;`,
  );
  console.log(
    `  ${routed} exchanges routed and their events published in ${secs.toFixed(2)} s → ${(DOCS / secs).toFixed(0)} documents/s, ${(routed / secs).toFixed(0)} packages/s`,
  );
  await app.close();
  await nc.drain();
  await tokens.close();
  await dropSchema(env.DATABASE_URL, env.DB_SCHEMA);
}
process.exit(0);
