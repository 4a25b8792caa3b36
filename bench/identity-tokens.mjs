// Identity benchmark: password-grant tokens/s, client-credentials tokens/s and local token verifications/s.
// Boots the built identity service in-process (`npx tsc -b tsconfig.build.json` first) on real PostgreSQL and
// NATS, with the production argon2id cost unless --memory/--iterations say otherwise.
// Usage: node bench/identity-tokens.mjs [--seconds 10] [--concurrency 8] [--memory 19456] [--iterations 2]
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { arg } from './lib.mjs';

process.env.LT_NAMESPACE = `bench${randomBytes(3).toString('hex')}`;
const require = createRequire(import.meta.url);
const SECONDS = arg('seconds', 10);
const CONCURRENCY = arg('concurrency', 8);

require('reflect-metadata');
const { testServiceEnv, dropSchema } = require('../libs/testing/dist/index.js');
const { JwtVerifier } = require('../libs/common/dist/index.js');
const { createIdentityApp } = require('../services/identity/dist/identity.app.js');
const { KeyRing } = require('../services/identity/dist/keys/key-ring.js');

const ADMIN = 'bench-root-passphrase-1';
const env = await testServiceEnv('bench_identity', {
  LOG_LEVEL: 'silent',
  DB_POOL_SIZE: '10',
  ADMIN_PASSWORD: ADMIN,
  KEY_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
  PASSWORD_HASH_MEMORY_KIB: String(arg('memory', 19456)),
  PASSWORD_HASH_ITERATIONS: String(arg('iterations', 2)),
  TOKEN_RATE_LIMIT_PER_IP: '1000000',
  TOKEN_RATE_LIMIT_PER_USERNAME: '1000000',
});
const app = await createIdentityApp(env, true);
const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
const post = async (path, body, token) => {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  if (res.status >= 300) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
};

const admin = (
  await post('/api/v1/auth/token', { grant_type: 'password', username: 'admin', password: ADMIN })
).access_token;
// One user per worker: logins of one account are serialized on purpose (row lock for lockout counting).
const users = [];
for (let i = 0; i < CONCURRENCY; i++) {
  const password = `bench passphrase number ${i}`;
  await post(
    '/api/v1/users',
    {
      username: `bench.user${i}`,
      fullName: 'Bench',
      password,
      organizationCode: '000.00.00.G01',
      roles: ['clerk'],
    },
    admin,
  );
  users.push({ username: `bench.user${i}`, password });
}
const client = await post(
  '/api/v1/clients',
  { name: 'bench', organizationCode: '000.00.00.G01', roles: ['exchange'] },
  admin,
);

async function rate(label, make) {
  let n = 0;
  const deadline = performance.now() + SECONDS * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, w) => {
      while (performance.now() < deadline) {
        await make(w);
        n++;
      }
    }),
  );
  const perSecond = n / ((performance.now() - t0) / 1000);
  console.log(`${label}: ${perSecond.toFixed(1)}/s (${n} in ${SECONDS}s, concurrency ${CONCURRENCY})`);
  return perSecond;
}

console.log(
  `argon2id memory ${env.PASSWORD_HASH_MEMORY_KIB} KiB, iterations ${env.PASSWORD_HASH_ITERATIONS}`,
);
await rate('password-grant tokens', (w) =>
  post('/api/v1/auth/token', { grant_type: 'password', ...users[w] }),
);
await rate('client-credentials tokens', () =>
  post('/api/v1/auth/token', {
    grant_type: 'client_credentials',
    client_id: client.clientId,
    client_secret: client.clientSecret,
  }),
);

const token = (await post('/api/v1/auth/token', { grant_type: 'password', ...users[0] })).access_token;
const verifier = new JwtVerifier(app.get(KeyRing).resolver, {
  issuer: 'lienthong/central',
  audience: 'lienthong',
});
{
  const N = 20000;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await verifier.verify(token);
  console.log(
    `local verifications (RS256, in-process key set): ${(N / ((performance.now() - t0) / 1000)).toFixed(0)}/s`,
  );
}

await app.close();
await dropSchema(env.DATABASE_URL, env.DB_SCHEMA);
process.exit(0);
