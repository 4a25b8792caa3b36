import { createPublicKey } from 'node:crypto';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT, base64url } from 'jose';
import { JwtVerifier } from './jwt-verifier';
import { RevocationList } from './revocation-list';

describe('JwtVerifier', () => {
  let verifier: JwtVerifier;
  let sign: (claims: Record<string, unknown>, opts?: { exp?: number; alg?: string }) => Promise<string>;
  let publicPem: string;

  beforeAll(async () => {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256' };
    verifier = new JwtVerifier(createLocalJWKSet({ keys: [jwk] }), {
      issuer: 'lienthong/central',
      audience: 'lienthong',
    });

    publicPem = createPublicKey({ key: jwk as never, format: 'jwk' })
      .export({ type: 'spki', format: 'pem' })
      .toString();
    sign = (claims, opts = {}) => {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ org: '000.00.00.A01', roles: ['clerk'], typ: 'user', ...claims })
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setSubject('u1')
        .setIssuer('lienthong/central')
        .setAudience('lienthong')
        .setJti('j1')
        .setIssuedAt(now)
        .setExpirationTime(opts.exp ?? now + 600)
        .sign(privateKey);
    };
  });

  it('accepts a valid token and maps claims', async () => {
    const p = await verifier.verify(await sign({}));
    expect(p).toMatchObject({
      sub: 'u1',
      organizationCode: '000.00.00.A01',
      roles: ['clerk'],
      type: 'user',
      jti: 'j1',
    });
  });

  it('refuses alg:none', async () => {
    const header = base64url.encode(JSON.stringify({ alg: 'none', typ: 'JWT' }));
    const payload = base64url.encode(
      JSON.stringify({ sub: 'u1', org: 'X', roles: ['system-admin'], typ: 'user' }),
    );
    await expect(verifier.verify(`${header}.${payload}.`)).rejects.toMatchObject({
      status: 401,
      code: 'TOKEN_INVALID',
    });
  });

  it('refuses an HS256 token signed with the public key as secret', async () => {
    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({ org: 'X', roles: ['system-admin'], typ: 'user' })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setSubject('attacker')
      .setIssuer('lienthong/central')
      .setAudience('lienthong')
      .setJti('j')
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(new TextEncoder().encode(publicPem));
    await expect(verifier.verify(forged)).rejects.toMatchObject({ status: 401, code: 'TOKEN_INVALID' });
  });

  it('refuses expired tokens, a tampered payload and unknown roles', async () => {
    await expect(
      verifier.verify(await sign({}, { exp: Math.floor(Date.now() / 1000) - 60 })),
    ).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' });
    const [h, , s] = (await sign({})).split('.');
    const evil = base64url.encode(
      JSON.stringify({ sub: 'u1', org: 'X', roles: ['system-admin'], typ: 'user' }),
    );
    await expect(verifier.verify(`${h}.${evil}.${s}`)).rejects.toMatchObject({ status: 401 });
    await expect(verifier.verify(await sign({ roles: ['god'] }))).rejects.toMatchObject({ status: 401 });
  });

  describe('cache of verified tokens', () => {
    let calls: number;
    let cached: JwtVerifier;

    beforeEach(async () => {
      const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
      const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256' };
      const local = createLocalJWKSet({ keys: [jwk] });
      calls = 0;
      cached = new JwtVerifier(
        (h, t) => {
          calls++;
          return local(h, t);
        },
        { issuer: 'lienthong/central', audience: 'lienthong' },
      );
      sign = (claims, opts = {}) => {
        const now = Math.floor(Date.now() / 1000);
        return new SignJWT({ org: '000.00.00.A01', roles: ['clerk'], typ: 'user', ...claims })
          .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
          .setSubject('u1')
          .setIssuer('lienthong/central')
          .setAudience('lienthong')
          .setJti('j1')
          .setIssuedAt(now)
          .setExpirationTime(opts.exp ?? now + 600)
          .sign(privateKey);
      };
    });
    afterEach(() => jest.useRealTimers());
    // Only Date is faked: jose's crypto runs on real promises and timers.
    const fakeDate = () =>
      jest.useFakeTimers({
        doNotFake: [
          'nextTick',
          'setImmediate',
          'queueMicrotask',
          'setTimeout',
          'setInterval',
          'clearTimeout',
          'clearInterval',
          'hrtime',
          'performance',
        ],
      });

    it('verifies a token once and answers the same principal from the cache', async () => {
      const token = await sign({});
      const first = await cached.verify(token);
      const second = await cached.verify(token);
      expect(second).toEqual(first);
      expect(calls).toBe(1);
      // Another token is verified on its own.
      const other = await cached.verify(await sign({ roles: ['auditor'], org: 'B' }));
      expect(other).toMatchObject({ roles: ['auditor'], organizationCode: 'B' });
      expect(calls).toBe(2);
    });

    it('does not let a caller change what the cache answers next', async () => {
      const token = await sign({});
      const p = await cached.verify(token);
      p.roles.push('system-admin');
      (p as { organizationCode: string }).organizationCode = 'X';
      expect(await cached.verify(token)).toMatchObject({
        roles: ['clerk'],
        organizationCode: '000.00.00.A01',
      });
    });

    it('never serves a token past its exp', async () => {
      fakeDate();
      const token = await sign({}, { exp: Math.floor(Date.now() / 1000) + 2 });
      await cached.verify(token);
      jest.setSystemTime(Date.now() + 10_000); // past exp and the 5 s clock tolerance
      await expect(cached.verify(token)).rejects.toMatchObject({ code: 'TOKEN_EXPIRED' });
    });

    it('verifies again after the cache age (key rotation takes effect within it)', async () => {
      fakeDate();
      const token = await sign({});
      await cached.verify(token);
      jest.setSystemTime(Date.now() + 30_000);
      await cached.verify(token);
      expect(calls).toBe(1);
      jest.setSystemTime(Date.now() + 31_000);
      await cached.verify(token);
      expect(calls).toBe(2);
    });

    it('does not cache failures', async () => {
      const [h, p, s] = (await sign({})).split('.');
      const bad = `${h}.${p}.${s.slice(0, -4)}AAAA`;
      await expect(cached.verify(bad)).rejects.toMatchObject({ status: 401 });
      await expect(cached.verify(bad)).rejects.toMatchObject({ status: 401 });
      expect(calls).toBe(2);
    });
  });

  describe('revocations', () => {
    let list: RevocationList;
    let withList: JwtVerifier;
    let calls: number;
    let signAs: (jti: string, iat: number) => Promise<string>;

    beforeEach(async () => {
      const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
      const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256' };
      const local = createLocalJWKSet({ keys: [jwk] });
      calls = 0;
      list = new RevocationList();
      list.markReady();
      withList = new JwtVerifier(
        (h, t) => {
          calls++;
          return local(h, t);
        },
        { issuer: 'lienthong/central', audience: 'lienthong' },
        list,
      );
      signAs = (jti, iat) =>
        new SignJWT({ org: '000.00.00.A01', roles: ['clerk'], typ: 'user' })
          .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
          .setSubject('u1')
          .setIssuer('lienthong/central')
          .setAudience('lienthong')
          .setJti(jti)
          .setIssuedAt(iat)
          .setExpirationTime(iat + 600)
          .sign(privateKey);
    });

    const inOneHour = () => new Date(Date.now() + 3_600_000).toISOString();

    it('refuses a revoked jti even when the token is answered from the cache', async () => {
      const token = await signAs('j-revoked', Math.floor(Date.now() / 1000));
      await withList.verify(token);
      expect(calls).toBe(1);
      list.apply({
        jti: 'j-revoked',
        revokedAt: new Date().toISOString(),
        expiresAt: inOneHour(),
        reason: 'revoked',
      });
      await expect(withList.verify(token)).rejects.toMatchObject({ status: 401, code: 'TOKEN_REVOKED' });
      // The cache answered (no second signature check), and still refused.
      expect(calls).toBe(1);
      const other = await signAs('j-other', Math.floor(Date.now() / 1000));
      await expect(withList.verify(other)).resolves.toMatchObject({ jti: 'j-other' });
    });

    it("refuses a subject's tokens issued up to the revocation, not those issued later", async () => {
      const now = Math.floor(Date.now() / 1000);
      const before = await signAs('j-before', now - 120);
      const after = await signAs('j-after', now + 2);
      await withList.verify(before);
      list.apply({
        subject: 'u1',
        subjectType: 'user',
        revokedAt: new Date((now - 60) * 1000).toISOString(),
        expiresAt: inOneHour(),
        reason: 'user-disabled',
      });
      await expect(withList.verify(before)).rejects.toMatchObject({ code: 'TOKEN_REVOKED' });
      await expect(withList.verify(after)).resolves.toMatchObject({ jti: 'j-after' });
      // A client with the same sub string is another subject.
      expect(list.isRevoked({ jti: 'x', sub: 'u1', type: 'client', issuedAt: now - 120 })).toBe(false);
    });

    it('forgets revocations that have expired', () => {
      list.apply({
        jti: 'old',
        revokedAt: new Date(Date.now() - 7200_000).toISOString(),
        expiresAt: new Date(Date.now() - 1000).toISOString(),
        reason: 'revoked',
      });
      expect(list.isRevoked({ jti: 'old', sub: 'u1', type: 'user', issuedAt: 0 })).toBe(false);
      expect(list.size).toBe(0);
    });
  });
});
