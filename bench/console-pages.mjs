// `npm run bench -- --console-pages` (or `node bench/console-pages.mjs`): every page of the web console timed in
// Chromium with 10,000 documents in one organization's inbox (issue 14's target: each page usable in < 1 s on
// localhost).
//
//   node bench/console-pages.mjs                      fill (first run only) and time every page
//   options: --documents 10000 (inbox size) · --rate 100 (sends/s while filling) · --runs 5 (warm runs per page;
//            the median is reported) · --cold-runs 3 · --only inbox,outbox (pages whose name starts so) ·
//            --fresh (wipe the kept data) · --shared-pg (the local PostgreSQL or DATABASE_URL instead of the bench's
//            own cluster) · --skip-build · --serve (fill, then keep the platform up and print the console's URL, for
//            profiling by hand; the users' password is in .data/bench-console/state.json) ·
//            --compare <dist dir> (also every page from another build of the console, e.g. one built from an
//            older commit, served on a second origin in front of the same services: before/after in one run) ·
//            --tag <name> (results file console-pages-<date>-<name>.json)
//   A build to compare, e.g. the console of commit af13d46 (outside the repository, so jest's module map does not
//   see a second apps/console/package.json):
//     mkdir -p /tmp/cmp && git archive af13d46 apps/console | tar -x -C /tmp/cmp
//     ln -s "$PWD/node_modules" /tmp/cmp/apps/console/node_modules
//     (cd /tmp/cmp/apps/console && node "$OLDPWD/node_modules/vite/bin/vite.js" build)
//     node bench/console-pages.mjs --compare /tmp/cmp/apps/console/dist
//
// The platform: its own PostgreSQL cluster (or the shared server with --shared-pg) and its own nats-server,
// both kept in .data/bench-console/ so a re-run does not refill; the four services from dist/ and the console
// server (scripts/console-server.mjs) as separate processes, on one origin as `npm start` serves them. The
// documents go through the real pipeline: created and sent through the public API by a sender organization
// (its outbox holds them), carried by the integration bus, received by the recipient organization (its inbox).
//
// What "usable" means: navigation start (performance.timeOrigin of the document, or the click for in-page
// actions) → the page's main table, chart or panel rendered with data and no spinner anywhere (each page's
// condition is in PAGES below). Cold: a new browser context (empty HTTP cache), signed in through the login
// form, then a full navigation to the page (HTML, JavaScript chunks, the refresh-token grant, API calls).
// Warm: the same context, navigating to the page again (cached chunks, the API called again). Numbers are
// printed and written to bench/results/console-pages-<date>.json; never asserted.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { build, buildConsole, ensureInstalled, ROOT, startService, waitReady } from '../scripts/platform.mjs';
import { arg, benchServiceEnv, sleep } from './lib.mjs';

const has = (name) => process.argv.includes(`--${name}`);
const OPT = {
  documents: arg('documents', 10_000),
  rate: arg('rate', 100),
  runs: arg('runs', 5),
  coldRuns: arg('cold-runs', 3),
  fresh: has('fresh'),
  sharedPg: has('shared-pg') || !!process.env.DATABASE_URL,
  skipBuild: has('skip-build'),
  serve: has('serve'),
  compare: (() => {
    const i = process.argv.indexOf('--compare');
    return i > 0 ? process.argv[i + 1] : null;
  })(),
  only: (() => {
    const i = process.argv.indexOf('--only');
    return i > 0 ? process.argv[i + 1].split(',') : null;
  })(),
};
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const startedAt = new Date();
const loadAtStart = loadavg();

ensureInstalled();
if (!OPT.skipBuild) {
  build();
  buildConsole();
}
const { LienthongClient } = await import('../libs/client/dist/index.js');
const require = createRequire(import.meta.url);
const { NatsServerProcess, PostgresClusterProcess, postgresBinDir, freePort } = require('@lienthong/testing');
const pgMod = require('pg');
const { chromium } = require('playwright-core');

// ── kept state ────────────────────────────────────────────────────────────────────────────────────────────
const HOME = join(ROOT, '.data', 'bench-console');
if (OPT.fresh) rmSync(HOME, { recursive: true, force: true });
mkdirSync(HOME, { recursive: true });
const stateFile = join(HOME, 'state.json');
const state = existsSync(stateFile)
  ? JSON.parse(readFileSync(stateFile, 'utf8'))
  : {
      adminPassword: `Bench-${randomBytes(12).toString('hex')}`,
      userPassword: `Bench-user-${randomBytes(8).toString('hex')}-Aa1!`,
      kek: randomBytes(32).toString('base64'),
      axisSecret: randomBytes(24).toString('hex'),
    };
writeFileSync(stateFile, JSON.stringify(state, null, 2), { mode: 0o600 });
const work = join(HOME, 'logs', startedAt.toISOString().replace(/[:.]/g, '-'));
mkdirSync(work, { recursive: true });

let pgCluster;
let databaseUrl;
if (!OPT.sharedPg && !postgresBinDir()) {
  console.log('» no PostgreSQL server binaries (initdb) here: using the shared server (--shared-pg)');
  OPT.sharedPg = true;
}
if (OPT.sharedPg) {
  const { providePostgres } = await import('../scripts/platform.mjs');
  databaseUrl = (await providePostgres('lienthong_bench_console')).url;
} else {
  mkdirSync(join(HOME, 'pg'), { recursive: true });
  pgCluster = new PostgresClusterProcess({ dir: join(HOME, 'pg') });
  await pgCluster.start();
  const c = new pgMod.Client({ connectionString: pgCluster.url('postgres') });
  await c.connect();
  if ((await c.query("SELECT 1 FROM pg_database WHERE datname = 'lienthong_bench'")).rowCount === 0)
    await c.query('CREATE DATABASE lienthong_bench');
  await c.end();
  databaseUrl = pgCluster.url('lienthong_bench');
}
const nats = new NatsServerProcess({ dir: join(HOME, 'nats'), serverName: 'bench-console' });
await nats.start();

const ROOT_ORG = '000.00.00.G01';
const NS = 'bcp';
const SENDER = 'BCP.S01';
const RECIPIENT = 'BCP.R01';
const SERVICES = ['identity', 'documents', 'integration-bus', 'audit'];
const ports = {};
for (const s of SERVICES) ports[s] = await freePort();
const url = Object.fromEntries(SERVICES.map((s) => [s, `http://127.0.0.1:${ports[s]}`]));
const schemaOf = (s) => `bcp_${s.replace('-', '_')}`;

// The simulated national axis (the operator's national-axis page shows its link).
const axis = spawn(process.execPath, [join(ROOT, 'bench', 'axis-agency.mjs')], {
  env: { ...process.env, AXIS_SYSTEM_ID: ROOT_ORG, AXIS_SECRET: state.axisSecret, AXIS_AGENCIES: 'BCP.A01' },
  stdio: ['pipe', 'pipe', 'pipe'],
});
axis.stderr.on('data', (d) => appendFileSync(join(work, 'axis.log'), d));
const axisUrl = await new Promise((resolve) => {
  let buf = '';
  axis.stdout.on('data', (d) => {
    buf += d.toString();
    const i = buf.indexOf('\n');
    if (i >= 0) resolve(JSON.parse(buf.slice(0, i)).url);
  });
});

const procs = {};
for (const s of SERVICES) {
  procs[s] = startService(
    { name: s, color: 36 },
    benchServiceEnv(
      s,
      {
        databaseUrl,
        natsUrl: nats.url,
        namespace: NS,
        ports,
        adminPassword: state.adminPassword,
        rootOrg: ROOT_ORG,
        kek: state.kek,
        attachmentsDir: join(HOME, 'attachments'),
        axisUrl,
        axisSecret: state.axisSecret,
      },
      { ACCESS_TOKEN_TTL_SECONDS: '7200', TRUSTED_PROXIES: 'loopback', NATIONAL_AXIS_POLL_MS: '1000' },
    ),
    { silent: true, onLine: (line) => appendFileSync(join(work, `${s}.log`), `${line}\n`) },
  );
}
let browser;
async function stopAll() {
  await browser?.close().catch(() => {});
  const kids = [...Object.values(procs), ...consoleServers];
  await Promise.all(
    kids.map((p) => new Promise((r) => (p.exitCode !== null ? r() : (p.once('exit', r), p.kill('SIGTERM'))))),
  );
  if (axis.exitCode === null) axis.kill('SIGTERM');
  await nats.stop();
  await pgCluster?.stop();
}
process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));
const fail = (e) => {
  console.error(`\n✖ ${e instanceof Error ? e.stack : e}\n  service logs: ${work}`);
  void stopAll().finally(() => process.exit(1));
};
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);
for (const s of SERVICES) {
  if (!(await waitReady(`${url[s]}/health/ready`, 180_000))) throw new Error(`${s} did not become ready`);
}
// The one origin, as `npm start` serves it (and with --compare a second one serving another build).
const consoleServers = [];
function startOrigin(distDir) {
  const proc = spawn(process.execPath, [join(ROOT, 'scripts', 'console-server.mjs')], {
    cwd: ROOT,
    env: {
      ...process.env,
      CONSOLE_PORT: '0',
      CONSOLE_UPSTREAMS: JSON.stringify(url),
      ...(distDir ? { CONSOLE_DIST_DIR: distDir } : {}),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  consoleServers.push(proc);
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    proc.once('exit', (c) => reject(new Error(`console server exited with ${c}: ${out}`)));
  });
}
const origin = await startOrigin(null);
const VARIANTS = [{ name: 'this tree', origin, byRole: {} }];
if (OPT.compare) {
  if (!existsSync(join(OPT.compare, 'index.html')))
    throw new Error(`--compare: no index.html in ${OPT.compare}`);
  VARIANTS.push({ name: 'compared', dist: OPT.compare, origin: await startOrigin(OPT.compare), byRole: {} });
}

// ── API through the integrators' client ──────────────────────────────────────────────────────────────────
const agent = new http.Agent({ keepAlive: true, maxSockets: 64, timeout: 4000 });
const client = new LienthongClient({ urls: url, agent });
const api = (service, method, path, token, body) =>
  (token ? client.withTokens(token) : client).send(service, method, path, { body });
async function login(username, password) {
  const c = client.withTokens(undefined);
  await c.auth.login(username, password);
  return c.tokens.accessToken;
}
const admin = await login('admin', state.adminPassword);
for (const code of [SENDER, RECIPIENT]) {
  const r = await api('identity', 'POST', '/api/v1/organizations', admin, {
    code,
    name: code === SENDER ? 'Tỉnh ủy Bench gửi' : 'Tỉnh ủy Bench nhận',
    parentCode: ROOT_ORG,
    level: 'province',
    sector: 'party',
    zone: 'party-wan',
  });
  if (r.status !== 201 && r.status !== 409) throw new Error(`organization ${code}: ${r.status}`);
}
const USERS = {
  sender: ['bcp.clerk.sender', SENDER, ['clerk']],
  clerk: ['bcp.clerk', RECIPIENT, ['clerk']],
  leader: ['bcp.leader', RECIPIENT, ['leader']],
  operator: ['bcp.operator', ROOT_ORG, ['operator']],
  auditor: ['bcp.auditor', ROOT_ORG, ['auditor']],
};
for (const [username, organizationCode, roles] of Object.values(USERS)) {
  const r = await api('identity', 'POST', '/api/v1/users', admin, {
    username,
    fullName: username,
    password: state.userPassword,
    organizationCode,
    roles,
  });
  if (r.status !== 201 && r.status !== 409) throw new Error(`user ${username}: ${r.status}`);
}

// ── fill the inbox through the real pipeline (only what a kept data dir lacks) ──────────────────────────
// Subjects from a few dozen Vietnamese phrases (a broad search matches one document in TOPICS.length), and one
// document in a thousand about "Điện Biên Phủ" (a narrow search).
const TOPICS = [
  'triển khai số hóa văn bản',
  'tổng kết công tác năm',
  'phòng chống thiên tai',
  'kiểm tra giám sát đảng viên',
  'đào tạo cán bộ trẻ',
  'chuyển đổi số cấp xã',
  'an toàn thông tin mạng',
  'xây dựng nông thôn mới',
  'cải cách hành chính',
  'phát triển kinh tế biển',
  'bảo vệ môi trường',
  'công tác dân vận',
  'tuyên truyền nghị quyết',
  'quốc phòng toàn dân',
  'y tế cơ sở',
  'giáo dục phổ thông',
  'văn hóa truyền thống',
  'thi đua khen thưởng',
  'ngân sách địa phương',
  'đất đai và tài nguyên',
];
const hcmToday = () => new Date(Date.now() + 7 * 3_600_000).toISOString().slice(0, 10);
const pg = new pgMod.Client({ connectionString: databaseUrl });
await pg.connect();
const count = async (direction, org) =>
  Number(
    (
      await pg.query(
        `SELECT count(*)::int AS n FROM ${schemaOf('documents')}.documents WHERE organization_code = $1 AND direction = $2`,
        [org, direction],
      )
    ).rows[0].n,
  );
const fill = { existing: await count('incoming', RECIPIENT), sent: 0, errors: 0, seconds: 0 };
const sentBefore = await count('outgoing', SENDER);
const toSend = Math.max(0, OPT.documents - Math.max(fill.existing, sentBefore));
if (toSend > 0) {
  console.log(
    `» filling: ${toSend} documents ${SENDER} → ${RECIPIENT} at ${OPT.rate}/s through the public API`,
  );
  const sender = await login(USERS.sender[0], state.userPassword);
  const t0 = performance.now();
  const inFlight = new Set();
  for (let i = 0; i < toSend; i++) {
    const due = t0 + (i / OPT.rate) * 1000;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    while (inFlight.size >= 64) await Promise.race(inFlight);
    const n = sentBefore + i + 1;
    const topic = n % 1000 === 7 ? 'kỷ niệm chiến thắng Điện Biên Phủ' : TOPICS[n % TOPICS.length];
    const p = (async () => {
      const c = await api('documents', 'POST', '/api/v1/documents', sender, {
        number: String(n),
        notation: 'CV/BCP',
        type: 'CV',
        subject: `Về việc ${topic} (${n})`,
        promulgationDate: hcmToday(),
        signer: { position: 'Chánh Văn phòng', fullName: 'Nguyễn Văn Bench' },
        secrecy: 'none',
        urgency: n % 10 === 0 ? 'urgent' : 'normal',
        dueDate: n % 3 === 0 ? hcmToday() : undefined,
        recipients: [RECIPIENT],
      });
      if (c.status !== 201) return void fill.errors++;
      const s = await api('documents', 'POST', `/api/v1/documents/${c.body.id}/send`, sender);
      if (s.status !== 202) fill.errors++;
      else fill.sent++;
    })().catch(() => void fill.errors++);
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    if (i % 500 === 499) process.stderr.write(`\r  sent ${i + 1}/${toSend}   `);
  }
  await Promise.all(inFlight);
  process.stderr.write('\n');
  for (let last = -1, still = 0; ;) {
    const n = await count('incoming', RECIPIENT);
    process.stderr.write(`\r  received ${n}/${OPT.documents}   `);
    if (n >= OPT.documents) break;
    still = n === last ? still + 1 : 0;
    if (still > 120) throw new Error(`the inbox stopped growing at ${n}`);
    last = n;
    await sleep(1000);
  }
  process.stderr.write('\n');
  fill.seconds = Math.round((performance.now() - t0) / 1000);
  await pg.query('ANALYZE');
}
const inbox = await count('incoming', RECIPIENT);
const outbox = await count('outgoing', SENDER);
console.log(`» inbox of ${RECIPIENT}: ${inbox} documents; outbox of ${SENDER}: ${outbox}`);

// Ids for the document page: one incoming (the recipient's) and one outgoing (the sender's).
const oneIncoming = (
  await pg.query(
    `SELECT id FROM ${schemaOf('documents')}.documents WHERE organization_code = $1 AND direction = 'incoming' ORDER BY created_at LIMIT 1 OFFSET 5000`,
    [RECIPIENT],
  )
).rows[0]?.id;
const oneOutgoing = (
  await pg.query(
    `SELECT id FROM ${schemaOf('documents')}.documents WHERE organization_code = $1 AND direction = 'outgoing' ORDER BY created_at LIMIT 1 OFFSET 5000`,
    [SENDER],
  )
).rows[0]?.id;
await pg.end();
if (OPT.serve) {
  console.log(
    `» console on ${origin} (users: ${Object.values(USERS)
      .map((u) => u[0])
      .join(', ')}); Ctrl-C stops`,
  );
  await new Promise(() => {});
}

// ── the browser ─────────────────────────────────────────────────────────────────────────────────────────
browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});
const NO_SPINNER = '.ant-spin-spinning, .ant-skeleton-active, .ant-table-placeholder .ant-spin';
/**
 * Each page: who opens it, its path and the condition under which it is usable (`ready`: a selector that must
 * match, optionally `min` elements of it, and never a spinner).
 */
const rows = 'main .ant-table-row';
const PAGES = [
  {
    name: 'inbox',
    role: 'clerk',
    path: '/documents?direction=incoming',
    ready: rows,
    min: 20,
    menu: 'Văn bản đến',
  },
  {
    name: 'outbox',
    role: 'sender',
    path: '/documents?direction=outgoing',
    ready: rows,
    min: 20,
    menu: 'Văn bản đi',
  },
  {
    name: 'inbox search (broad: 1 in 20)',
    role: 'clerk',
    path: `/documents?direction=incoming&q=${encodeURIComponent('chuyen doi so cap xa')}`,
    ready: rows,
    min: 20,
  },
  {
    name: 'inbox search (narrow: 1 in 1,000)',
    role: 'clerk',
    path: `/documents?direction=incoming&q=${encodeURIComponent('dien bien phu')}`,
    ready: rows,
    min: Math.min(10, Math.floor(OPT.documents / 1000)),
  },
  {
    name: 'inbox search (no match)',
    role: 'clerk',
    path: `/documents?direction=incoming&q=${encodeURIComponent('khong co van ban nao')}`,
    ready: 'main .ant-empty',
  },
  {
    name: 'document (incoming)',
    role: 'clerk',
    path: `/documents/${oneIncoming}`,
    ready: '[data-testid=accept]',
  },
  {
    name: 'document (outgoing)',
    role: 'sender',
    path: `/documents/${oneOutgoing}`,
    ready: '[data-testid=recipients-table] .ant-table-row',
  },
  { name: 'compose', menu: 'Soạn văn bản', role: 'sender', path: '/documents/new', ready: '#subject' },
  {
    name: 'registers (incoming)',
    menu: 'Sổ văn bản',
    role: 'clerk',
    path: '/registers',
    ready: rows,
    min: 20,
  },
  {
    name: 'recipient groups',
    menu: 'Nhóm nơi nhận',
    role: 'clerk',
    path: '/recipient-groups',
    ready: '[data-testid=groups-table]',
  },
  {
    name: 'indicators',
    menu: 'Chỉ tiêu chương trình',
    role: 'leader',
    path: '/indicators',
    ready: 'main canvas',
  },
  {
    name: 'exchanges',
    menu: 'Giao dịch liên thông',
    role: 'operator',
    path: '/exchanges',
    ready: rows,
    min: 20,
  },
  {
    name: 'national axis',
    menu: 'Trục quốc gia',
    role: 'operator',
    path: '/national-axis',
    ready: '[data-testid=axis-queue]',
  },
  {
    name: 'federation',
    menu: 'Các nút liên thông',
    role: 'operator',
    path: '/federation',
    ready: '[data-testid=federation-table]',
  },
  {
    name: 'service health',
    menu: 'Tình trạng dịch vụ',
    role: 'operator',
    path: '/health',
    ready: '[data-testid=health-audit]',
  },
  { name: 'audit log', menu: 'Nhật ký kiểm toán', role: 'auditor', path: '/audit', ready: rows, min: 20 },
  { name: 'signing keys', menu: 'Khóa ký', role: 'auditor', path: '/admin/keys', ready: rows },
  {
    name: 'organizations',
    menu: 'Cơ quan, tổ chức',
    role: 'admin',
    path: '/admin/organizations',
    ready: 'main .ant-tree-treenode',
  },
  { name: 'users', menu: 'Người dùng', role: 'admin', path: '/admin/users', ready: rows },
  {
    name: 'connected systems',
    menu: 'Hệ thống kết nối',
    role: 'admin',
    path: '/admin/clients',
    ready: '[data-testid=clients-table]',
  },
];
/** Where the in-app navigation starts from, per role (the first that is not the page measured). */
const START = {
  clerk: ['/documents/new', '/recipient-groups'],
  sender: ['/documents/new', '/recipient-groups'],
  leader: ['/documents?direction=outgoing', '/documents?direction=incoming'],
  operator: ['/health', '/federation'],
  auditor: ['/admin/keys', '/audit'],
  admin: ['/admin/keys', '/admin/users'],
};
const credentials = (role) =>
  role === 'admin' ? ['admin', state.adminPassword] : [USERS[role][0], state.userPassword];

async function signedIn(role, origin) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const [username, password] = credentials(role);
  await page.goto(`${origin}/login`);
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(password);
  await page.getByRole('button', { name: 'Đăng nhập' }).click();
  await page.getByTestId('whoami').filter({ hasText: username }).waitFor();
  return { context, page };
}
/** Waits in the page (every animation frame) until `spec` is usable; returns performance.now() then. */
function usableAt(page, spec, extra = null) {
  return page.waitForFunction(
    ({ sel, min, noSpinner, extra }) => {
      // Elements of the page navigated away from (marked before an in-app navigation) do not count.
      const found = [...document.querySelectorAll(sel)].filter((e) => !e.closest('[data-bench-old]'));
      if (found.length < (min || 1)) return false;
      if (document.querySelector(noSpinner)) return false;
      if (extra && !extra.every((e) => document.querySelector(e.sel)?.getAttribute('data-row-key') !== e.not))
        return false;
      return performance.now();
    },
    { sel: spec.ready, min: spec.min, noSpinner: NO_SPINNER, extra },
    { polling: 'raf', timeout: 60_000 },
  );
}
/** ms from navigation start to usable, for one full navigation of `page` to the spec's path. */
async function timeNavigation(page, spec, origin) {
  await page.goto(`${origin}${spec.path}`, { waitUntil: 'commit' });
  const at = await usableAt(page, spec);
  return Math.round(await at.jsonValue());
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : null;
};

/** One page from one origin: cold, warm and via the menu. */
async function measurePage(spec, v) {
  const cold = [];
  for (let i = 0; i < OPT.coldRuns; i++) {
    const { context, page } = await signedIn(spec.role, v.origin);
    cold.push(await timeNavigation(page, spec, v.origin));
    await context.close();
  }
  v.byRole[spec.role] ??= await signedIn(spec.role, v.origin);
  const { page } = v.byRole[spec.role];
  await timeNavigation(page, spec, v.origin); // brings the chunks into the cache
  const warm = [];
  // The API calls of the last warm run and their time seen from the browser.
  let apiCalls = [];
  for (let i = 0; i < OPT.runs; i++) {
    const calls = [];
    const onResponse = (r) => {
      if (r.url().includes('/api/v1/')) {
        const t = r.request().timing();
        calls.push({
          path: r.url().slice(v.origin.length).split('?')[0],
          status: r.status(),
          ms: Math.round(t.responseEnd > 0 ? t.responseEnd : t.responseStart),
        });
      }
    };
    page.on('response', onResponse);
    warm.push(await timeNavigation(page, spec, v.origin));
    page.off('response', onResponse);
    apiCalls = calls;
  }
  // In-app: from another page of the console, a click on the page's menu entry (how people move between pages).
  const viaMenu = [];
  if (spec.menu) {
    for (let i = 0; i < OPT.runs; i++) {
      const from = START[spec.role].find((p) => p !== spec.path);
      await timeNavigation(page, { path: from, ready: 'main h2' }, v.origin);
      // What already matches (the page navigated away from may have a table too) does not count.
      const t0 = await page.evaluate((sel) => {
        for (const e of document.querySelectorAll(sel)) e.setAttribute('data-bench-old', '');
        return performance.now();
      }, spec.ready);
      await page.getByRole('menuitem', { name: new RegExp(`(^|\\s)${spec.menu}$`) }).click();
      const at = await usableAt(page, spec);
      viaMenu.push(Math.round((await at.jsonValue()) - t0));
    }
  }
  return {
    coldMs: median(cold),
    warmMs: median(warm),
    menuMs: median(viaMenu),
    bestMs: Math.min(...cold, ...warm, ...viaMenu),
    apiMs: apiCalls.reduce((n, c) => n + c.ms, 0),
    cold,
    warm,
    viaMenu,
    apiCalls,
  };
}

const results = [];
for (const spec of PAGES.filter((p) => !OPT.only || OPT.only.some((o) => p.name.startsWith(o)))) {
  process.stderr.write(`  ${spec.name}\n`);
  const row = {
    page: spec.name,
    role: spec.role,
    path: spec.path.replace(/[0-9a-f-]{36}$/, ':id'),
    usableWhen: `${spec.ready}${spec.min ? ` ≥ ${spec.min}` : ''}, no spinner`,
  };
  // With --compare, the two builds alternate page by page (first one, then the other), so that both see
  // about the same load of the machine.
  const order = results.length % 2 === 0 ? VARIANTS : [...VARIANTS].reverse();
  for (const v of order) {
    const m = await measurePage(spec, v);
    if (v === VARIANTS[0]) Object.assign(row, m);
    else row.compared = m;
    process.stderr.write(
      `    ${v.name.padEnd(10)} cold ${String(m.coldMs).padStart(5)} ms   warm ${String(m.warmMs).padStart(5)} ms   menu ${String(m.menuMs ?? '—').padStart(5)} ms   API ${m.apiMs} ms\n`,
    );
  }
  results.push(row);
}

// In-page actions on the inbox: a search typed into the box, and paging forward with "Next".
async function measureActions(v) {
  const actions = [];
  v.byRole.clerk ??= await signedIn('clerk', v.origin);
  const { page } = v.byRole.clerk;
  const inboxSpec = PAGES[0];
  const search = [];
  for (let i = 0; i < OPT.runs; i++) {
    await timeNavigation(page, inboxSpec, v.origin);
    const box = page.locator('input[data-testid=doc-search], [data-testid=doc-search] input').first();
    await box.fill('trien khai so hoa');
    const first = await page.locator(rows).first().getAttribute('data-row-key');
    const t0 = await page.evaluate(() => performance.now());
    await box.press('Enter');
    const at = await usableAt(page, inboxSpec, [{ sel: rows, not: first }]);
    search.push(Math.round((await at.jsonValue()) - t0));
  }
  actions.push({
    action: 'inbox: type a search, press Enter (diacritics omitted)',
    ms: median(search),
    runs: search,
  });
  const PAGES_FORWARD = 10;
  const next = [];
  const lastPage = [];
  for (let i = 0; i < Math.max(2, Math.floor(OPT.runs / 2)); i++) {
    await timeNavigation(page, inboxSpec, v.origin);
    for (let p = 2; p <= PAGES_FORWARD; p++) {
      const first = await page.locator(rows).first().getAttribute('data-row-key');
      const t0 = await page.evaluate(() => performance.now());
      await page.getByRole('button', { name: 'Trang sau' }).click();
      const at = await usableAt(page, inboxSpec, [{ sel: rows, not: first }]);
      const ms = Math.round((await at.jsonValue()) - t0);
      next.push(ms);
      if (p === PAGES_FORWARD) lastPage.push(ms);
    }
  }
  actions.push({
    action: `inbox: "Next" (pages 2–${PAGES_FORWARD}), each click`,
    ms: median(next),
    runs: next,
  });
  actions.push({ action: `inbox: "Next" to page ${PAGES_FORWARD}`, ms: median(lastPage), runs: lastPage });
  // Opening a document from the list: the click on its link → its page usable.
  const open = [];
  for (let i = 0; i < OPT.runs; i++) {
    await timeNavigation(page, inboxSpec, v.origin);
    const t0 = await page.evaluate(() => performance.now());
    await page
      .locator(`${rows} a`)
      .nth(i % 20)
      .click();
    const at = await usableAt(page, { ready: '[data-testid=accept]' });
    open.push(Math.round((await at.jsonValue()) - t0));
  }
  actions.push({ action: 'inbox: click a document → its page usable', ms: median(open), runs: open });
  return actions;
}
const actions = await measureActions(VARIANTS[0]);
if (VARIANTS[1]) {
  const other = await measureActions(VARIANTS[1]);
  actions.forEach((a, i) => (a.compared = { ms: other[i].ms, runs: other[i].runs }));
}
for (const a of actions)
  process.stderr.write(
    `  ${a.action.padEnd(60)} ${String(a.ms).padStart(5)} ms${a.compared ? `   compared: ${a.compared.ms} ms` : ''}\n`,
  );

// ── report ──────────────────────────────────────────────────────────────────────────────────────────────
const loadAtEnd = loadavg();
const over = results
  .filter((r) => r.coldMs >= 1000 || r.warmMs >= 1000 || (r.menuMs ?? 0) >= 1000)
  .map((r) => r.page);
const overActions = actions.filter((a) => a.ms >= 1000).map((a) => a.action);
console.log(`\nConsole pages with ${inbox} documents in the inbox (${outbox} in the sender's outbox)`);
console.log(
  `load average ${loadAtStart.map((x) => x.toFixed(2)).join(' ')} at start, ${loadAtEnd.map((x) => x.toFixed(2)).join(' ')} at end; ${cpus().length} cores`,
);
const cmp = (x, y) => (VARIANTS[1] ? `${x ?? '—'} (${y ?? '—'})` : `${x ?? '—'}`);
if (VARIANTS[1]) console.log(`in parentheses: the compared build (${OPT.compare}), same run, same services`);
console.log(
  `\n| page | role | cold ms | warm ms | via menu ms | best ms | its API calls, ms (sum) | usable when |\n|---|---|---:|---:|---:|---:|---:|---|`,
);
for (const r of results) {
  const c = r.compared ?? {};
  console.log(
    `| ${r.page} | ${r.role} | ${cmp(r.coldMs, c.coldMs)} | ${cmp(r.warmMs, c.warmMs)} | ${cmp(r.menuMs, c.menuMs)} | ${cmp(r.bestMs, c.bestMs)} | ${cmp(`${r.apiMs} (${r.apiCalls.length})`, c.apiCalls && `${c.apiMs} (${c.apiCalls.length})`)} | \`${r.usableWhen}\` |`,
  );
}
console.log(`\n| action | median ms |\n|---|---:|`);
for (const a of actions) console.log(`| ${a.action} | ${cmp(a.ms, a.compared?.ms)} |`);
console.log(
  over.length || overActions.length
    ? `\n✖ 1 s or more: ${[...over, ...overActions].join(', ')}`
    : '\n✔ every page and action usable in < 1 s (median: cold, warm and via the menu)',
);
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
const tagAt = process.argv.indexOf('--tag');
const tag = tagAt > 0 ? `-${process.argv[tagAt + 1].replace(/[^\w.-]/g, '')}` : '';
const out = join(
  ROOT,
  'bench',
  'results',
  `console-pages-${startedAt.toISOString().slice(0, 10)}${tag}.json`,
);
writeFileSync(
  out,
  `${JSON.stringify(
    {
      startedAt: startedAt.toISOString(),
      options: OPT,
      compared: OPT.compare
        ? "each page's `compared`: the same measures from the build in options.compare"
        : undefined,
      postgres: OPT.sharedPg ? 'shared server' : 'own cluster',
      inbox,
      outbox,
      fill,
      loadAverage: { start: loadAtStart, end: loadAtEnd },
      cores: cpus().length,
      pages: results,
      actions,
      overOneSecond: [...over, ...overActions],
    },
    null,
    2,
  )}\n`,
);
console.log(`results: ${out}`);
await stopAll();
process.exit(0);
