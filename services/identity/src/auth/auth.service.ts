import { Injectable } from '@nestjs/common';
import { AuditRecorder, JwtVerifier, type Principal } from '@lienthong/common';
import { AuditActions, type Role } from '@lienthong/contracts';
import { SignJWT } from 'jose';
import { randomBytes, randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { ClientsService } from '../clients/clients.service';
import { IdentityConfig } from '../config/identity.config';
import { KeyRing } from '../keys/key-ring';
import { PasswordHasher } from '../users/password-hasher';
import { UserRow, UsersRepository } from '../users/users.repository';
import { TotpCodes } from '../users/totp-codes';
import { invalidClient, invalidGrant } from './oauth-error';
import { RefreshTokensRepository } from './refresh-tokens.repository';
import { PendingRevocations, TokenRevocations } from './token-revocations';

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token?: string;
}

type LoginOutcome =
  { ok: true; user: UserRow } | { ok: false; reason: string; userId?: string; locked?: boolean };

/** Grants: password (with lockout and optional TOTP), client credentials, rotating refresh tokens. */
@Injectable()
export class AuthService {
  constructor(
    private readonly ds: DataSource,
    private readonly users: UsersRepository,
    private readonly refresh: RefreshTokensRepository,
    private readonly clients: ClientsService,
    private readonly hasher: PasswordHasher,
    private readonly ring: KeyRing,
    private readonly totp: TotpCodes,
    private readonly audit: AuditRecorder,
    private readonly config: IdentityConfig,
    private readonly revocations: TokenRevocations,
    private readonly verifier: JwtVerifier,
  ) {}

  /** Claims exactly: iss, aud, sub, org, roles, typ, jti, iat, exp. */
  async signAccess(
    sub: string,
    org: string,
    roles: Role[],
    typ: 'user' | 'client',
  ): Promise<{ token: string; jti: string; expiresAt: Date }> {
    const key = this.ring.current();
    const jti = randomUUID();
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ org, roles, typ })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
      .setIssuer(this.config.jwtIssuer)
      .setAudience(this.config.JWT_AUDIENCE)
      .setSubject(sub)
      .setJti(jti)
      .setIssuedAt(now)
      .setExpirationTime(now + this.config.ACCESS_TOKEN_TTL_SECONDS)
      .sign(key.privateKey);
    return { token, jti, expiresAt: new Date((now + this.config.ACCESS_TOKEN_TTL_SECONDS) * 1000) };
  }

  private async issueForUser(m: EntityManager, user: UserRow, familyId: string): Promise<TokenResponse> {
    const { token, jti, expiresAt } = await this.signAccess(
      user.id,
      user.organization_code,
      user.roles,
      'user',
    );
    const refreshToken = randomBytes(32).toString('base64url');
    await this.refresh.insert(m, {
      id: randomUUID(),
      family_id: familyId,
      user_id: user.id,
      token: refreshToken,
      ttlSeconds: this.config.REFRESH_TOKEN_TTL_SECONDS,
      accessJti: jti,
      accessExpiresAt: expiresAt,
    });
    return {
      access_token: token,
      token_type: 'Bearer',
      expires_in: this.config.ACCESS_TOKEN_TTL_SECONDS,
      refresh_token: refreshToken,
    };
  }

  async passwordGrant(username: string, password: string, otp: string | undefined): Promise<TokenResponse> {
    let tokens: TokenResponse | null = null;
    const outcome = await this.ds.transaction(async (m): Promise<LoginOutcome> => {
      const user = await this.users.findByUsernameForUpdate(m, username);
      if (!user) {
        await this.hasher.burn(password);
        await this.audit.record(m, {
          action: AuditActions.loginFailed,
          actor: { sub: username, type: 'anonymous' },
          resource: { type: 'user', id: username },
          outcome: 'failure',
          details: { reason: 'unknown-user' },
        });
        return { ok: false, reason: 'unknown-user' };
      }
      const now = Date.now();
      const locked = user.locked_until !== null && new Date(user.locked_until).getTime() > now;
      // Always verify, so a locked account costs and answers the same as a wrong password.
      const passwordOk = await this.hasher.verify(user.password_hash, password);
      if (locked) return this.fail(m, user, 'locked');
      if (!passwordOk) return this.countFailure(m, user, now);
      if (user.disabled) return this.fail(m, user, 'disabled');
      if (user.totp_enabled) {
        if (!otp) return this.countFailure(m, user, now, 'otp-required');
        // A code already used (its step or a later one's) is a wrong code to the client: same answer, audited
        // (`otp-replayed`, a warning in the SOC feed) and counted toward the lockout like one.
        const verdict = await this.totp.use(m, user, otp);
        if (verdict !== 'ok')
          return this.countFailure(m, user, now, verdict === 'replayed' ? 'otp-replayed' : 'otp-invalid');
      }
      const clean = { ...user, failed_count: 0, first_failed_at: null, locked_until: null, lock_level: 0 };
      if (user.failed_count !== 0 || user.lock_level !== 0) await this.users.save(m, clean);
      tokens = await this.issueForUser(m, clean, randomUUID());
      const actor = { sub: user.id, organizationCode: user.organization_code, type: 'user' as const };
      await this.audit.record(
        m,
        { action: AuditActions.loginSucceeded, actor, resource: { type: 'user', id: user.id } },
        {
          action: AuditActions.tokenIssued,
          actor,
          resource: { type: 'user', id: user.id },
          details: { grant: 'password' },
        },
      );
      return { ok: true, user: clean };
    });
    if (!outcome.ok || !tokens)
      throw invalidGrant(
        outcome.ok
          ? undefined
          : outcome.reason === 'otp-required'
            ? 'A one-time password (otp) is required'
            : undefined,
      );
    return tokens;
  }

  private async fail(m: EntityManager, user: UserRow, reason: string): Promise<LoginOutcome> {
    await this.audit.record(m, {
      action: AuditActions.loginFailed,
      actor: { sub: user.id, organizationCode: user.organization_code, type: 'anonymous' },
      resource: { type: 'user', id: user.id },
      outcome: 'failure',
      details: { reason },
    });
    return { ok: false, reason, userId: user.id };
  }

  /** Counts a failure inside the window; at the limit the account locks, each further lock twice as long. */
  private async countFailure(
    m: EntityManager,
    user: UserRow,
    now: number,
    reason = 'bad-password',
  ): Promise<LoginOutcome> {
    const windowMs = this.config.LOCKOUT_WINDOW_SECONDS * 1000;
    const inWindow =
      user.first_failed_at !== null && now - new Date(user.first_failed_at).getTime() < windowMs;
    const next: UserRow = {
      ...user,
      failed_count: inWindow ? user.failed_count + 1 : 1,
      first_failed_at: inWindow ? user.first_failed_at : new Date(now),
    };
    let lockedFor = 0;
    if (next.failed_count >= this.config.LOCKOUT_MAX_FAILURES) {
      next.lock_level = user.lock_level + 1;
      lockedFor = Math.min(
        this.config.LOCKOUT_BASE_SECONDS * 2 ** (next.lock_level - 1),
        this.config.LOCKOUT_MAX_SECONDS,
      );
      next.locked_until = new Date(now + lockedFor * 1000);
      next.failed_count = 0;
      next.first_failed_at = null;
    }
    await this.users.save(m, next);
    await this.fail(m, user, reason);
    if (lockedFor > 0) {
      await this.audit.record(m, {
        action: AuditActions.accountLocked,
        resource: { type: 'user', id: user.id },
        outcome: 'failure',
        details: { lockedForSeconds: lockedFor, lockLevel: next.lock_level },
      });
    }
    return { ok: false, reason, userId: user.id, locked: lockedFor > 0 };
  }

  async clientCredentialsGrant(clientId: string, secret: string): Promise<TokenResponse> {
    const client = await this.clients.authenticate(clientId, secret);
    if (!client) {
      await this.ds.transaction((m) =>
        this.audit.record(m, {
          action: AuditActions.loginFailed,
          actor: { sub: clientId.slice(0, 64), type: 'anonymous' },
          resource: { type: 'client', id: clientId.slice(0, 64) },
          outcome: 'failure',
          details: { grant: 'client_credentials' },
        }),
      );
      throw invalidClient();
    }
    const { token } = await this.signAccess(
      client.client_id,
      client.organization_code,
      client.roles,
      'client',
    );
    await this.ds.transaction((m) =>
      this.audit.record(m, {
        action: AuditActions.tokenIssued,
        actor: { sub: client.client_id, organizationCode: client.organization_code, type: 'client' },
        resource: { type: 'client', id: client.client_id },
        details: { grant: 'client_credentials' },
      }),
    );
    return { access_token: token, token_type: 'Bearer', expires_in: this.config.ACCESS_TOKEN_TTL_SECONDS };
  }

  /** Rotates a refresh token; presenting one that was already used revokes its whole family. */
  async refreshGrant(refreshToken: string): Promise<TokenResponse> {
    let tokens: TokenResponse | null = null;
    const pending = new PendingRevocations();
    await this.ds.transaction(async (m) => {
      const row = await this.refresh.findForUpdate(m, refreshToken);
      if (!row) return;
      const resource = { type: 'user', id: row.user_id };
      if (row.used_at || row.revoked_at) {
        // A reused refresh token means it leaked: the session's access tokens go with it.
        const live = await this.refresh.revokeFamily(m, row.family_id);
        await this.revocations.tokens(m, pending, live, 'session-revoked');
        if (row.used_at) {
          await this.audit.record(m, {
            action: AuditActions.refreshReuseDetected,
            resource,
            outcome: 'denied',
            details: { familyId: row.family_id },
          });
        }
        return;
      }
      if (new Date(row.expires_at).getTime() <= Date.now()) return;
      const user = await this.users.findById(row.user_id, m);
      if (!user || user.disabled) {
        await this.refresh.revokeFamily(m, row.family_id);
        return;
      }
      await this.refresh.markUsed(m, row.id);
      tokens = await this.issueForUser(m, user, row.family_id);
      await this.audit.record(m, {
        action: AuditActions.tokenRefreshed,
        actor: { sub: user.id, organizationCode: user.organization_code, type: 'user' },
        resource,
      });
    });
    await this.revocations.announce(pending);
    if (!tokens) throw invalidGrant('The refresh token is invalid, expired or revoked');
    return tokens;
  }

  /**
   * RFC 7009: always 200. A refresh token of the caller (or any, for a system-admin) ends its session and the
   * session's access tokens; an access token of the caller (or any, for a system-admin) is revoked everywhere.
   */
  async revoke(caller: Principal, token: string): Promise<void> {
    const pending = new PendingRevocations();
    const isSystemAdmin = caller.roles.includes('system-admin');
    await this.ds.transaction(async (m) => {
      const row = await this.refresh.findForUpdate(m, token);
      if (row) {
        if (!isSystemAdmin && (caller.type !== 'user' || row.user_id !== caller.sub)) return;
        const live = await this.refresh.revokeFamily(m, row.family_id);
        await this.revocations.tokens(m, pending, live, 'session-revoked');
        await this.audit.record(m, {
          action: AuditActions.tokenRevoked,
          actor: caller,
          resource: { type: 'user', id: row.user_id },
          details: { familyId: row.family_id },
        });
        return;
      }
      const access = await this.accessToken(token);
      if (!access) return;
      if (!isSystemAdmin && (access.sub !== caller.sub || access.type !== caller.type)) return;
      await this.revocations.tokens(
        m,
        pending,
        [{ jti: access.jti, expiresAt: new Date(access.expiresAt * 1000) }],
        'revoked',
      );
      await this.audit.record(m, {
        action: AuditActions.tokenRevoked,
        actor: caller,
        resource: { type: access.type, id: access.sub },
        details: { jti: access.jti },
      });
    });
    await this.revocations.announce(pending);
  }

  /** The claims of an access token this node issued and that is still valid, or null. */
  private async accessToken(token: string): Promise<Principal | null> {
    if (token.split('.').length !== 3) return null;
    try {
      return await this.verifier.verify(token);
    } catch {
      return null;
    }
  }
}
