import { Inject, Injectable, Optional } from '@nestjs/common';
import { ROLES, type Role } from '@lienthong/contracts';
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { DomainError } from '../errors/domain-error';
import type { Principal } from './principal';
import { RevocationList } from './revocation-list';

/** Only asymmetric algorithms: `none` and HMAC (HS*) tokens are refused before any key lookup. */
export const ALLOWED_JWT_ALGORITHMS = ['RS256', 'PS256', 'ES256'];

export const JWT_KEY_RESOLVER = Symbol('JWT_KEY_RESOLVER');
export const JWT_VERIFY_OPTIONS = Symbol('JWT_VERIFY_OPTIONS');

export interface JwtVerifyOptions {
  issuer: string | string[];
  audience: string;
  clockToleranceSeconds?: number;
}

/**
 * Keys from the identity service's JWKS, cached; an unknown `kid` triggers a refetch (at most every 30 s),
 * so rotated keys are picked up without a restart.
 */
export function remoteJwks(url: string): JWTVerifyGetKey {
  return createRemoteJWKSet(new URL(url), {
    cacheMaxAge: 10 * 60_000,
    cooldownDuration: 30_000,
    timeoutDuration: 5_000,
  });
}

const invalid = (message: string) => new DomainError(401, 'TOKEN_INVALID', message);

/** Verified tokens remembered (a client sends the same bearer token with every request until it expires). */
const CACHE_MAX_ENTRIES = 1000;
/** …for at most this long, and never past the token's own `exp`: a key rotation takes effect within it. */
const CACHE_MAX_AGE_MS = 60_000;

@Injectable()
export class JwtVerifier {
  /**
   * Successful verifications by exact token string. Signature checks (RS256 with jose) are the largest
   * per-request cost of a small authenticated GET; a token whose signature and claims verified stays valid
   * until its `exp`, so the result is reused until then (at most CACHE_MAX_AGE_MS). Failures are never
   * cached. Insertion-ordered Map: the oldest entry goes first when full.
   */
  private readonly verified = new Map<string, { principal: Principal; until: number }>();

  constructor(
    @Inject(JWT_KEY_RESOLVER) private readonly keys: JWTVerifyGetKey,
    @Inject(JWT_VERIFY_OPTIONS) private readonly options: JwtVerifyOptions,
    @Optional() private readonly revocations?: RevocationList,
  ) {}

  async verify(token: string): Promise<Principal> {
    if (this.revocations && !this.revocations.ready) await this.revocations.whenReady();
    const hit = this.verified.get(token);
    if (hit) {
      if (Date.now() < hit.until) {
        // Revocations apply to remembered tokens too: the cache saves the signature check, not this one.
        this.assertNotRevoked(hit.principal);
        return { ...hit.principal, roles: [...hit.principal.roles] };
      }
      this.verified.delete(token);
    }
    const principal = await this.verifyUncached(token);
    this.assertNotRevoked(principal);
    const until = Math.min(principal.expiresAt * 1000, Date.now() + CACHE_MAX_AGE_MS);
    if (until > Date.now()) {
      if (this.verified.size >= CACHE_MAX_ENTRIES) this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(token, { principal: { ...principal, roles: [...principal.roles] }, until });
    }
    return principal;
  }

  private assertNotRevoked(p: Principal): void {
    if (this.revocations?.isRevoked(p)) throw new DomainError(401, 'TOKEN_REVOKED', 'Token revoked');
  }

  private async verifyUncached(token: string): Promise<Principal> {
    let alg: string | undefined;
    try {
      alg = decodeProtectedHeader(token).alg;
    } catch {
      throw invalid('Malformed token');
    }
    if (!alg || !ALLOWED_JWT_ALGORITHMS.includes(alg)) throw invalid('Token algorithm not allowed');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.keys, {
        algorithms: ALLOWED_JWT_ALGORITHMS,
        issuer: this.options.issuer,
        audience: this.options.audience,
        clockTolerance: this.options.clockToleranceSeconds ?? 5,
        requiredClaims: ['sub', 'exp', 'iat', 'jti'],
      }));
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired) throw new DomainError(401, 'TOKEN_EXPIRED', 'Token expired');
      if (e instanceof joseErrors.JWKSNoMatchingKey) throw invalid('Unknown signing key');
      if (e instanceof joseErrors.JOSEError) throw invalid('Token rejected');
      throw new DomainError(503, 'JWKS_UNAVAILABLE', 'Token keys are unavailable');
    }
    return toPrincipal(payload);
  }
}

export function toPrincipal(payload: JWTPayload): Principal {
  const { sub, org, roles, typ, jti, exp, iat, username } = payload as JWTPayload & Record<string, unknown>;
  if (typeof sub !== 'string' || typeof org !== 'string' || typeof jti !== 'string')
    throw invalid('Missing claims');
  if (
    !Array.isArray(roles) ||
    !roles.every((r) => typeof r === 'string' && (ROLES as readonly string[]).includes(r))
  ) {
    throw invalid('Bad roles claim');
  }
  if (typ !== 'user' && typ !== 'client') throw invalid('Bad typ claim');
  return {
    sub,
    organizationCode: org,
    roles: roles as Role[],
    type: typ,
    jti,
    expiresAt: Number(exp),
    issuedAt: Number(iat),
    ...(typeof username === 'string' ? { username } : {}),
  };
}
