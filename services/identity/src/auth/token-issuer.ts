import { Injectable } from '@nestjs/common';
import type { Role } from '@lienthong/contracts';
import { SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import { IdentityConfig } from '../config/identity.config';
import { SigningKeysService } from '../keys/signing-keys.service';

export interface TokenSubject {
  sub: string;
  username?: string;
  organizationCode: string;
  roles: Role[];
  type: 'user' | 'client';
}

/** Access tokens: exactly the claims of API.md (iss, aud, sub, org, roles, typ, jti, iat, exp; username for users). */
@Injectable()
export class TokenIssuer {
  constructor(
    private readonly keys: SigningKeysService,
    private readonly config: IdentityConfig,
  ) {}

  async issue(s: TokenSubject): Promise<{ token: string; jti: string; expiresIn: number }> {
    const { kid, alg, key } = this.keys.signingKey();
    const jti = randomUUID();
    const now = Math.floor(Date.now() / 1000);
    const expiresIn = this.config.ACCESS_TOKEN_TTL_SECONDS;
    const token = await new SignJWT({
      org: s.organizationCode,
      roles: s.roles,
      typ: s.type,
      ...(s.username ? { username: s.username } : {}),
    })
      .setProtectedHeader({ alg, kid, typ: 'JWT' })
      .setIssuer(this.config.jwtIssuer)
      .setAudience(this.config.JWT_AUDIENCE)
      .setSubject(s.sub)
      .setJti(jti)
      .setIssuedAt(now)
      .setExpirationTime(now + expiresIn)
      .sign(key);
    return { token, jti, expiresIn };
  }
}
