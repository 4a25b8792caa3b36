import { Injectable } from '@nestjs/common';
import { AuditRecorder, hasRole, JwtVerifier, tooManyRequests, type Principal } from '@lienthong/common';
import { AuditActions } from '@lienthong/contracts';
import { authenticator } from 'otplib';
import { DataSource } from 'typeorm';
import { ClientsService } from '../clients/clients.service';
import { IdentityConfig } from '../config/identity.config';
import { PasswordHasher } from '../passwords/password-hasher';
import { UsersRepository } from '../users/users.repository';
import { OAuthError } from './oauth-error';
import { RateLimiter } from './rate-limiter';
import { RefreshTokensRepository } from './refresh-tokens.repository';
import { TokenIssuer } from './token-issuer';

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token?: string;
}

const str = (v: unknown) => (typeof v === 'string' && v.length > 0 && v.length <= 4096 ? v : undefined);
const invalidGrant = (why = 'The credentials are not valid') => new OAuthError(401, 'invalid_grant', why);

@Injectable()
export class AuthService {
  constructor(
    private readonly ds: DataSource,
    private readonly users: UsersRepository,
    private readonly clients: ClientsService,
    private readonly hasher: PasswordHasher,
    private readonly refresh: RefreshTokensRepository,
    private readonly issuer: TokenIssuer,
    private readonly limiter: RateLimiter,
    private readonly audit: AuditRecorder,
    private readonly verifier: JwtVerifier,
    private readonly config: IdentityConfig,
  ) {}

  async token(body: Record<string, unknown>, ip: string, basic?: { id: string; secret: string }): Promise<TokenResponse> {
    if (!body || typeof body !== 'object') throw new OAuthError(400, 'invalid_request', 'A form or JSON body is required');
    const grant = str(body.grant_type);
    if (!grant) throw new OAuthError(400, 'invalid_request', 'grant_type is required');
    this.throttle(`ip:${ip}`, this.config.TOKEN_RATE_LIMIT_PER_IP);
    switch (grant) {
      case 'password':
        return this.passwordGrant(body);
      case 'client_credentials':
        return this.clientCredentialsGrant(str(body.client_id) ?? basic?.id, str(body.client_secret) ?? basic?.secret);
      case 'refresh_token':
        return this.refreshGrant(body);
      default:
        throw new OAuthError(400, 'unsupported_grant_type', `grant_type ${grant.slice(0, 40)} is not supported`);
    }
  }

  private throttle(key: string, limit: number) {
    const wait = this.limiter.hit(key, limit, this.config.TOKEN_RATE_LIMIT_WINDOW_SECONDS);
    if (wait > 0) throw tooManyRequests('RATE_LIMITED', 'Too many token requests; try again later', wait);
  }

  private async auditAlone(input: Parameters<AuditRecorder['record']>[1]) {
    await this.ds.transaction((m) => this.audit.record(m, input));
  }

  private async passwordGrant(body: Record<string, unknown>): Promise<TokenResponse> {
    const username = str(body.username);
    const password = str(body.password);
    if (!username || !password) throw new OAuthError(400, 'invalid_request', 'username and password are required');
    this.throttle(`user:${username.toLowerCase()}`, this.config.TOKEN_RATE_LIMIT_PER_USERNAME);
    const user = await this.users.byUsername(username);
    const passwordOk = await this.hasher.verify(user?.password_hash, password);
    const failed = async (reason: string) => {
      await this.auditAlone({
        action: AuditActions.loginFailed,
        actor: { sub: user?.id ?? username.slice(0, 64), organizationCode: user?.organization_code ?? null, type: 'anonymous' },
        resource: { type: 'user', id: user?.id ?? username.slice(0, 64) },
        outcome: 'failure',
        details: { reason },
      });
      // Same answer whatever the reason: never say whether the password was right.
      return invalidGrant();
    };
    if (!user) throw await failed('unknown-user');
    if (!passwordOk) {
      const r = await this.users.recordFailure(user.id, this.config.LOCKOUT_MAX_FAILURES, this.config.LOCKOUT_WINDOW_SECONDS, this.config.LOCKOUT_BASE_SECONDS);
      if (r?.newly_locked) {
        await this.auditAlone({
          action: AuditActions.accountLocked,
          resource: { type: 'user', id: user.id },
          details: { until: r.locked_until, failures: r.failed_count },
        });
      }
      throw await failed('wrong-password');
    }
    if (user.locked_until && new Date(user.locked_until) > new Date()) throw await failed('locked');
    if (user.disabled) throw await failed('disabled');
    if (user.totp_enabled) {
      const otp = str(body.otp);
      if (!otp || !user.totp_secret || !authenticator.check(otp, user.totp_secret)) {
        await this.users.recordFailure(user.id, this.config.LOCKOUT_MAX_FAILURES, this.config.LOCKOUT_WINDOW_SECONDS, this.config.LOCKOUT_BASE_SECONDS);
        throw await failed(otp ? 'wrong-otp' : 'otp-required');
      }
    }
    await this.users.recordSuccess(user.id);
    const access = await this.issuer.issue({
      sub: user.id,
      username: user.username,
      organizationCode: user.organization_code,
      roles: user.roles,
      type: 'user',
    });
    const refreshToken = await this.ds.transaction(async (m) => {
      const rt = await this.refresh.create(m, 'user', user.id, this.config.REFRESH_TOKEN_TTL_SECONDS);
      const actor = { sub: user.id, organizationCode: user.organization_code, type: 'user' as const };
      await this.audit.record(
        m,
        { action: AuditActions.loginSucceeded, actor, resource: { type: 'user', id: user.id } },
        { action: AuditActions.tokenIssued, actor, resource: { type: 'token', id: access.jti }, details: { grant: 'password' } },
      );
      return rt;
    });
    return { access_token: access.token, token_type: 'Bearer', expires_in: access.expiresIn, refresh_token: refreshToken };
  }

  private async clientCredentialsGrant(clientId?: string, secret?: string): Promise<TokenResponse> {
    if (!clientId || !secret) throw new OAuthError(400, 'invalid_request', 'client_id and client_secret are required');
    const client = await this.clients.authenticate(clientId, secret);
    if (!client) {
      await this.auditAlone({
        action: AuditActions.loginFailed,
        actor: { sub: clientId.slice(0, 100), type: 'anonymous' },
        resource: { type: 'client', id: clientId.slice(0, 100) },
        outcome: 'failure',
      });
      throw new OAuthError(401, 'invalid_client', 'Client authentication failed');
    }
    const access = await this.issuer.issue({
      sub: client.client_id,
      organizationCode: client.organization_code,
      roles: client.roles,
      type: 'client',
    });
    await this.auditAlone({
      action: AuditActions.tokenIssued,
      actor: { sub: client.client_id, organizationCode: client.organization_code, type: 'client' },
      resource: { type: 'token', id: access.jti },
      details: { grant: 'client_credentials' },
    });
    return { access_token: access.token, token_type: 'Bearer', expires_in: access.expiresIn };
  }

  private async refreshGrant(body: Record<string, unknown>): Promise<TokenResponse> {
    const token = str(body.refresh_token);
    if (!token) throw new OAuthError(400, 'invalid_request', 'refresh_token is required');
    const outcome = await this.ds.transaction(async (m) => {
      const row = await this.refresh.findForUse(m, token);
      if (!row || row.revoked_at || new Date(row.expires_at) <= new Date()) return { error: 'invalid' as const };
      if (row.used_at) {
        // A rotated token came back: someone holds a copy. Kill the whole family.
        await this.refresh.revokeFamily(m, row.family_id);
        await this.audit.record(m, {
          action: AuditActions.refreshReuseDetected,
          actor: { sub: row.subject_id, type: row.subject_type },
          resource: { type: 'token-family', id: row.family_id },
          outcome: 'denied',
        });
        return { error: 'reused' as const };
      }
      const user = row.subject_type === 'user' ? await this.users.byId(row.subject_id, m) : undefined;
      if (!user || user.disabled) {
        await this.refresh.revokeFamily(m, row.family_id);
        return { error: 'invalid' as const };
      }
      await this.refresh.markUsed(m, row.id);
      const next = await this.refresh.create(m, 'user', user.id, this.config.REFRESH_TOKEN_TTL_SECONDS, row.family_id);
      const access = await this.issuer.issue({
        sub: user.id,
        username: user.username,
        organizationCode: user.organization_code,
        roles: user.roles,
        type: 'user',
      });
      await this.audit.record(m, {
        action: AuditActions.tokenRefreshed,
        actor: { sub: user.id, organizationCode: user.organization_code, type: 'user' },
        resource: { type: 'token', id: access.jti },
      });
      return { access, next };
    });
    if ('error' in outcome) throw invalidGrant('The refresh token is not valid');
    return { access_token: outcome.access.token, token_type: 'Bearer', expires_in: outcome.access.expiresIn, refresh_token: outcome.next };
  }

  /** RFC 7009: always 200; a caller revokes its own tokens (system-admins any). */
  async revoke(actor: Principal, token: string): Promise<void> {
    if (typeof token !== 'string' || token.length > 4096) return;
    await this.ds.transaction(async (m) => {
      if (token.split('.').length === 2) {
        const row = await this.refresh.findForUse(m, token);
        if (!row || (row.subject_id !== actor.sub && !hasRole(actor, 'system-admin'))) return;
        await this.refresh.revokeFamily(m, row.family_id);
        await this.audit.record(m, { action: AuditActions.tokenRevoked, actor, resource: { type: 'token-family', id: row.family_id } });
        return;
      }
      let target: Principal;
      try {
        target = await this.verifier.verify(token);
      } catch {
        return;
      }
      if (target.sub !== actor.sub && !hasRole(actor, 'system-admin')) return;
      await this.refresh.revokeAccess(m, target.jti, new Date(target.expiresAt * 1000));
      await this.audit.record(m, { action: AuditActions.tokenRevoked, actor, resource: { type: 'token', id: target.jti } });
    });
  }

  async isRevoked(jti: string): Promise<boolean> {
    return this.refresh.isAccessRevoked(jti);
  }
}
