import { authenticator } from 'otplib';
import { auth, freshTotp, IdentityHarness, ROOT } from './support/harness';

jest.setTimeout(120_000);

describe('identity users: roles, scope, passwords, lockout, TOTP (real PG + NATS)', () => {
  const h = new IdentityHarness();
  const HN = '001.00.00.H01'; // province
  const HN_D = '001.01.00.H01'; // district below it
  const HP = '002.00.00.H02'; // sibling province
  let hnAdmin: { id: string; username: string; password: string };
  let hnAdminToken: string;

  beforeAll(async () => {
    await h.start({ LOCKOUT_MAX_FAILURES: '5', LOCKOUT_BASE_SECONDS: '60' });
    await h.org(HN, ROOT);
    await h.org(HN_D, HN, 'district');
    await h.org(HP, ROOT);
    hnAdmin = await h.user('hn-admin', HN, ['org-admin', 'clerk', 'leader']);
    hnAdminToken = (await h.login(hnAdmin.username, hnAdmin.password)).access_token;
  });
  afterAll(() => h.stop());

  const token = (grant: Record<string, unknown>) =>
    h.http.post('/api/v1/auth/token').send({ grant_type: 'password', ...grant });

  it('creates a user with the documented answer and never returns the password hash', async () => {
    const res = await h.http
      .post('/api/v1/users')
      .set(auth(hnAdminToken))
      .send({
        username: 'vanthu.hn',
        fullName: 'Nguyễn Văn Thư',
        email: 'vt@example.vn',
        password: 'Một mật khẩu đủ dài',
        organizationCode: HN_D,
        roles: ['clerk'],
      });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      id: expect.any(String),
      username: 'vanthu.hn',
      fullName: 'Nguyễn Văn Thư',
      organizationCode: HN_D,
      roles: ['clerk'],
      disabled: false,
    });
    expect(JSON.stringify(res.body)).not.toMatch(/argon2|password/i);
    const [row] = await h.db.query('SELECT password_hash FROM users WHERE id = $1', [res.body.id]);
    expect(row.password_hash).toMatch(/^\$argon2id\$/);
    const dup = await h.http
      .post('/api/v1/users')
      .set(auth(hnAdminToken))
      .send({
        username: 'vanthu.hn',
        fullName: 'x',
        password: 'Một mật khẩu đủ dài',
        organizationCode: HN_D,
        roles: ['clerk'],
      });
    expect(dup.status).toBe(409);
    await h.expectAudit(
      (e) => e.action === 'user.created' && e.resource.id === res.body.id && e.actor.sub === hnAdmin.id,
    );
  });

  it('applies the password policy with 400 and the failing field', async () => {
    for (const password of ['short-pw-1', 'my-name-is-weakuser-ok', 'password1234']) {
      const res = await h.http
        .post('/api/v1/users')
        .set(auth(h.adminToken))
        .send({ username: 'weakuser', fullName: 'x', password, organizationCode: HN, roles: ['clerk'] });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('PASSWORD_POLICY');
      expect(res.body.fields[0].field).toBe('password');
    }
    expect((await h.db.query(`SELECT 1 FROM users WHERE username = 'weakuser'`)).length).toBe(0);
  });

  it('refuses unknown fields with 400', async () => {
    const res = await h.http.post('/api/v1/users').set(auth(h.adminToken)).send({
      username: 'extra',
      fullName: 'x',
      password: 'a fine long passphrase',
      organizationCode: HN,
      roles: [],
      disabled: false,
      passwordHash: 'x',
    });
    expect(res.status).toBe(400);
    expect(res.body.fields.map((f: { field: string }) => f.field)).toEqual(
      expect.arrayContaining(['passwordHash', 'disabled']),
    );
  });

  it('forbids an org-admin to create a user in a sibling province (403)', async () => {
    const res = await h.http
      .post('/api/v1/users')
      .set(auth(hnAdminToken))
      .send({
        username: 'intruder',
        fullName: 'x',
        password: 'a fine long passphrase',
        organizationCode: HP,
        roles: ['clerk'],
      });
    expect(res.status).toBe(403);
    expect((await h.db.query(`SELECT 1 FROM users WHERE username = 'intruder'`)).length).toBe(0);
  });

  it('forbids granting a role one does not hold (403), at creation and by PATCH', async () => {
    const create = await h.http
      .post('/api/v1/users')
      .set(auth(hnAdminToken))
      .send({
        username: 'escalate',
        fullName: 'x',
        password: 'a fine long passphrase',
        organizationCode: HN,
        roles: ['system-admin'],
      });
    expect(create.status).toBe(403);
    const u = await h.user('spec.hn', HN_D, ['specialist'], undefined, hnAdminToken).catch(() => null);
    expect(u).toBeNull(); // specialist is not held by hn-admin either
    const clerk = await h.user('clerk.hn', HN_D, ['clerk'], undefined, hnAdminToken);
    const patch = await h.http
      .patch(`/api/v1/users/${clerk.id}`)
      .set(auth(hnAdminToken))
      .send({ roles: ['clerk', 'cleared'] });
    expect(patch.status).toBe(403);
    const self = await h.http
      .patch(`/api/v1/users/${hnAdmin.id}`)
      .set(auth(hnAdminToken))
      .send({ roles: ['org-admin', 'system-admin'] });
    expect(self.status).toBe(403);
    const ok = await h.http
      .patch(`/api/v1/users/${clerk.id}`)
      .set(auth(hnAdminToken))
      .send({ roles: ['clerk', 'leader'] });
    expect(ok.status).toBe(200);
    expect(ok.body.roles).toEqual(['clerk', 'leader']);
    await h.expectAudit((e) => e.action === 'user.roles.changed' && e.resource.id === clerk.id);
    const clerkToken = (await h.login(clerk.username, clerk.password)).access_token;
    expect(
      (
        await h.http.post('/api/v1/users').set(auth(clerkToken)).send({
          username: 'by-clerk',
          fullName: 'x',
          password: 'a fine long passphrase',
          organizationCode: HN_D,
          roles: [],
        })
      ).status,
    ).toBe(403);
  });

  it('answers 404 for users outside the caller subtree, and lists only the subtree', async () => {
    const other = await h.user('clerk.hp', HP, ['clerk']);
    expect((await h.http.get(`/api/v1/users/${other.id}`).set(auth(hnAdminToken))).status).toBe(404);
    expect(
      (await h.http.patch(`/api/v1/users/${other.id}`).set(auth(hnAdminToken)).send({ disabled: true }))
        .status,
    ).toBe(404);
    expect((await h.http.get(`/api/v1/users/not-a-uuid`).set(auth(hnAdminToken))).status).toBe(404);
    expect(
      (await h.http.get('/api/v1/users').query({ organizationCode: HP }).set(auth(hnAdminToken))).status,
    ).toBe(404);
    const list = await h.http.get('/api/v1/users').set(auth(hnAdminToken));
    expect(list.status).toBe(200);
    const orgs = new Set(list.body.items.map((u: { organizationCode: string }) => u.organizationCode));
    expect([...orgs].every((o) => o === HN || o === HN_D)).toBe(true);
    expect(list.body.items.map((u: { username: string }) => u.username)).not.toContain('clerk.hp');
    const all = await h.http.get('/api/v1/users').query({ limit: '2' }).set(auth(h.adminToken));
    expect(all.body.items).toHaveLength(2);
    expect(all.body.nextCursor).toEqual(expect.any(String));
  });

  it('locks after 5 failures in the window, answering exactly like a wrong password', async () => {
    const u = await h.user('lock.me', HN, ['clerk']);
    const wrong = await token({ username: u.username, password: 'definitely wrong pw' });
    for (let i = 0; i < 4; i++) await token({ username: u.username, password: 'definitely wrong pw' });
    const locked = await token({ username: u.username, password: u.password });
    expect(locked.status).toBe(wrong.status);
    expect(locked.body).toEqual(wrong.body);
    await h.expectAudit((e) => e.action === 'auth.account.locked' && e.resource.id === u.id);
    // Growing back-off: a second lock lasts longer than the first.
    const [first] = await h.db.query('SELECT locked_until, lock_level FROM users WHERE id = $1', [u.id]);
    expect(first.lock_level).toBe(1);
    await h.db.query(`UPDATE users SET locked_until = now() - interval '1 second' WHERE id = $1`, [u.id]);
    for (let i = 0; i < 5; i++) await token({ username: u.username, password: 'definitely wrong pw' });
    const [second] = await h.db.query(
      `SELECT lock_level, extract(epoch from locked_until - now()) AS secs FROM users WHERE id = $1`,
      [u.id],
    );
    expect(second.lock_level).toBe(2);
    expect(Number(second.secs)).toBeGreaterThan(60);
  });

  it('keeps the lockout under 10 parallel wrong passwords', async () => {
    const u = await h.user('parallel.me', HN, ['clerk']);
    const results = await Promise.all(
      Array.from({ length: 10 }, () => token({ username: u.username, password: 'wrong password here' })),
    );
    expect(results.every((r) => r.status === 401 && r.body.error === 'invalid_grant')).toBe(true);
    const [row] = await h.db.query(
      'SELECT lock_level, locked_until > now() AS locked FROM users WHERE id = $1',
      [u.id],
    );
    expect(row.locked).toBe(true);
    expect((await token({ username: u.username, password: u.password })).status).toBe(401);
  });

  it('refuses disabled users and kills their refresh tokens', async () => {
    const u = await h.user('disable.me', HN, ['clerk']);
    const t = await h.login(u.username, u.password);
    const res = await h.http.patch(`/api/v1/users/${u.id}`).set(auth(hnAdminToken)).send({ disabled: true });
    expect(res.status).toBe(200);
    expect(res.body.disabled).toBe(true);
    expect((await token({ username: u.username, password: u.password })).status).toBe(401);
    const refresh = await h.http
      .post('/api/v1/auth/token')
      .send({ grant_type: 'refresh_token', refresh_token: t.refresh_token });
    expect(refresh.status).toBe(401);
    expect(refresh.body.error).toBe('invalid_grant');
  });

  it('changes the own password with the policy and ends other sessions', async () => {
    const u = await h.user('change.me', HN, ['clerk']);
    const t = await h.login(u.username, u.password);
    const bad = await h.http
      .post('/api/v1/users/me/password')
      .set(auth(t.access_token))
      .send({ currentPassword: 'not it at all!', newPassword: 'brand new passphrase 1' });
    expect(bad.status).toBe(422);
    const weak = await h.http
      .post('/api/v1/users/me/password')
      .set(auth(t.access_token))
      .send({ currentPassword: u.password, newPassword: 'short' });
    expect(weak.status).toBe(400);
    const ok = await h.http
      .post('/api/v1/users/me/password')
      .set(auth(t.access_token))
      .send({ currentPassword: u.password, newPassword: 'brand new passphrase 1' });
    expect(ok.status).toBe(200);
    expect((await token({ username: u.username, password: u.password })).status).toBe(401);
    expect((await token({ username: u.username, password: 'brand new passphrase 1' })).status).toBe(200);
    expect(
      (
        await h.http
          .post('/api/v1/auth/token')
          .send({ grant_type: 'refresh_token', refresh_token: t.refresh_token })
      ).status,
    ).toBe(401);
    await h.expectAudit((e) => e.action === 'user.password.changed' && e.resource.id === u.id);
  });

  it('enrols TOTP (otpauth URI), confirms it, then requires otp in the password grant', async () => {
    const u = await h.user('totp.me', HN, ['clerk']);
    const t = (await h.login(u.username, u.password)).access_token;
    const enrol = await h.http.post('/api/v1/users/me/totp').set(auth(t));
    expect(enrol.status).toBe(200);
    expect(enrol.body.otpauthUri).toMatch(/^otpauth:\/\/totp\//);
    const secret = enrol.body.secret as string;
    const [row] = await h.db.query('SELECT totp_secret_enc FROM users WHERE id = $1', [u.id]);
    expect(row.totp_secret_enc).not.toContain(secret);
    expect(
      (
        await h.http
          .post('/api/v1/users/me/totp/confirm')
          .set(auth(t))
          .send({ otp: '000000' === authenticator.generate(secret) ? '111111' : '000000' })
      ).status,
    ).toBe(422);
    const confirming = await freshTotp(secret);
    expect(
      (await h.http.post('/api/v1/users/me/totp/confirm').set(auth(t)).send({ otp: confirming.code })).status,
    ).toBe(200);
    const without = await token({ username: u.username, password: u.password });
    expect(without.status).toBe(401);
    expect(without.body.error).toBe('invalid_grant');
    // The code that confirmed the enrolment is used up (totp-replay.integration-spec.ts): the next step's.
    const withOtp = await token({
      username: u.username,
      password: u.password,
      otp: (await freshTotp(secret, confirming.step)).code,
    });
    expect(withOtp.status).toBe(200);
    await h.expectAudit((e) => e.action === 'user.totp.enabled' && e.resource.id === u.id);
  });

  it('deletes a user in the subtree (its tokens stop refreshing) and 404s outside it', async () => {
    const u = await h.user('delete.me', HN_D, ['clerk']);
    const t = await h.login(u.username, u.password);
    const other = await h.user('keep.me', HP, ['clerk']);
    expect((await h.http.delete(`/api/v1/users/${other.id}`).set(auth(hnAdminToken))).status).toBe(404);
    expect((await h.http.delete(`/api/v1/users/${u.id}`).set(auth(hnAdminToken))).status).toBe(204);
    expect((await h.http.get(`/api/v1/users/${u.id}`).set(auth(hnAdminToken))).status).toBe(404);
    expect(
      (
        await h.http
          .post('/api/v1/auth/token')
          .send({ grant_type: 'refresh_token', refresh_token: t.refresh_token })
      ).status,
    ).toBe(401);
    await h.expectAudit((e) => e.action === 'user.deleted' && e.resource.id === u.id);
  });

  it('lists connected systems: an org-admin its subtree, a system-admin all, never a secret', async () => {
    const create = async (token: string, name: string, organizationCode: string) => {
      const r = await h.http
        .post('/api/v1/clients')
        .set(auth(token))
        .send({ name, organizationCode, roles: ['exchange'] });
      expect(r.status).toBe(201);
      return r.body as { clientId: string; clientSecret: string };
    };
    const district = await create(h.adminToken, 'QLVB huyện', HN_D);
    const province = await create(h.adminToken, 'QLVB tỉnh', HN);
    const sibling = await create(h.adminToken, 'QLVB tỉnh bạn', HP);
    const listAll = async (token: string, query = '') => {
      const ids: string[] = [];
      const bodies: string[] = [];
      let cursor: string | null = null;
      do {
        const r: {
          status: number;
          text: string;
          body: { items: { clientId: string }[]; nextCursor: string | null };
        } = await h.http
          .get(`/api/v1/clients?limit=1${query}${cursor ? `&cursor=${cursor}` : ''}`)
          .set(auth(token));
        expect(r.status).toBe(200);
        bodies.push(r.text);
        ids.push(...r.body.items.map((i) => i.clientId));
        cursor = r.body.nextCursor;
      } while (cursor);
      return { ids, text: bodies.join('\n') };
    };
    const mine = await listAll(hnAdminToken);
    expect(mine.ids.sort()).toEqual([district.clientId, province.clientId].sort());
    for (const secret of [district.clientSecret, province.clientSecret])
      expect(mine.text).not.toContain(secret);
    expect(mine.text).not.toMatch(/secret_hash|secretHash|clientSecret/);
    const all = await listAll(h.adminToken);
    expect(all.ids).toEqual(expect.arrayContaining([district.clientId, province.clientId, sibling.clientId]));
    // One organization of the subtree; an organization outside it is unknown to this org-admin.
    const one = await h.http.get(`/api/v1/clients?organizationCode=${HN_D}`).set(auth(hnAdminToken));
    expect(one.body.items).toEqual([
      expect.objectContaining({
        clientId: district.clientId,
        name: 'QLVB huyện',
        organizationCode: HN_D,
        roles: ['exchange'],
        createdAt: expect.any(String),
      }),
    ]);
    const outside = await h.http.get(`/api/v1/clients?organizationCode=${HP}`).set(auth(hnAdminToken));
    expect(outside.status).toBe(404);
    // A rotation shows while the previous secret still works.
    await h.http
      .post(`/api/v1/clients/${district.clientId}/rotate-secret`)
      .set(auth(h.adminToken))
      .expect(200);
    const after = await h.http.get(`/api/v1/clients?organizationCode=${HN_D}`).set(auth(hnAdminToken));
    expect(Date.parse(after.body.items[0].previousSecretValidUntil)).toBeGreaterThan(Date.now());
    // Not for other roles; bad paging is a 400 with the field.
    const clerk = await h.user('hn-clerk-clients', HN, ['clerk']);
    const clerkToken = (await h.login(clerk.username, clerk.password)).access_token;
    expect((await h.http.get('/api/v1/clients').set(auth(clerkToken))).status).toBe(403);
    const bad = await h.http.get('/api/v1/clients?limit=501').set(auth(h.adminToken));
    expect(bad.status).toBe(400);
    expect(bad.body.fields.map((f: { field: string }) => f.field)).toContain('limit');
  });

  it('audits login success and failure with the correlation id', async () => {
    const res = await h.http
      .post('/api/v1/auth/token')
      .set('X-Correlation-Id', 'corr-login-1')
      .send({ grant_type: 'password', username: 'hn-admin', password: hnAdmin.password });
    expect(res.status).toBe(200);
    const ev = await h.expectAudit(
      (e) => e.action === 'auth.login.succeeded' && e.correlationId === 'corr-login-1',
    );
    expect(ev.actor).toMatchObject({ sub: hnAdmin.id, type: 'user', organizationCode: HN });
    await h.expectAudit((e) => e.action === 'auth.token.issued' && e.correlationId === 'corr-login-1');
    await h.expectAudit((e) => e.action === 'auth.login.failed' && e.outcome === 'failure');
  });
});

describe('identity bootstrap without ADMIN_PASSWORD and per-IP throttling', () => {
  const h = new IdentityHarness();
  let out = '';
  const write = process.stdout.write.bind(process.stdout);

  beforeAll(async () => {
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      out += chunk.toString();
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stdout.write;
    try {
      await h.start({ ADMIN_PASSWORD: '', TOKEN_RATE_LIMIT_PER_IP: '15' });
    } finally {
      process.stdout.write = write;
    }
  });
  afterAll(() => h.stop());

  it('generates the admin password, prints it once in a banner, and it works', async () => {
    const lines = out.split('\n').filter((l) => l.includes('admin password:'));
    expect(lines).toHaveLength(1);
    const password = /admin password: (\S+)/.exec(lines[0])![1];
    const res = await h.http
      .post('/api/v1/auth/token')
      .send({ grant_type: 'password', username: 'admin', password });
    expect(res.status).toBe(200);
    // Only the bootstrap admin exists.
    const [{ n }] = await h.db.query(`SELECT count(*)::int AS n FROM users`);
    expect(n).toBe(1);
  });

  it('answers 429 with Retry-After once one IP exceeds its budget, whatever the usernames', async () => {
    let last;
    for (let i = 0; i < 20; i++) {
      last = await h.http
        .post('/api/v1/auth/token')
        .send({ grant_type: 'password', username: `ip-user-${i}`, password: 'whatever-long-pw' });
      if (last.status === 429) break;
    }
    expect(last!.status).toBe(429);
    expect(Number(last!.headers['retry-after'])).toBeGreaterThan(0);
  });
});
