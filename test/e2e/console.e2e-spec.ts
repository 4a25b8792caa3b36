import { makeCa, makeSigner, minimalPdf, signPdf } from '@lienthong/testing';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { authenticator } from 'otplib';
import { api as callApi, login as loginAt, until } from './support/api';
import { describeViolations, expectAccessible, seriousAxeViolations } from './support/axe';
import { PlatformProcesses, SERVICES, type Service } from './support/platform-processes';
import { NationalAxisSimulator } from '../../services/integration-bus/src/national-axis-simulator/national-axis-simulator';

const ROOT = join(__dirname, '..', '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// The flags this machine needs (no sandbox as root, no background network calls to the outside).
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SHOTS = join(ROOT, 'test-results', 'console');

const haveBrowser = existsSync(CHROMIUM);
if (!haveBrowser) {
  console.warn(
    `SKIPPED the browser e2e test: no Chromium at ${CHROMIUM} (scripts/test.mjs installs Debian's chromium when run as root; set CHROMIUM_PATH otherwise)`,
  );
}
const describeBrowser = haveBrowser ? describe : describe.skip;

/**
 * A TOTP code for `secret` that the server will still take when it checks it: from a step after `afterStep`
 * (never a code already used) with at least 8 s of the step left (the server accepts only the current step),
 * waiting for the next step when needed.
 */
async function totpCode(secret: string, afterStep = -1): Promise<{ code: string; step: number }> {
  for (;;) {
    const now = Date.now();
    const step = Math.floor(now / 30_000);
    const left = (step + 1) * 30_000 - now;
    if (step > afterStep && left >= 8_000) return { code: authenticator.generate(secret), step };
    await new Promise((resolve) => setTimeout(resolve, left + 50));
  }
}

jest.setTimeout(240_000);

/**
 * The web console in a real browser on the one origin (services + console server as real processes): a
 * clerk composes a document with a signed PDF and sends it, the recipient's clerk finds it in the inbox and
 * accepts it, the sender's timeline shows 03, an auditor checks an inclusion proof in the browser.
 */
describeBrowser('web console in Chromium', () => {
  const work = mkdtempSync(join(tmpdir(), 'console-e2e-'));
  const ca = makeCa('Console E2E Party CA');
  const anchors = join(work, 'anchors.pem');
  writeFileSync(anchors, ca.pem);
  // The bus talks to a simulated national axis (its URL is known once it listens, before the bus starts).
  const AXIS_SYSTEM_ID = '000.00.00.H98';
  const axis = new NationalAxisSimulator({ systems: { [AXIS_SYSTEM_ID]: 'console-e2e-axis-secret' } });
  const busEnv: Record<string, string> = {};
  const platform = new PlatformProcesses({
    documents: { TRUST_ANCHORS: anchors, ATTACHMENTS_DIR: join(work, 'attachments') },
    audit: { AUDIT_CHECKPOINT_INTERVAL_MS: '500' },
    'integration-bus': busEnv,
  });
  const SENDER = '000.21.00.P21';
  const RECEIVER = '000.22.00.P22';
  const password = 'Console-e2e-Passw0rd!';
  let origin = '';
  let server: ChildProcess | undefined;
  let browser: Browser;
  let admin: string;

  const api = (service: Service, method: string, path: string, token?: string, body?: unknown) =>
    callApi(platform, service, method, path, token, body);

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    // The console is built by `npm test`'s build step; build it here when the test runs alone.
    if (!existsSync(join(ROOT, 'apps', 'console', 'dist', 'index.html'))) {
      const r = spawnSync(
        process.execPath,
        ['--input-type=module', '-e', "import('./scripts/platform.mjs').then((m) => m.buildConsole())"],
        { cwd: ROOT, stdio: 'inherit' },
      );
      if (r.status !== 0) throw new Error('the console did not build');
    }
    Object.assign(busEnv, {
      NATIONAL_AXIS_URL: await axis.start(0),
      NATIONAL_AXIS_SYSTEM_ID: AXIS_SYSTEM_ID,
      NATIONAL_AXIS_SECRET: 'console-e2e-axis-secret',
      NATIONAL_AXIS_POLL_MS: '500',
      // One failed call makes an exchange dead, so the operator test below has one to retry.
      EXCHANGE_MAX_ATTEMPTS: '1',
    });
    await platform.start();
    server = spawn(process.execPath, [join(ROOT, 'scripts', 'console-server.mjs')], {
      cwd: ROOT,
      env: {
        ...process.env,
        CONSOLE_PORT: '0',
        CONSOLE_UPSTREAMS: JSON.stringify(Object.fromEntries(SERVICES.map((s) => [s, platform.url(s)]))),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    origin = await new Promise<string>((resolve, reject) => {
      let out = '';
      server!.stdout!.on('data', (d) => {
        out += d.toString();
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      server!.once('exit', (c) => reject(new Error(`console server exited with ${c}: ${out}`)));
    });

    admin = await loginAt(platform, 'admin', platform.adminPassword);
    const root = (await api('identity', 'GET', '/api/v1/auth/me', admin)).body.organizationCode;
    for (const [code, name] of [
      [SENDER, 'Tỉnh ủy Hà Giang'],
      [RECEIVER, 'Tỉnh ủy Điện Biên'],
    ]) {
      const r = await api('identity', 'POST', '/api/v1/organizations', admin, {
        code,
        name,
        parentCode: root,
        level: 'province',
        sector: 'party',
        zone: 'party-wan',
      });
      expect(r.status).toBe(201);
    }
    for (const [username, org, roles] of [
      ['console.clerk.a', SENDER, ['clerk']],
      ['console.clerk.b', RECEIVER, ['clerk']],
      ['console.auditor', root, ['auditor']],
      ['console.leader.a', SENDER, ['leader']],
      ['console.operator', root, ['operator']],
    ] as const) {
      const r = await api('identity', 'POST', '/api/v1/users', admin, {
        username,
        fullName: username,
        password,
        organizationCode: org,
        roles,
      });
      expect(r.status).toBe(201);
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    if (server && server.exitCode === null) {
      const done = new Promise((r) => server!.once('exit', r));
      server.kill('SIGTERM');
      await done;
    }
    await platform.stop();
    await axis.stop();
  });

  async function signIn(
    username: string,
    pass = password,
    viewport = { width: 1280, height: 900 },
  ): Promise<Page> {
    const page = await browser.newPage({ viewport });
    await page.goto(`${origin}/`);
    await page.locator('#username').fill(username);
    await page.locator('#password').fill(pass);
    await page.getByRole('button', { name: 'Đăng nhập' }).click();
    await page.getByTestId('whoami').filter({ hasText: username }).waitFor();
    return page;
  }

  async function signOut(page: Page): Promise<void> {
    await page.keyboard.press('Escape'); // closes an open drawer or dialog
    await page.getByRole('button', { name: 'Đăng xuất' }).click();
    await page.locator('#username').waitFor();
    await page.close();
  }

  it('serves the console and routes the API by path on one origin (no CORS)', async () => {
    const index = await fetch(`${origin}/documents?direction=incoming`);
    expect(index.status).toBe(200);
    expect(await index.text()).toContain('<div id="root">');
    const jwks = await fetch(`${origin}/.well-known/jwks.json`);
    expect(jwks.status).toBe(200);
    expect(((await jwks.json()) as { keys: unknown[] }).keys.length).toBeGreaterThan(0);
    const unauth = await fetch(`${origin}/api/v1/documents`);
    expect(unauth.status).toBe(401);
    // Each prefix reaches the service that owns it (any other service answers 404 for it).
    for (const path of [
      '/api/v1/users',
      '/api/v1/organizations',
      '/api/v1/documents',
      '/api/v1/registers/incoming?year=2026',
      '/api/v1/exchanges',
      '/api/v1/audit/checkpoint',
    ]) {
      const r = await fetch(`${origin}${path}`, { headers: { Authorization: `Bearer ${admin}` } });
      expect({ path, status: r.status }).toEqual({ path, status: 200 });
    }
    expect((await fetch(`${origin}/api/v1/nothing`)).status).toBe(404);
    const ready = await fetch(`${origin}/health/audit/ready`);
    expect(ready.status).toBe(200);
  });

  it('a clerk composes and sends a signed document; the recipient accepts it; the sender sees 03, downloads the register, recalls (15)', async () => {
    const subject = `Về việc triển khai số hóa ${Date.now()}`;
    const page = await signIn('console.clerk.a');
    await page.goto(`${origin}/documents/new`);
    await page.locator('#number').fill(String(Date.now() % 100000));
    await page.locator('#notation').fill('CV-TU');
    await page.locator('#subject').fill(subject);
    await page.locator('#signerPosition').fill('Bí thư');
    await page.locator('#signerName').fill('Nguyễn Văn A');
    // Recipients from the organization tree, found by a search without diacritics.
    await page.locator('#recipients').click();
    await page.keyboard.type('dien bien');
    await page.locator('.ant-select-tree-title', { hasText: 'Tỉnh ủy Điện Biên' }).click();
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Lưu và đính kèm tệp' }).click();

    // ASCII subject: the test PKI helper writes names as PrintableString.
    const signer = makeSigner('Nguyen Van A', ca);
    await page.locator('input[type=file]').setInputFiles({
      name: 'cong-van.pdf',
      mimeType: 'application/pdf',
      buffer: signPdf(minimalPdf('Công văn'), signer),
    });
    const verdict = page.getByTestId('signature-verdict');
    await verdict.waitFor();
    expect(await verdict.innerText()).toMatch(/Chữ ký hợp lệ, tin cậy/);
    expect(await verdict.innerText()).toContain('Nguyen Van A');
    await page.screenshot({ path: join(SHOTS, 'compose.png'), fullPage: true, animations: 'disabled' });
    await expectAccessible(page, 'compose (attachment verified)');
    await page.getByTestId('send').click();
    await page.waitForURL(/\/documents\/[0-9a-f-]{36}$/);
    const documentUrl = page.url();
    await page.getByTestId('recipients-table').getByText(RECEIVER).waitFor();
    await signOut(page);

    // The receiving clerk finds it in the inbox (searching without diacritics) and accepts it.
    const inbox = await signIn('console.clerk.b');
    await until(
      async () => {
        await inbox.goto(
          `${origin}/documents?direction=incoming&q=${encodeURIComponent('trien khai so hoa')}`,
        );
        await inbox.locator('.ant-table-row, .ant-empty').first().waitFor();
        return (await inbox.getByRole('link', { name: /CV-TU/ }).count()) > 0;
      },
      'the document in the inbox',
      60_000,
    );
    await inbox.locator('.ant-spin-spinning, .ant-spin-blur').first().waitFor({ state: 'detached' });
    await inbox.screenshot({ path: join(SHOTS, 'inbox.png'), fullPage: true, animations: 'disabled' });
    await inbox.getByRole('link', { name: /CV-TU/ }).first().click();
    await inbox.getByTestId('accept').waitFor();
    await expectAccessible(inbox, 'the document page (recipient)');
    await inbox.getByTestId('accept').click();
    await inbox.locator('[data-status="accepted"]').first().waitFor();
    await signOut(inbox);

    // The sender's per-recipient timeline shows 03.
    const back = await signIn('console.clerk.a');
    await until(
      async () => {
        await back.goto(documentUrl);
        await back.getByTestId('recipients-table').waitFor();
        return (await back.getByTestId('recipients-table').locator('[data-status="accepted"]').count()) > 0;
      },
      'status 03 at the sender',
      60_000,
    );
    expect(await back.getByTestId('recipients-table').innerText()).toContain('03');
    // The recipient's status history (timeline): queued, arrived 01, accepted 03, in that order.
    await back
      .getByTestId('recipients-table')
      .locator('tr', { hasText: RECEIVER })
      .locator('.ant-table-row-expand-icon')
      .click();
    const history = back.getByTestId(`status-history-${RECEIVER}`);
    await history.locator('[data-history-status="accepted"]').waitFor();
    expect(
      await history
        .locator('[data-history-status]')
        .evaluateAll((els) => els.map((e) => e.getAttribute('data-history-status'))),
    ).toEqual(['queued', 'arrived', 'accepted']);
    await back.screenshot({ path: join(SHOTS, 'timeline.png'), fullPage: true, animations: 'disabled' });
    await expectAccessible(back, 'the document page (sender, history open)');

    // The outgoing register of the year downloads as CSV and lists the document.
    await back.goto(`${origin}/registers`);
    await back.getByRole('tab', { name: 'Sổ văn bản đi' }).click();
    await back.getByText('CV-TU').first().waitFor();
    const [download] = await Promise.all([
      back.waitForEvent('download'),
      back.getByRole('button', { name: 'Tải CSV' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(
      `outgoing-register-${new Date(Date.now() + 7 * 3_600_000).getUTCFullYear()}.csv`,
    );
    const csvPath = join(work, 'register.csv');
    await download.saveAs(csvPath);
    expect(readFileSync(csvPath, 'utf8')).toContain('CV-TU');

    // Recall: the recipient had not completed it, so it agrees (15).
    await back.goto(documentUrl);
    await back.getByRole('button', { name: 'Thu hồi' }).click();
    await back.getByRole('dialog').locator('textarea').fill('Ban hành nhầm');
    await back.getByRole('button', { name: 'Xác nhận' }).click();
    await until(
      async () => {
        await back.goto(documentUrl);
        await back.getByTestId('recipients-table').waitFor();
        return (
          (await back.getByTestId('recipients-table').locator('[data-status="recall-agreed"]').count()) > 0
        );
      },
      'the recall answered 15',
      60_000,
    );
    expect(await back.getByTestId('recipients-table').innerText()).toContain('15');
    await signOut(back);
  });

  it('a clerk keeps a recipient group and sends a document to it; the expansion shows as its recipients', async () => {
    const page = await signIn('console.clerk.a');
    await page.goto(`${origin}/recipient-groups`);
    await page.getByTestId('new-group').click();
    await page.locator('#group-name').fill('Các tỉnh ủy bạn');
    await page.locator('#group-members').click();
    await page.keyboard.type('dien bien');
    await page.locator('.ant-select-tree-title', { hasText: 'Tỉnh ủy Điện Biên' }).click();
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').getByRole('button', { name: 'Lưu' }).click();
    await page.getByTestId('groups-table').getByText('Các tỉnh ủy bạn').waitFor();

    const subject = `Gửi theo nhóm nơi nhận ${Date.now()}`;
    await page.goto(`${origin}/documents/new`);
    await page.locator('#number').fill(String((Date.now() % 100000) + 1));
    await page.locator('#notation').fill('TB-TU');
    await page.locator('#subject').fill(subject);
    await page.locator('#signerPosition').fill('Bí thư');
    await page.locator('#signerName').fill('Nguyễn Văn A');
    // No single recipient: only the group.
    await page.locator('#recipientGroups').click();
    await page.locator('.ant-select-item-option', { hasText: 'Các tỉnh ủy bạn' }).click();
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Lưu và đính kèm tệp' }).click();
    await page.getByTestId('send').click();
    await page.waitForURL(/\/documents\/[0-9a-f-]{36}$/);
    await page.getByTestId('recipients-table').getByText(RECEIVER).waitFor();
    expect(await page.locator('.ant-descriptions').innerText()).toContain('Nhóm nơi nhận');
    await signOut(page);
  });

  it('an auditor verifies an inclusion proof in the browser against the signed checkpoint', async () => {
    const auditor = await loginAt(platform, 'console.auditor', password);
    // Wait until the latest signed checkpoint covers the auditor's first visible event.
    const first = await until<{ leafIndex: number }>(async () => {
      const ev = await api('audit', 'GET', '/api/v1/audit/events?limit=1', auditor);
      const cp = await api('audit', 'GET', '/api/v1/audit/checkpoint', auditor);
      const e = ev.body.items?.[0];
      return e && cp.body.treeSize > e.leafIndex ? e : undefined;
    }, 'a checkpoint covering an event');
    const page = await signIn('console.auditor');
    await page.goto(`${origin}/audit`);
    await page.getByTestId(`proof-${first.leafIndex}`).click();
    await page.getByTestId('verify-proof').click();
    const verdict = page.getByTestId('proof-verdict');
    await verdict.waitFor();
    expect(await verdict.innerText()).toContain(
      'Đã xác minh: sự kiện nằm trong nhật ký có điểm kiểm tra đã ký.',
    );
    for (const step of ['leaf', 'path', 'root', 'signature'])
      expect(await page.locator(`[data-step="${step}"]`).getAttribute('data-ok')).toBe('true');
    await page.screenshot({ path: join(SHOTS, 'audit-proof.png'), fullPage: true, animations: 'disabled' });
    await signOut(page);
  });

  it('logs in with a TOTP code when the account has one, refreshes silently and revokes on logout', async () => {
    const created = await api('identity', 'POST', '/api/v1/users', admin, {
      username: 'console.totp',
      fullName: 'console.totp',
      password,
      organizationCode: SENDER,
      roles: ['clerk'],
    });
    expect(created.status).toBe(201);
    const token = await loginAt(platform, 'console.totp', password);
    const enrol = await api('identity', 'POST', '/api/v1/users/me/totp', token);
    expect(enrol.status).toBe(200);
    const enrolled = await totpCode(enrol.body.secret);
    const confirm = await api('identity', 'POST', '/api/v1/users/me/totp/confirm', token, {
      otp: enrolled.code,
    });
    expect(confirm.status).toBe(200);

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${origin}/`);
    await page.locator('#username').fill('console.totp');
    await page.locator('#password').fill(password);
    await page.getByRole('button', { name: 'Đăng nhập' }).click();
    // The server asks for the code; the page shows the field. A code of a later step than the one that
    // confirmed the enrolment (a code is good for its own 30 s step only, and is not to be used twice).
    await page.locator('#otp').waitFor();
    await page.locator('#otp').fill((await totpCode(enrol.body.secret, enrolled.step)).code);
    await page.getByRole('button', { name: 'Đăng nhập' }).click();
    await page.getByTestId('whoami').filter({ hasText: 'console.totp' }).waitFor();

    // A reload keeps the session through the refresh token (the access token lives only in memory).
    const before = await page.evaluate<string | null>("sessionStorage.getItem('lienthong.refresh')");
    await page.reload();
    await page.getByTestId('whoami').filter({ hasText: 'console.totp' }).waitFor();
    const after = await page.evaluate<string | null>("sessionStorage.getItem('lienthong.refresh')");
    expect(before).toBeTruthy();
    expect(after).toBeTruthy();
    expect(after).not.toBe(before); // refresh tokens rotate

    // Logout revokes: the refresh token the page held no longer works.
    await signOut(page);
    const reuse = await api('identity', 'POST', '/api/v1/auth/token', undefined, {
      grant_type: 'refresh_token',
      refresh_token: after,
    });
    expect(reuse.status).toBe(401);
  });

  it('a leader sees the programme indicators of the office that sent the document', async () => {
    const page = await signIn('console.leader.a');
    await page.goto(`${origin}/indicators`);
    await page.locator('canvas').first().waitFor();
    const electronic = page.locator('.ant-statistic').filter({ hasText: 'Tỷ lệ gửi điện tử' });
    await electronic.getByText('100.0 %').waitFor();
    await page.screenshot({
      path: join(SHOTS, 'leader-indicators.png'),
      fullPage: true,
      animations: 'disabled',
    });
    await signOut(page);
  });

  it('an operator sees the national axis link (circuit, last poll, queue) and the federation nodes', async () => {
    const page = await signIn('console.operator');
    await page.getByRole('menuitem', { name: 'Trục quốc gia' }).click();
    await page.getByRole('heading', { name: 'Trục liên thông quốc gia' }).waitFor();
    await page.getByTestId('axis-circuit').filter({ hasText: 'Đóng (bình thường)' }).waitFor();
    // The page refreshes itself: the bus polls the simulated axis every 500 ms.
    await until(
      async () => {
        const text = await page.getByTestId('axis-last-poll').innerText();
        return text.trim() !== '' && text !== 'chưa có';
      },
      'a poll of the national axis shown',
      60_000,
    );
    for (const state of ['queued', 'failed', 'dead'])
      expect(await page.getByTestId('axis-queue').innerText()).toContain(state);
    await page.screenshot({ path: join(SHOTS, 'national-axis.png'), fullPage: true, animations: 'disabled' });

    await page.getByRole('menuitem', { name: 'Các nút liên thông' }).click();
    await page.getByRole('heading', { name: 'Các nút liên thông' }).waitFor();
    await page.getByTestId('federation-node').filter({ hasText: 'central' }).waitFor();
    await page.getByTestId('federation-table').waitFor();
    expect(await page.locator('.ant-alert-error').count()).toBe(0);
    await page.screenshot({ path: join(SHOTS, 'federation.png'), fullPage: true, animations: 'disabled' });
    await signOut(page);
  });

  it('an operator finds a dead national-axis exchange, reads its trace and retries it; it is then sent', async () => {
    const AGENCY = '000.00.31.H55';
    const root = (await api('identity', 'GET', '/api/v1/auth/me', admin)).body.organizationCode;
    const org = await api('identity', 'POST', '/api/v1/organizations', admin, {
      code: AGENCY,
      name: 'Sở Nội vụ (thử)',
      parentCode: root,
      level: 'province',
      sector: 'state',
      zone: 'internet',
    });
    expect(org.status).toBe(201);
    const clerk = await loginAt(platform, 'console.clerk.a', password);
    const operator = await loginAt(platform, 'console.operator', password);
    const axisUrl = busEnv.NATIONAL_AXIS_URL;
    expect((await fetch(`${axisUrl}/_sim/down`, { method: 'POST' })).status).toBe(200);
    let documentId = '';
    try {
      const created = await api('documents', 'POST', '/api/v1/documents', clerk, {
        number: String(Date.now() % 100000),
        notation: 'CV-DEAD',
        type: 'CV',
        subject: 'Gửi trục quốc gia khi trục ngừng',
        promulgationDate: new Date().toISOString().slice(0, 10),
        signer: { position: 'Bí thư', fullName: 'Nguyễn Văn A' },
        secrecy: 'none',
        urgency: 'normal',
        recipients: [AGENCY],
      });
      expect(created.status).toBe(201);
      documentId = created.body.id;
      expect((await api('documents', 'POST', `/api/v1/documents/${documentId}/send`, clerk)).status).toBe(
        202,
      );
      await until(
        async () => {
          const r = await api(
            'integration-bus',
            'GET',
            `/api/v1/exchanges?documentId=${documentId}`,
            operator,
          );
          return r.body.items?.some((e: { state: string }) => e.state === 'dead');
        },
        'the national-axis exchange dead while the axis is down',
        90_000,
      );
    } finally {
      await fetch(`${axisUrl}/_sim/up`, { method: 'POST' });
    }

    const page = await signIn('console.operator');
    await page.goto(`${origin}/exchanges`);
    await page.getByRole('heading', { level: 2 }).first().waitFor();
    const search = page.getByRole('searchbox', { name: 'Mã văn bản' });
    await search.fill(documentId);
    await search.press('Enter');
    const row = page.locator('.ant-table-row').filter({ hasText: 'dead' });
    await row.first().waitFor();
    await row.first().getByRole('button').first().click();
    const drawer = page.getByRole('dialog');
    await drawer.getByText('national-axis').first().waitFor();
    await drawer.getByText('dead', { exact: true }).first().waitFor();
    await page.screenshot({ path: join(SHOTS, 'exchange-dead.png'), fullPage: true, animations: 'disabled' });
    await drawer.getByTestId('retry').click();
    await page.getByText('Đã xếp lại vào hàng gửi.').waitFor();
    await until(
      async () => {
        const r = await api('integration-bus', 'GET', `/api/v1/exchanges?documentId=${documentId}`, operator);
        return r.body.items?.every((e: { state: string }) => e.state === 'sent' || e.state === 'delivered');
      },
      'the retried exchange sent to the national axis',
      90_000,
    );
    await signOut(page);
  });

  it('an admin lists connected systems, rotates one (the new secret shown once) and deletes it', async () => {
    const page = await signIn('admin', platform.adminPassword);
    await page.goto(`${origin}/admin/clients`);
    const name = `QLVB e2e ${Date.now()}`;
    await page.locator('#client-name').fill(name);
    await page.getByRole('button', { name: 'Tạo' }).click();
    const first = await page.getByTestId('client-secret').innerText();
    await page.getByRole('button', { name: 'Tôi đã lưu lại' }).click();
    const row = page.getByTestId('clients-table').locator('tr', { hasText: name });
    await row.waitFor();
    // The list never carries a secret.
    expect(await page.getByTestId('clients-table').innerText()).not.toContain(first);
    await row.getByRole('button', { name: 'Đổi khóa bí mật' }).click();
    const second = page.getByTestId('client-secret');
    await second.filter({ hasNotText: first }).waitFor();
    expect((await second.innerText()).length).toBeGreaterThan(20);
    await page.getByRole('button', { name: 'Tôi đã lưu lại' }).click();
    await row.getByText('khóa cũ còn dùng đến').waitFor();
    await page.screenshot({ path: join(SHOTS, 'clients.png'), fullPage: true, animations: 'disabled' });
    await row.getByRole('button', { name: 'Xóa' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Xóa' }).click();
    await row.waitFor({ state: 'detached' });
    await signOut(page);
  });

  it('every page opens for the system-admin without an error or a serious accessibility violation (axe-core), in Vietnamese and in English, and on a tablet', async () => {
    // Every page's serious or critical axe-core violations, collected so that one run lists them all.
    const inaccessible: string[] = [];
    const login = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await login.goto(`${origin}/login`);
    await login.locator('#username').waitFor();
    inaccessible.push(describeViolations('/login', await seriousAxeViolations(login)));
    await login.close();

    const page = await signIn('admin', platform.adminPassword);
    const paths = [
      '/documents?direction=incoming',
      '/documents?direction=outgoing',
      '/documents/new',
      '/registers',
      '/recipient-groups',
      '/indicators',
      '/exchanges',
      '/health',
      '/national-axis',
      '/federation',
      '/audit',
      '/admin/organizations',
      '/admin/users',
      '/admin/clients',
      '/admin/keys',
    ];
    for (const path of paths) {
      await page.goto(`${origin}${path}`);
      await page.locator('main h2').waitFor();
      await page.waitForLoadState('networkidle');
      expect({ path, errors: await page.locator('.ant-alert-error').allInnerTexts() }).toEqual({
        path,
        errors: [],
      });
      await page.screenshot({
        path: join(SHOTS, `${path.slice(1).replace(/[/?=]/g, '-')}.png`),
        fullPage: true,
      });
      inaccessible.push(describeViolations(path, await seriousAxeViolations(page)));
    }
    expect(inaccessible.filter(Boolean).join('\n')).toBe('');
    await page.goto(`${origin}/health`);
    for (const s of SERVICES) await page.getByTestId(`health-${s}`).filter({ hasText: 'Sẵn sàng' }).waitFor();
    // The English toggle.
    await page.getByText('EN', { exact: true }).click();
    await page.goto(`${origin}/documents?direction=incoming`);
    await page.getByRole('heading', { name: 'Inbox' }).waitFor();
    await page.getByText('VI', { exact: true }).click();
    await page.getByRole('heading', { name: 'Văn bản đến' }).waitFor();
    await signOut(page);
    // A tablet in portrait: the menu folds to icons and the page still fits.
    const tablet = await signIn('admin', platform.adminPassword, { width: 768, height: 1024 });
    await tablet.goto(`${origin}/documents?direction=incoming`);
    await tablet.locator('main h2').waitFor();
    // Evaluated in the page (the test's own typings have no DOM).
    const overflow = await tablet.evaluate<number>(
      'document.documentElement.scrollWidth - window.innerWidth',
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await tablet.screenshot({ path: join(SHOTS, 'tablet-inbox.png') });
    await signOut(tablet);
  });
});
