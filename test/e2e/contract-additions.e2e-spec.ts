import { verifyWebhookSignature, WebhookReceiver } from '@lienthong/testing';
import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { type ApiResponse, until } from './support/api';
import { PlatformProcesses, SERVICES } from './support/platform-processes';

const ROOT = join(__dirname, '..', '..');

jest.setTimeout(240_000);

/**
 * API.md "Additions of 2026-11-30" as an outside integrator sees it: every call goes through the one origin
 * (scripts/console-server.mjs in front of the four real services) and asserts the contract's exact shapes:
 * error body, list shape and limits, groups, update/replace/recall reaching a recipient's webhook, empty query
 * parameters, the report's default year. (Behaviour already proven elsewhere — group expansion, update
 * history details, revocation, sender mismatch — is not repeated here.)
 */
describe('the additions of 2026-11-30, through the one origin', () => {
  const platform = new PlatformProcesses({
    documents: {
      SUBSCRIPTIONS_RETRY_BASE_MS: '100',
      SUBSCRIPTIONS_RETRY_MAX_MS: '1000',
      // The test's receivers listen on loopback, which webhooks may reach only when allowed.
      SUBSCRIPTIONS_ALLOW_PRIVATE: '127.0.0.1/32',
    },
  });
  const A = '000.31.00.P31';
  const B = '000.32.00.P32';
  const C = '000.33.00.P33';
  const password = 'Contract-e2e-Passw0rd!';
  const tokens: Record<string, string> = {};
  let origin = '';
  let server: ChildProcess | undefined;
  let admin = '';
  let receiver: WebhookReceiver;
  let lastNumber = 500;

  async function call(method: string, path: string, token?: string, body?: unknown): Promise<ApiResponse> {
    const r = await fetch(`${origin}${path}`, {
      method,
      headers: {
        'Content-Type': 'application/json',
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    try {
      return { status: r.status, body: JSON.parse(text) };
    } catch {
      return { status: r.status, body: text };
    }
  }

  async function login(username: string): Promise<string> {
    const r = await call('POST', '/api/v1/auth/token', undefined, {
      grant_type: 'password',
      username,
      password: username === 'admin' ? platform.adminPassword : password,
    });
    expect(r.status).toBe(200);
    return r.body.access_token;
  }

  /** The error shape of "Common rules": exactly these keys (fields on 400). */
  function expectError(r: ApiResponse, status: number, code?: string): void {
    expect(r.status).toBe(status);
    expect(r.body).toMatchObject({
      statusCode: status,
      error: expect.any(String),
      code: code ?? expect.any(String),
      message: expect.any(String),
      correlationId: expect.any(String),
    });
    expect(JSON.stringify(r.body)).not.toMatch(/\bat .+\.(js|ts):\d+/);
  }

  const document = (over: Record<string, unknown> = {}) => ({
    number: String(++lastNumber),
    notation: 'CV/TU',
    type: 'CV',
    subject: `Văn bản hợp đồng ${lastNumber}`,
    promulgationDate: '2026-11-30',
    signer: { position: 'Chánh Văn phòng', fullName: 'Lê Văn C' },
    secrecy: 'none',
    urgency: 'normal',
    recipients: [B],
    ...over,
  });

  async function sendToB(over: Record<string, unknown> = {}): Promise<{ id: string; copy: string }> {
    const body = document(over);
    const created = await call('POST', '/api/v1/documents', tokens.a, body);
    expect(created.status).toBe(201);
    expect((await call('POST', `/api/v1/documents/${created.body.id}/send`, tokens.a)).status).toBe(202);
    const copy = await until(async () => {
      const r = await call('GET', '/api/v1/documents?direction=incoming&limit=500', tokens.b);
      return r.body.items?.find((d: { subject: string }) => d.subject === body.subject)?.id as string;
    }, `B's copy of ${body.subject}`);
    return { id: created.body.id, copy };
  }

  beforeAll(async () => {
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
    admin = await login('admin');
    const root = (await call('GET', '/api/v1/auth/me', admin)).body.organizationCode;
    for (const code of [A, B, C]) {
      const r = await call('POST', '/api/v1/organizations', admin, {
        code,
        name: `Tỉnh ủy ${code}`,
        parentCode: root,
        level: 'province',
        sector: 'party',
        zone: 'party-wan',
      });
      expect(r.status).toBe(201);
    }
    for (const [username, org, roles] of [
      ['k.a', A, ['clerk']],
      ['k.b', B, ['clerk']],
      ['k.c', C, ['clerk']],
      ['k.auditor', A, ['auditor']],
    ] as const) {
      const r = await call('POST', '/api/v1/users', admin, {
        username,
        fullName: username,
        password,
        organizationCode: org,
        roles,
      });
      expect(r.status).toBe(201);
      tokens[username.slice(2)] = await login(username);
    }
    receiver = await new WebhookReceiver().start();
  });

  afterAll(async () => {
    server?.kill('SIGTERM');
    await receiver?.close();
    await platform.stop();
  });

  it('routes every prefix of the one origin to its service', async () => {
    expect((await call('GET', '/.well-known/jwks.json')).body.keys).toEqual(expect.any(Array));
    for (const path of [
      '/api/v1/organizations?limit=1',
      '/api/v1/users?limit=1',
      '/api/v1/documents?limit=1',
      '/api/v1/registers/outgoing?year=2026',
      '/api/v1/reports/exchange',
      '/api/v1/exchanges?limit=1',
      '/api/v1/audit/events?limit=1',
    ]) {
      const r = await call('GET', path, admin);
      expect([path, r.status]).toEqual([path, 200]);
    }
    // Groups and subscriptions belong to a clerk's organization.
    for (const path of ['/api/v1/recipient-groups', '/api/v1/subscriptions']) {
      const r = await call('GET', path, tokens.a);
      expect([path, r.status]).toEqual([path, 200]);
    }
    // The bus answers /api/v1/edxml (a non-exchange caller is refused there, not 404 from the origin).
    expect((await call('POST', '/api/v1/edxml', tokens.a, {})).status).toBe(403);
    // A path no service serves is a 404 in the error shape, from the origin or from the service.
    expectError(await call('GET', '/api/v1/nothing-here', admin), 404, 'ROUTE_NOT_FOUND');
    expectError(await call('GET', '/api/v1/documents/a/b/c/d', tokens.a), 404);
    // Without a token: 401 in the error shape, from whichever service owns the path.
    for (const path of ['/api/v1/recipient-groups', '/api/v1/subscriptions', '/api/v1/exchanges']) {
      expectError(await call('GET', path), 401);
    }
  });

  it('keeps recipient groups per organization with the exact shapes', async () => {
    const created = await call('POST', '/api/v1/recipient-groups', tokens.a, {
      name: 'Các tỉnh ủy bạn',
      members: [B, C],
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual(
      expect.objectContaining({ id: expect.any(String), name: 'Các tỉnh ủy bạn', members: [B, C] }),
    );
    const id = created.body.id;
    const list = await call('GET', '/api/v1/recipient-groups', tokens.a);
    expect(list.status).toBe(200);
    expect(Object.keys(list.body).sort()).toEqual(['items', 'nextCursor']);
    expect(list.body.items).toEqual([
      expect.objectContaining({ id, name: 'Các tỉnh ủy bạn', members: [B, C] }),
    ]);
    expect(list.body.nextCursor).toBeNull();
    const one = await call('GET', `/api/v1/recipient-groups/${id}`, tokens.a);
    expect(one.body).toEqual(expect.objectContaining({ id, name: 'Các tỉnh ủy bạn', members: [B, C] }));
    const put = await call('PUT', `/api/v1/recipient-groups/${id}`, tokens.a, {
      name: 'Tỉnh ủy B',
      members: [B],
    });
    expect(put.status).toBe(200);
    expect(put.body).toEqual(expect.objectContaining({ id, name: 'Tỉnh ủy B', members: [B] }));
    // Another organization's id is unknown to the caller: 404 in the error shape, for every verb.
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const r = await call(
        method,
        `/api/v1/recipient-groups/${id}`,
        tokens.b,
        method === 'PUT' ? { name: 'x', members: [C] } : undefined,
      );
      expectError(r, 404);
    }
    // A malformed id is not a 500.
    expect((await call('GET', '/api/v1/recipient-groups/not-an-id', tokens.a)).status).toBeLessThan(500);
    const bad = await call('POST', '/api/v1/recipient-groups', tokens.a, { members: [B] });
    expectError(bad, 400);
    expect(bad.body.fields).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'name' })]));

    // A document to the group arrives at B.
    const sent = await sendToB({ recipients: [], recipientGroups: [id] });
    expect(sent.copy).toEqual(expect.any(String));
    const view = await call('GET', `/api/v1/documents/${sent.id}`, tokens.a);
    expect(view.body.recipients.map((r: { organizationCode: string }) => r.organizationCode)).toEqual([B]);
    expect(view.body.recipientCounts).toMatchObject({ total: 1 });
    expect((await call('DELETE', `/api/v1/recipient-groups/${id}`, tokens.a)).status).toBe(204);
    expectError(await call('GET', `/api/v1/recipient-groups/${id}`, tokens.a), 404);
  });

  it('pages recipients with the list shape, limits 1..500, and hides them from other organizations', async () => {
    const created = await call('POST', '/api/v1/documents', tokens.a, document({ recipients: [B, C] }));
    expect(created.status).toBe(201);
    const id = created.body.id;
    const first = await call('GET', `/api/v1/documents/${id}/recipients?limit=1`, tokens.a);
    expect(first.status).toBe(200);
    expect(Object.keys(first.body).sort()).toEqual(['items', 'nextCursor']);
    expect(first.body.items).toHaveLength(1);
    expect(first.body.items[0]).toMatchObject({
      organizationCode: expect.any(String),
      status: expect.any(String),
    });
    const second = await call(
      'GET',
      `/api/v1/documents/${id}/recipients?limit=1&cursor=${encodeURIComponent(first.body.nextCursor)}`,
      tokens.a,
    );
    expect(second.body.items).toHaveLength(1);
    expect([first.body.items[0].organizationCode, second.body.items[0].organizationCode].sort()).toEqual([
      B,
      C,
    ]);
    // Empty parameters mean absent: the default limit.
    const empty = await call('GET', `/api/v1/documents/${id}/recipients?limit=&cursor=`, tokens.a);
    expect(empty.status).toBe(200);
    expect(empty.body.items).toHaveLength(2);
    const tooMany = await call('GET', `/api/v1/documents/${id}/recipients?limit=501`, tokens.a);
    expectError(tooMany, 400);
    expect(tooMany.body.fields).toEqual(
      expect.arrayContaining([expect.objectContaining({ field: 'limit' })]),
    );
    expect((await call('GET', `/api/v1/documents/${id}/recipients?limit=500`, tokens.a)).status).toBe(200);
    expectError(await call('GET', `/api/v1/documents/${id}/recipients`, tokens.c), 404);
    expectError(await call('GET', `/api/v1/documents/${id}`, tokens.c), 404);
    // Lists elsewhere keep the same limits.
    for (const path of ['/api/v1/documents', '/api/v1/recipient-groups', '/api/v1/subscriptions']) {
      const r = await call('GET', `${path}?limit=501`, tokens.a);
      expect([path, r.status]).toEqual([path, 400]);
      const ok = await call('GET', `${path}?limit=500`, tokens.a);
      expect([path, ok.status]).toEqual([path, 200]);
    }
  });

  it('keeps the list shape and limits (default 50, max 500) on every service', async () => {
    for (const [path, token] of [
      ['/api/v1/organizations', () => admin],
      ['/api/v1/users', () => admin],
      ['/api/v1/exchanges', () => admin],
      ['/api/v1/audit/events', () => tokens.auditor],
      ['/api/v1/documents', () => tokens.a],
    ] as const) {
      const tooMany = await call('GET', `${path}?limit=501`, token());
      expect([path, tooMany.status]).toEqual([path, 400]);
      expectError(tooMany, 400);
      expect(tooMany.body.fields).toEqual(
        expect.arrayContaining([expect.objectContaining({ field: 'limit' })]),
      );
      expect([path, (await call('GET', `${path}?limit=0`, token())).status]).toEqual([path, 400]);
      const ok = await call('GET', `${path}?limit=500`, token());
      expect([path, ok.status]).toEqual([path, 200]);
      expect([path, Object.keys(ok.body).sort()]).toEqual([path, ['items', 'nextCursor']]);
    }
    // Not allowed is 403 in the error shape: an auditor keeps no groups and no subscriptions.
    expectError(
      await call('POST', '/api/v1/recipient-groups', tokens.auditor, { name: 'x', members: [B] }),
      403,
    );
    expectError(
      await call('POST', '/api/v1/subscriptions', tokens.auditor, {
        url: 'http://127.0.0.1:9/x',
        events: ['document.incoming'],
      }),
      403,
    );
  });

  it('answers a second registration of the same number and notation with 409 DOCUMENT_NUMBER_TAKEN', async () => {
    const body = document();
    expect((await call('POST', '/api/v1/documents', tokens.a, body)).status).toBe(201);
    expectError(await call('POST', '/api/v1/documents', tokens.a, body), 409, 'DOCUMENT_NUMBER_TAKEN');
    // Another office may use the same number.
    expect((await call('POST', '/api/v1/documents', tokens.c, { ...body, recipients: [A] })).status).toBe(
      201,
    );
  });

  it('treats empty query parameters as absent and reports the current year by default', async () => {
    const lists = [
      '/api/v1/documents?direction=&status=&q=&from=&to=',
      '/api/v1/documents?limit=&cursor=',
      '/api/v1/recipient-groups?limit=&cursor=',
      '/api/v1/subscriptions?limit=&cursor=',
    ];
    for (const path of lists) {
      const r = await call('GET', path, tokens.a);
      expect([path, r.status]).toEqual([path, 200]);
      expect(r.body).toEqual({ items: expect.any(Array), nextCursor: null });
    }
    for (const path of [
      '/api/v1/audit/events?action=&actor=&organizationCode=&resourceId=&from=&to=&limit=&cursor=',
    ]) {
      const r = await call('GET', path, tokens.auditor);
      expect([path, r.status]).toEqual([path, 200]);
      expect(r.body.items.length).toBeGreaterThan(0);
    }
    const exported = await call('GET', '/api/v1/audit/export?from=&to=', tokens.auditor);
    expect(exported.status).toBe(200);
    const register = await call('GET', `/api/v1/registers/outgoing?year=2026&format=`, tokens.a);
    expect(register.status).toBe(200);
    expect(register.body.items).toEqual(expect.any(Array));
    for (const path of [
      '/api/v1/exchanges?state=&documentId=&organizationCode=&limit=',
      '/api/v1/organizations?parentCode=&level=&sector=&q=&limit=',
      '/api/v1/users?organizationCode=&limit=',
    ]) {
      const r = await call('GET', path, admin);
      expect([path, r.status]).toEqual([path, 200]);
    }
    const withoutDates = await call('GET', '/api/v1/reports/exchange', tokens.a);
    expect(withoutDates.status).toBe(200);
    expect(withoutDates.body).toMatchObject({ totals: expect.any(Object), organizations: expect.any(Array) });
    const year = new Date(Date.now() + 7 * 3_600_000).getUTCFullYear(); // the server's year is Vietnam's
    const explicit = await call(
      'GET',
      `/api/v1/reports/exchange?from=${year}-01-01&to=${year}-12-31`,
      tokens.a,
    );
    expect(explicit.status).toBe(200);
    expect(withoutDates.body.totals).toEqual(explicit.body.totals);
    const emptyDates = await call('GET', '/api/v1/reports/exchange?from=&to=&organizationCode=', tokens.a);
    expect(emptyDates.status).toBe(200);
    expect(emptyDates.body.totals).toEqual(explicit.body.totals);
    const badDate = await call('GET', '/api/v1/reports/exchange?from=tomorrow', tokens.a);
    expectError(badDate, 400);
    expect(badDate.body.fields).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'from' })]));
  });

  it('subscriptions: exact shapes, validation, and every event type reaching the recipient, signed', async () => {
    const bad = await call('POST', '/api/v1/subscriptions', tokens.b, {
      url: 'not a url',
      events: ['doc.x'],
    });
    expectError(bad, 400);
    expect(bad.body.fields.map((f: { field: string }) => f.field)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^url/), expect.stringMatching(/^events/)]),
    );
    const events = [
      'document.incoming',
      'document.status',
      'document.recalled',
      'document.updated',
      'document.replaced',
    ];
    const created = await call('POST', '/api/v1/subscriptions', tokens.b, { url: receiver.url, events });
    expect(created.status).toBe(201);
    expect(created.body).toEqual(
      expect.objectContaining({
        id: expect.any(String),
        url: receiver.url,
        events,
        secret: expect.any(String),
      }),
    );
    const { id, secret } = created.body;
    const shown = await call('GET', `/api/v1/subscriptions/${id}`, tokens.b);
    expect(shown.body).toEqual(expect.objectContaining({ id, url: receiver.url, events, backlog: 0 }));
    expect(shown.body.secret).toBeUndefined();
    const list = await call('GET', '/api/v1/subscriptions', tokens.b);
    expect(Object.keys(list.body).sort()).toEqual(['items', 'nextCursor']);
    expect(list.body.items.map((s: { id: string }) => s.id)).toEqual([id]);
    expect(list.body.items[0].secret).toBeUndefined();
    expectError(await call('GET', `/api/v1/subscriptions/${id}`, tokens.c), 404);

    // incoming, then an update, a replacement and a recall of the replacement, all to B.
    const doc = await sendToB();
    const updated = await call('POST', `/api/v1/documents/${doc.id}/update`, tokens.a, {
      reason: 'Đính chính hạn xử lý',
      changes: { dueDate: '2026-12-31', urgency: 'urgent' },
    });
    expect(updated.status).toBe(202);
    const replacement = await call(
      'POST',
      '/api/v1/documents',
      tokens.a,
      document({ replaces: doc.id, subject: `Thay thế văn bản ${doc.id}` }),
    );
    expect(replacement.status).toBe(201);
    expect((await call('POST', `/api/v1/documents/${replacement.body.id}/send`, tokens.a)).status).toBe(202);
    const newCopy = await until(async () => {
      const r = await call('GET', '/api/v1/documents?direction=incoming&limit=500', tokens.b);
      return r.body.items?.find((d: { subject: string }) => d.subject === `Thay thế văn bản ${doc.id}`)
        ?.id as string;
    }, "B's copy of the replacement");
    expect(
      (await call('POST', `/api/v1/documents/${replacement.body.id}/recall`, tokens.a, { reason: 'Thu hồi' }))
        .status,
    ).toBeLessThan(300);
    // B accepts nothing here; B's own status change on the old copy would be a document.status for A.
    const got = await until(async () => {
      const types = receiver.acknowledged.map((w) => w.body?.type);
      return ['document.updated', 'document.replaced', 'document.recalled'].every((t) => types.includes(t))
        ? receiver.acknowledged
        : undefined;
    }, 'updated, replaced and recalled at B’s receiver');
    for (const w of got) {
      expect(Object.keys(w.body).sort()).toEqual(
        expect.arrayContaining(['data', 'id', 'organizationCode', 'time', 'type']),
      );
      expect(w.body.organizationCode).toBe(B);
      expect(events).toContain(w.body.type);
      expect(w.headers['lienthong-event']).toBe(w.body.type);
      expect(w.headers['lienthong-delivery']).toBe(w.body.id);
      expect(w.headers['content-type']).toMatch(/^application\/json/);
      expect(w.headers['lienthong-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
      expect(verifyWebhookSignature(secret, w.headers['lienthong-signature'], w.raw)).toBe(true);
      expect(new Date(w.body.time).toISOString()).toEqual(expect.any(String));
      expect(w.body.time).toMatch(/(Z|[+-]\d\d:\d\d)$/);
      expect(w.body.data.documentId).toEqual(expect.any(String));
    }
    const byType = (t: string) => got.filter((w) => w.body.type === t).map((w) => w.body.data.documentId);
    expect(byType('document.incoming')).toEqual(expect.arrayContaining([doc.copy, newCopy]));
    expect(byType('document.updated')).toEqual([doc.copy]);
    expect(byType('document.replaced')).toContain(newCopy);
    expect(byType('document.recalled')).toEqual([newCopy]);
    // Per document, in order: the earlier copy's incoming comes before its update.
    const forOld = got.filter((w) => w.body.data.documentId === doc.copy).map((w) => w.body.type);
    expect(forOld.indexOf('document.incoming')).toBeLessThan(forOld.indexOf('document.updated'));

    // The recipient's view: history entries of the contract's shape, replaces/replacedBy with its own ids.
    const oldView = await call('GET', `/api/v1/documents/${doc.copy}`, tokens.b);
    expect(oldView.body).toMatchObject({ direction: 'incoming', replacedBy: newCopy });
    expect(oldView.body.history[0]).toEqual({
      businessType: 2,
      at: expect.any(String),
      reason: 'Đính chính hạn xử lý',
      changes: { dueDate: '2026-12-31', urgency: 'urgent' },
    });
    const newView = await until(async () => {
      const r = await call('GET', `/api/v1/documents/${newCopy}`, tokens.b);
      return r.body.history?.some((h: { businessType: number }) => h.businessType === 1) && r.body;
    }, 'the recall in the history of the new copy');
    expect(newView.replaces).toBe(doc.copy);
    for (const h of newView.history) {
      expect([1, 2, 3]).toContain(h.businessType);
      expect(Object.keys(h).every((k) => ['businessType', 'at', 'reason', 'changes'].includes(k))).toBe(true);
    }

    const after = await until(async () => {
      const r = await call('GET', `/api/v1/subscriptions/${id}`, tokens.b);
      return r.body.backlog === 0 && r.body.lastDeliveredAt && r.body;
    }, 'the subscription caught up');
    expect(after.lastDeliveredAt).toMatch(/(Z|[+-]\d\d:\d\d)$/);
    expect((await call('DELETE', `/api/v1/subscriptions/${id}`, tokens.b)).status).toBe(204);
    expectError(await call('GET', `/api/v1/subscriptions/${id}`, tokens.b), 404);
  });
});
