import { eventually } from '@lienthong/testing';
import { authenticator } from 'otplib';
import { UsersRepository } from '../src/users/users.repository';
import { auth, freshTotp, IdentityHarness, ROOT } from './support/harness';

// Up to three TOTP steps of 30 s are waited for.
jest.setTimeout(180_000);

/** RFC 6238 §5.2: a TOTP code is accepted once; a code of a step already used is a wrong code. */
describe('identity TOTP codes are one-time (real PG + NATS)', () => {
  const h = new IdentityHarness();
  const ORG = '003.00.00.H03';
  let user: { id: string; username: string; password: string };
  let secret: string;
  let confirmed: { code: string; step: number };
  /** What a wrong code gets (test 1). */
  let wrongBody: unknown;

  beforeAll(async () => {
    await h.start({ LOCKOUT_MAX_FAILURES: '10', LOCKOUT_BASE_SECONDS: '60' });
    await h.org(ORG, ROOT);
    user = await h.user('totp.once', ORG, ['clerk']);
    const t = (await h.login(user.username, user.password)).access_token;
    const enrol = await h.http.post('/api/v1/users/me/totp').set(auth(t));
    expect(enrol.status).toBe(200);
    secret = enrol.body.secret;
    confirmed = await freshTotp(secret);
    const confirm = await h.http
      .post('/api/v1/users/me/totp/confirm')
      .set(auth(t))
      .send({ otp: confirmed.code });
    expect(confirm.status).toBe(200);
  });
  afterAll(() => h.stop());

  const login = (otp: string) =>
    h.http
      .post('/api/v1/auth/token')
      .send({ grant_type: 'password', username: user.username, password: user.password, otp });
  const row = async (): Promise<{ totp_last_step: string | null; failed_count: number }> =>
    (await h.db.query('SELECT totp_last_step, failed_count FROM users WHERE id = $1', [user.id]))[0];
  const replayAudits = async () =>
    (await h.auditEvents()).filter(
      (e) =>
        e.action === 'auth.login.failed' &&
        e.resource.id === user.id &&
        (e.details as { reason?: string } | undefined)?.reason === 'otp-replayed',
    ).length;

  it('refuses the code that confirmed the enrolment like a wrong code, audits and counts it', async () => {
    expect((await row()).totp_last_step).toBe(String(confirmed.step));
    // Still within the confirming step (freshTotp left at least 8 s of it): the code itself is current.
    expect(authenticator.generate(secret)).toBe(confirmed.code);
    const before = (await row()).failed_count;
    const replay = await login(confirmed.code);
    expect(replay.status).toBe(401);
    const wrongCode = confirmed.code === '000000' ? '111111' : '000000';
    const wrong = await login(wrongCode);
    expect(wrong.status).toBe(401);
    // Nothing tells the client a replay from a wrong code.
    expect(replay.body).toEqual(wrong.body);
    expect(replay.body).toMatchObject({ error: 'invalid_grant' });
    expect(replay.headers['content-type']).toBe(wrong.headers['content-type']);
    wrongBody = wrong.body;
    expect((await row()).failed_count).toBe(before + 2);
    await h.expectAudit(
      (e) =>
        e.action === 'auth.login.failed' &&
        e.resource.id === user.id &&
        e.outcome === 'failure' &&
        (e.details as { reason?: string }).reason === 'otp-replayed',
    );
    await h.expectAudit(
      (e) =>
        e.action === 'auth.login.failed' &&
        e.resource.id === user.id &&
        (e.details as { reason?: string }).reason === 'otp-invalid',
    );
  });

  it('lets exactly one of two parallel logins with one code through, and refuses that code afterwards', async () => {
    const next = await freshTotp(secret, confirmed.step);
    const replaysBefore = await replayAudits();
    const answers = await Promise.all([login(next.code), login(next.code)]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 401]);
    const ok = answers.find((a) => a.status === 200)!;
    expect(ok.body.access_token).toEqual(expect.any(String));
    expect(answers.find((a) => a.status === 401)!.body).toEqual(wrongBody);
    expect((await row()).totp_last_step).toBe(String(next.step));

    const again = await login(next.code);
    expect(again.status).toBe(401);
    expect(again.body).toEqual(wrongBody);
    // The loser of the race and the later attempt are replays (the code was right), audited as such.
    await eventually(async () => (await replayAudits()) === replaysBefore + 2, 15_000);
    expect(await replayAudits()).toBe(replaysBefore + 2);
  });

  it('claims a step in one conditional UPDATE: a second transaction racing for it gets false', async () => {
    const other = await h.user('totp.race', ORG, ['clerk']);
    const repo = h.app.get(UsersRepository);
    const a = h.db.createQueryRunner();
    const b = h.db.createQueryRunner();
    try {
      await a.startTransaction();
      await b.startTransaction();
      expect(await repo.claimTotpStep(a.manager, other.id, 1000)).toBe(true);
      // b's UPDATE waits for a's row lock, then re-checks its condition against a's committed step.
      const raced = repo.claimTotpStep(b.manager, other.id, 1000);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await a.commitTransaction();
      expect(await raced).toBe(false);
      expect(await repo.claimTotpStep(b.manager, other.id, 999)).toBe(false);
      expect(await repo.claimTotpStep(b.manager, other.id, 1001)).toBe(true);
      await b.commitTransaction();
    } finally {
      await a.release();
      await b.release();
    }
    const [r] = await h.db.query('SELECT totp_last_step FROM users WHERE id = $1', [other.id]);
    expect(r.totp_last_step).toBe('1001');
  });

  it("takes the next step's code, once", async () => {
    const used = Number((await row()).totp_last_step);
    const next = await freshTotp(secret, used);
    expect(next.step).toBeGreaterThan(used);
    const ok = await login(next.code);
    expect(ok.status).toBe(200);
    expect(await row()).toEqual({ totp_last_step: String(next.step), failed_count: 0 });
    expect((await login(next.code)).status).toBe(401);
  });
});
