import type { Role } from '@lienthong/contracts';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type KeyLike } from 'jose';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';

export interface MintOptions {
  sub?: string;
  org: string;
  roles: Role[];
  typ?: 'user' | 'client';
  username?: string;
  expiresInSeconds?: number;
  issuer?: string;
  audience?: string;
  notBefore?: number;
}

/**
 * Token minting for tests: a real RS256 key pair and a real JWKS endpoint on a random port, so services
 * under test verify tokens exactly as in production.
 */
export class TestTokens {
  private constructor(
    private readonly privateKey: KeyLike,
    readonly publicJwk: JWK,
    private readonly server: Server,
    readonly jwksUrl: string,
    readonly issuer: string,
    readonly audience: string,
  ) {}

  static async start(issuer = 'lienthong/central', audience = 'lienthong'): Promise<TestTokens> {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    const publicJwk = { ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
    const server = createServer((_req, res) => {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ keys: [publicJwk] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    return new TestTokens(
      privateKey,
      publicJwk,
      server,
      `http://127.0.0.1:${port}/jwks.json`,
      issuer,
      audience,
    );
  }

  async mint(o: MintOptions): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const jwt = new SignJWT({
      org: o.org,
      roles: o.roles,
      typ: o.typ ?? 'user',
      ...(o.username ? { username: o.username } : {}),
    })
      .setProtectedHeader({ alg: 'RS256', kid: 'test-key', typ: 'JWT' })
      .setSubject(o.sub ?? randomUUID())
      .setIssuer(o.issuer ?? this.issuer)
      .setAudience(o.audience ?? this.audience)
      .setJti(randomUUID())
      .setIssuedAt(now)
      .setExpirationTime(now + (o.expiresInSeconds ?? 900));
    if (o.notBefore) jwt.setNotBefore(o.notBefore);
    return jwt.sign(this.privateKey);
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
