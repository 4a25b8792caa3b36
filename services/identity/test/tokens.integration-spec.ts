import { JwtVerifier, remoteJwks } from '@lienthong/common';
import { decodeJwt, decodeProtectedHeader, SignJWT, type JWK } from 'jose';
import { createHmac, createPublicKey, randomUUID } from 'node:crypto';
import { KeyRing } from '../src/keys/key-ring';
import { SigningKeysService } from '../src/keys/signing-keys.service';
import { Streams, Subjects, type TokenRevokedEvent } from '@lienthong/contracts';
import { ADMIN_PASSWORD, auth, IdentityHarness, ROOT } from './support/harness';

jest.setTimeout(90_000);

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

describe('identity tokens, keys and JWKS (real PG + NATS + crypto)', () => {
  const h = new IdentityHarness();
  const P1 = '001.00.00.H01';

  beforeAll(async () => {
    await h.start();
    await h.org(P1, ROOT, 'province');
  });
  afterAll(() => h.stop());

  const me = (token: string) => h.http.get('/api/v1/auth/me').set(auth(token));

  /** Signs with identity's real current key, so only the claim under test is wrong. */
  async function signWithIdentityKey(
    claims: Record<string, unknown>,
    opts: { exp?: number; nbf?: number; iss?: string; aud?: string } = {},
  ) {
    const key = h.app.get(KeyRing).current();
    const now = Math.floor(Date.now() / 1000);
    const jwt = new SignJWT({ org: ROOT, roles: ['system-admin'], typ: 'user', ...claims })
      .setProtectedHeader({ alg: key.alg, kid: key.kid })
      .setIssuer(opts.iss ?? 'lienthong/central')
      .setAudience(opts.aud ?? 'lienthong')
      .setSubject(randomUUID())
      .setJti(randomUUID())
      .setIssuedAt(now - 10)
      .setExpirationTime(opts.exp ?? now + 300);
    if (opts.nbf) jwt.setNotBefore(opts.nbf);
    return jwt.sign(key.privateKey);
  }

  it('issues a password-grant token with exactly the documented claims, JSON or form-encoded', async () => {
    const json = await h.http
      .post('/api/v1/auth/token')
      .send({ grant_type: 'password', username: 'admin', password: ADMIN_PASSWORD });
    expect(json.status).toBe(200);
    expect(json.headers['cache-control']).toBe('no-store');
    expect(json.body).toMatchObject({
      token_type: 'Bearer',
      expires_in: 900,
      refresh_token: expect.any(String),
      access_token: expect.any(String),
    });
    const claims = decodeJwt(json.body.access_token);
    expect(Object.keys(claims).sort()).toEqual([
      'aud',
      'exp',
      'iat',
      'iss',
      'jti',
      'org',
      'roles',
      'sub',
      'typ',
    ]);
    expect(claims).toMatchObject({
      iss: 'lienthong/central',
      aud: 'lienthong',
      org: ROOT,
      roles: ['system-admin'],
      typ: 'user',
    });
    expect(claims.exp! - claims.iat!).toBe(900);
    expect(decodeProtectedHeader(json.body.access_token).alg).toBe('RS256');
    const form = await h.http
      .post('/api/v1/auth/token')
      .type('form')
      .send(`grant_type=password&username=admin&password=${encodeURIComponent(ADMIN_PASSWORD)}`);
    expect(form.status).toBe(200);
    const who = await me(form.body.access_token);
    expect(who.status).toBe(200);
    expect(who.body).toEqual({
      sub: claims.sub,
      username: 'admin',
      organizationCode: ROOT,
      roles: ['system-admin'],
      type: 'user',
    });
  });

  it('answers OAuth error shapes', async () => {
    const noGrant = await h.http.post('/api/v1/auth/token').send({ username: 'admin' });
    expect(noGrant.status).toBe(400);
    expect(noGrant.body.error).toBe('invalid_request');
    const badGrant = await h.http.post('/api/v1/auth/token').send({ grant_type: 'implicit' });
    expect(badGrant.status).toBe(400);
    expect(badGrant.body.error).toBe('unsupported_grant_type');
    const missing = await h.http
      .post('/api/v1/auth/token')
      .send({ grant_type: 'password', username: 'admin' });
    expect(missing.body.error).toBe('invalid_request');
    const objectInjection = await h.http
      .post('/api/v1/auth/token')
      .send({ grant_type: 'password', username: 'admin', password: { $ne: null } });
    expect(objectInjection.status).toBe(400);
    expect(objectInjection.body.error).toBe('invalid_request');
    const wrong = await h.http
      .post('/api/v1/auth/token')
      .send({ grant_type: 'password', username: 'admin', password: 'not the password!' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe('invalid_grant');
    const unknown = await h.http
      .post('/api/v1/auth/token')
      .send({ grant_type: 'password', username: 'nobody-here', password: 'whatever-it-is' });
    expect(unknown.status).toBe(401);
    expect(unknown.body).toEqual(wrong.body);
    const badClient = await h.http
      .post('/api/v1/auth/token')
      .send({ grant_type: 'client_credentials', client_id: 'cl-x', client_secret: 'y' });
    expect(badClient.status).toBe(401);
    expect(badClient.body.error).toBe('invalid_client');
    const badRefresh = await h.http
      .post('/api/v1/auth/token')
      .send({ grant_type: 'refresh_token', refresh_token: 'nope' });
    expect(badRefresh.status).toBe(401);
    expect(badRefresh.body.error).toBe('invalid_grant');
    await h.expectAudit((e) => e.action === 'auth.login.failed' && e.resource.id === 'nobody-here');
  });

  it('refuses alg:none, HS256 signed with the public key, expired, not-yet-valid, wrong aud/iss and tampered tokens', async () => {
    const good = (await h.login('admin', ADMIN_PASSWORD)).access_token;
    expect((await me(good)).status).toBe(200);
    const [, payload] = good.split('.');
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`;
    const jwks = (await h.http.get('/.well-known/jwks.json')).body as { keys: JWK[] };
    const pem = createPublicKey({ key: jwks.keys[0] as never, format: 'jwk' })
      .export({ type: 'spki', format: 'pem' })
      .toString();
    const hsInput = `${b64({ alg: 'HS256', typ: 'JWT', kid: jwks.keys[0].kid })}.${payload}`;
    const hs256 = `${hsInput}.${createHmac('sha256', pem).update(hsInput).digest('base64url')}`;
    const now = Math.floor(Date.now() / 1000);
    const expired = await signWithIdentityKey({}, { exp: now - 600 });
    const future = await signWithIdentityKey({}, { nbf: now + 600 });
    const wrongAud = await signWithIdentityKey({}, { aud: 'someone-else' });
    const wrongIss = await signWithIdentityKey({}, { iss: 'evil/central' });
    const claims = decodeJwt(good);
    const tampered = good.split('.');
    tampered[1] = b64({ ...claims, roles: ['system-admin', 'cleared'], org: P1 });
    for (const [name, t] of Object.entries({
      none,
      hs256,
      expired,
      future,
      wrongAud,
      wrongIss,
      tampered: tampered.join('.'),
    })) {
      const res = await me(t);
      expect({ name, status: res.status }).toEqual({ name, status: 401 });
      expect(res.body.code).toMatch(/^TOKEN_/);
    }
  });

  it('rotates refresh tokens and revokes the whole family when one is reused', async () => {
    const first = await h.login('admin', ADMIN_PASSWORD);
    const r1 = await h.http
      .post('/api/v1/auth/token')
      .send({ grant_type: 'refresh_token', refresh_token: first.refresh_token });
    expect(r1.status).toBe(200);
    expect(r1.body.refresh_token).not.toBe(first.refresh_token);
    const reuse = await h.http
      .post('/api/v1/auth/token')
      .send({ grant_type: 'refresh_token', refresh_token: first.refresh_token });
    expect(reuse.status).toBe(401);
    expect(reuse.body.error).toBe('invalid_grant');
    // The legitimate successor dies with its family.
    const successor = await h.http
      .post('/api/v1/auth/token')
      .send({ grant_type: 'refresh_token', refresh_token: r1.body.refresh_token });
    expect(successor.status).toBe(401);
    await h.expectAudit((e) => e.action === 'auth.refresh.reuse-detected');
    await h.expectAudit((e) => e.action === 'auth.token.refreshed');
  });

  it('revokes an access token: identity refuses it at once (also from its cache) and publishes the revocation', async () => {
    const t = await h.login('admin', ADMIN_PASSWORD);
    expect((await me(t.access_token)).status).toBe(200); // verified and cached
    const res = await h.http
      .post('/api/v1/auth/revoke')
      .set(auth(t.access_token))
      .send({ token: t.access_token });
    expect(res.status).toBe(200);
    const after = await me(t.access_token);
    expect([after.status, after.body.code]).toEqual([401, 'TOKEN_REVOKED']);
    const { jti, exp } = decodeJwt(t.access_token);
    const published = await h.streamEvents<TokenRevokedEvent>(
      Subjects.tokenRevoked(),
      Streams.revocations().name,
    );
    const ev = published.find((e) => e.data.jti === jti);
    expect(ev?.data).toMatchObject({ reason: 'revoked', expiresAt: new Date(exp! * 1000).toISOString() });
    // Published once, though both the direct publish and the outbox relay sent it (same message id).
    await h.expectAudit((e) => e.action === 'auth.token.revoked' && e.details?.jti === jti);
    expect(
      (await h.streamEvents<TokenRevokedEvent>(Subjects.tokenRevoked(), Streams.revocations().name)).filter(
        (e) => e.data.jti === jti,
      ),
    ).toHaveLength(1);
    // The refresh token of that session still works: only the access token was revoked.
    const refreshed = await h.http
      .post('/api/v1/auth/token')
      .send({ grant_type: 'refresh_token', refresh_token: t.refresh_token });
    expect(refreshed.status).toBe(200);
    expect((await me(refreshed.body.access_token)).status).toBe(200);
  });

  it('revokes a refresh token', async () => {
    const t = await h.login('admin', ADMIN_PASSWORD);
    const res = await h.http
      .post('/api/v1/auth/revoke')
      .set(auth(t.access_token))
      .send({ token: t.refresh_token });
    expect(res.status).toBe(200);
    const after = await h.http
      .post('/api/v1/auth/token')
      .send({ grant_type: 'refresh_token', refresh_token: t.refresh_token });
    expect(after.status).toBe(401);
    expect((await h.http.post('/api/v1/auth/revoke').send({ token: 'x' })).status).toBe(401);
    await h.expectAudit((e) => e.action === 'auth.token.revoked');
  });

  it('publishes JWKS and openid-configuration; another service verifies through the HTTP JWKS alone', async () => {
    const conf = await h.http.get('/.well-known/openid-configuration');
    expect(conf.status).toBe(200);
    expect(conf.body.issuer).toBe('lienthong/central');
    const jwks = await h.http.get('/.well-known/jwks.json');
    expect(jwks.body.keys[0]).toMatchObject({
      kty: 'RSA',
      alg: 'RS256',
      use: 'sig',
      kid: expect.any(String),
    });
    expect(jwks.body.keys[0].d).toBeUndefined();
    expect(JSON.stringify(jwks.body)).not.toMatch(/"(d|p|q|dp|dq|qi)"/);
    const token = (await h.login('admin', ADMIN_PASSWORD)).access_token;
    const other = new JwtVerifier(remoteJwks(`${h.baseUrl}/.well-known/jwks.json`), {
      issuer: 'lienthong/central',
      audience: 'lienthong',
    });
    const p = await other.verify(token);
    expect(p).toMatchObject({ organizationCode: ROOT, roles: ['system-admin'], type: 'user' });
    await expect(other.verify(await signWithIdentityKey({}, { aud: 'x' }))).rejects.toMatchObject({
      status: 401,
    });
  });

  it('keeps tokens issued before a key rotation valid, locally and through JWKS', async () => {
    const before = (await h.login('admin', ADMIN_PASSWORD)).access_token;
    const oldKid = decodeProtectedHeader(before).kid;
    const newKid = await h.app.get(SigningKeysService).rotate();
    expect(newKid).not.toBe(oldKid);
    const after = (await h.login('admin', ADMIN_PASSWORD)).access_token;
    expect(decodeProtectedHeader(after).kid).toBe(newKid);
    expect((await me(before)).status).toBe(200);
    expect((await me(after)).status).toBe(200);
    const kids = (await h.http.get('/.well-known/jwks.json')).body.keys.map((k: JWK) => k.kid);
    expect(kids).toEqual(expect.arrayContaining([oldKid, newKid]));
    const other = new JwtVerifier(remoteJwks(`${h.baseUrl}/.well-known/jwks.json`), {
      issuer: 'lienthong/central',
      audience: 'lienthong',
    });
    await expect(other.verify(before)).resolves.toMatchObject({ type: 'user' });
    await expect(other.verify(after)).resolves.toMatchObject({ type: 'user' });
    await h.expectAudit((e) => e.action === 'key.rotated' && e.resource.id === newKid);
  });

  it('rotates on schedule when the current key is older than KEY_ROTATION_DAYS, and drops retired keys once their tokens expired', async () => {
    const keys = h.app.get(SigningKeysService);
    const kidOf = async () =>
      (await h.db.query('SELECT kid FROM signing_keys WHERE retired_at IS NULL'))[0].kid as string;
    const before = await kidOf();
    await keys.rotateIfDue();
    expect(await kidOf()).toBe(before);
    await h.db.query(
      `UPDATE signing_keys SET created_at = now() - interval '31 days' WHERE retired_at IS NULL`,
    );
    await keys.rotateIfDue();
    const after = await kidOf();
    expect(after).not.toBe(before);
    // Retired longer ago than the access-token lifetime: no token it signed can still be valid.
    await h.db.query(`UPDATE signing_keys SET retired_at = now() - interval '20 minutes' WHERE kid = $1`, [
      before,
    ]);
    await keys.reload();
    const kids = (await h.http.get('/.well-known/jwks.json')).body.keys.map((k: JWK) => k.kid);
    expect(kids).toContain(after);
    expect(kids).not.toContain(before);
  });

  it('stores private keys encrypted (AES-256-GCM), never in clear', async () => {
    const rows: { private_key_enc: string }[] = await h.db.query('SELECT private_key_enc FROM signing_keys');
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      expect(r.private_key_enc).toMatch(/^v1\./);
      expect(r.private_key_enc).not.toContain('PRIVATE KEY');
    }
  });

  it('issues client-credentials tokens, rotates the secret with a grace period and deletes clients', async () => {
    const created = await h.http
      .post('/api/v1/clients')
      .set(auth(h.adminToken))
      .send({ name: 'Hệ thống QLVB', organizationCode: P1, roles: ['exchange'] });
    expect(created.status).toBe(201);
    const { clientId, clientSecret } = created.body;
    const [row] = await h.db.query('SELECT secret_hash FROM clients WHERE client_id = $1', [clientId]);
    expect(Buffer.from(row.secret_hash).toString('utf8')).not.toContain(clientSecret);
    const grant = (secret: string) =>
      h.http
        .post('/api/v1/auth/token')
        .send({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret });
    const t = await grant(clientSecret);
    expect(t.status).toBe(200);
    expect(t.body.refresh_token).toBeUndefined();
    expect(decodeJwt(t.body.access_token)).toMatchObject({
      sub: clientId,
      org: P1,
      roles: ['exchange'],
      typ: 'client',
    });
    const basic = await h.http
      .post('/api/v1/auth/token')
      .auth(clientId, clientSecret)
      .type('form')
      .send('grant_type=client_credentials');
    expect(basic.status).toBe(200);
    const rotated = await h.http.post(`/api/v1/clients/${clientId}/rotate-secret`).set(auth(h.adminToken));
    expect(rotated.status).toBe(200);
    expect((await grant(rotated.body.clientSecret)).status).toBe(200);
    expect((await grant(clientSecret)).status).toBe(200); // grace period
    await h.db.query(
      `UPDATE clients SET previous_valid_until = now() - interval '1 second' WHERE client_id = $1`,
      [clientId],
    );
    expect((await grant(clientSecret)).status).toBe(401);
    expect((await h.http.delete(`/api/v1/clients/${clientId}`).set(auth(h.adminToken))).status).toBe(204);
    expect((await grant(rotated.body.clientSecret)).status).toBe(401);
    await h.expectAudit((e) => e.action === 'client.deleted' && e.resource.id === clientId);
    await h.expectAudit((e) => e.action === 'client.secret.rotated' && e.resource.id === clientId);
  });

  it('throttles the token endpoint per username with 429 and Retry-After', async () => {
    let last = await h.http
      .post('/api/v1/auth/token')
      .send({ grant_type: 'password', username: 'throttled-name', password: 'x'.repeat(12) });
    for (let i = 0; i < 25 && last.status !== 429; i++) {
      last = await h.http
        .post('/api/v1/auth/token')
        .send({ grant_type: 'password', username: 'throttled-name', password: 'x'.repeat(12) });
    }
    expect(last.status).toBe(429);
    expect(Number(last.headers['retry-after'])).toBeGreaterThan(0);
    expect(last.body.code).toBe('RATE_LIMITED');
    // Another username is not affected.
    expect(
      (
        await h.http
          .post('/api/v1/auth/token')
          .send({ grant_type: 'password', username: 'admin', password: ADMIN_PASSWORD })
      ).status,
    ).toBe(200);
  });
});
