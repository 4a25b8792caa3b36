// `npm run seed:demo`: a small organization tree and a user per role on a running platform, so a newcomer
// can try the API at once. Safe to run twice (existing records are kept). Passwords are generated and
// written to .data/demo-users.json (never committed).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LienthongApiError, LienthongClient } from '../libs/client/dist/index.js';
import { ROOT } from './platform.mjs';

const IDENTITY = process.env.IDENTITY_URL ?? 'http://127.0.0.1:3001';
const pwFile = join(ROOT, '.data', 'admin-password');
const adminPassword =
  process.env.ADMIN_PASSWORD ?? (existsSync(pwFile) ? readFileSync(pwFile, 'utf8').trim() : undefined);
if (!adminPassword) {
  console.error('✖ set ADMIN_PASSWORD (the bootstrap admin password printed by identity on first start)');
  process.exit(1);
}

// Through the integrators' client (libs/client, built by npm start / npm run build).
const admin = new LienthongClient({ urls: { identity: IDENTITY } });
try {
  await admin.auth.login('admin', adminPassword);
} catch (e) {
  const why = e instanceof LienthongApiError ? `${e.status} ${e.code}` : e.message;
  console.error(
    `✖ admin login failed (${why}): is the platform running (npm start) and ADMIN_PASSWORD right?`,
  );
  process.exit(1);
}
const root = (await admin.auth.me()).organizationCode;

/** 201 when created, else the API's status (409: it exists). */
async function created(fn) {
  try {
    await fn();
    return 201;
  } catch (e) {
    if (e instanceof LienthongApiError) return e.status;
    throw e;
  }
}

const orgs = [
  {
    code: '000.01.00.P01',
    name: 'Tỉnh ủy Hà Nam',
    parentCode: root,
    level: 'province',
    sector: 'party',
    zone: 'party-wan',
  },
  {
    code: '000.01.01.D01',
    name: 'Huyện ủy Duy Tiên',
    parentCode: '000.01.00.P01',
    level: 'district',
    sector: 'party',
    zone: 'party-wan',
  },
  {
    code: '000.01.01.C01',
    name: 'Đảng ủy xã Tiên Sơn',
    parentCode: '000.01.01.D01',
    level: 'commune',
    sector: 'party',
    zone: 'internet',
  },
  {
    code: '000.02.00.P02',
    name: 'Tỉnh ủy Ninh Bình',
    parentCode: root,
    level: 'province',
    sector: 'party',
    zone: 'party-wan',
  },
  {
    code: '000.02.01.D02',
    name: 'Huyện ủy Hoa Lư',
    parentCode: '000.02.00.P02',
    level: 'district',
    sector: 'party',
    zone: 'party-wan',
  },
  {
    code: '000.02.01.C02',
    name: 'Đảng ủy xã Ninh Hải',
    parentCode: '000.02.01.D02',
    level: 'commune',
    sector: 'party',
    zone: 'internet',
  },
  {
    code: '000.00.00.G09',
    name: 'Bộ Nội vụ (qua trục quốc gia)',
    level: 'central',
    sector: 'state',
    zone: 'internet',
  },
];
for (const o of orgs) {
  const status = await created(() => admin.directory.createOrganization(o));
  console.log(
    `${status === 201 ? '✔ created' : status === 409 ? '· exists ' : `✖ ${status}`}  ${o.code}  ${o.name}`,
  );
}

const roles = ['org-admin', 'clerk', 'leader', 'specialist', 'auditor', 'operator', 'cleared'];
const users = [];
for (const [org, prefix] of [
  [root, 'tw'],
  ['000.01.00.P01', 'hanam'],
]) {
  for (const role of roles) {
    const username = `${prefix}.${role}`;
    const password = `Demo-${randomBytes(9).toString('base64url')}`;
    const status = await created(() =>
      admin.directory.createUser({
        username,
        fullName: `${role} (${prefix})`,
        password,
        organizationCode: org,
        roles: [role],
      }),
    );
    if (status === 201) users.push({ username, password, organizationCode: org, roles: [role] });
    console.log(
      `${status === 201 ? '✔ created' : status === 409 ? '· exists ' : `✖ ${status}`}  user ${username}`,
    );
  }
}
if (users.length) {
  mkdirSync(join(ROOT, '.data'), { recursive: true });
  const file = join(ROOT, '.data', 'demo-users.json');
  const prev = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : [];
  writeFileSync(file, JSON.stringify([...prev, ...users], null, 2), { mode: 0o600 });
  console.log(`\nDemo users and their passwords: .data/demo-users.json`);
}
admin.close();
