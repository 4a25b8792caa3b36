import { Injectable } from '@nestjs/common';
import { AuditRecorder, DomainError, forbidden, notFound, conflict, type Principal } from '@lienthong/common';
import { AuditActions, type Role } from '@lienthong/contracts';
import { randomUUID } from 'node:crypto';
import { authenticator } from 'otplib';
import { DataSource } from 'typeorm';
import { RefreshTokensRepository } from '../auth/refresh-tokens.repository';
import { PendingRevocations, TokenRevocations } from '../auth/token-revocations';
import { IdentityConfig } from '../config/identity.config';
import { SecretBox } from '../crypto/secret-box';
import { OrganizationsService } from '../organizations/organizations.service';
import { decodeCursor, pageOf, type Page } from '../paging/cursor';
import { PasswordHasher } from './password-hasher';
import { totpContext, TotpCodes } from './totp-codes';
import { passwordProblems } from './password-policy';
import { ChangePasswordDto, CreateUserDto, ListUsersQuery, UpdateUserDto, UserView } from './users.dto';
import { toUserView, UserRow, UsersRepository } from './users.repository';

const weakPassword = (field: string, problems: string[]) =>
  new DomainError(400, 'PASSWORD_POLICY', `The password ${problems.join(', ')}`, [
    { field, errors: problems },
  ]);

/** Nobody grants (or takes away) a role they do not hold themselves; system-admin manages everything. */
export function assertRolesGrantable(actor: Principal, roles: Iterable<Role>): void {
  if (actor.roles.includes('system-admin')) return;
  for (const r of roles) {
    if (!actor.roles.includes(r))
      throw forbidden('ROLE_NOT_GRANTABLE', `You cannot grant or remove the role ${r}`);
  }
}

@Injectable()
export class UsersService {
  constructor(
    private readonly ds: DataSource,
    private readonly repo: UsersRepository,
    private readonly refresh: RefreshTokensRepository,
    private readonly orgs: OrganizationsService,
    private readonly hasher: PasswordHasher,
    private readonly box: SecretBox,
    private readonly audit: AuditRecorder,
    private readonly config: IdentityConfig,
    private readonly revocations: TokenRevocations,
    private readonly totp: TotpCodes,
  ) {}

  async create(actor: Principal | null, dto: CreateUserDto): Promise<UserView> {
    if (actor) {
      if (!(await this.orgs.get(dto.organizationCode))) {
        throw new DomainError(422, 'ORGANIZATION_NOT_FOUND', 'Unknown organization', [
          { field: 'organizationCode', errors: ['unknown organization'] },
        ]);
      }
      if (!(await this.orgs.canManage(actor, dto.organizationCode))) {
        throw forbidden('FORBIDDEN', 'You may create users only in your own subtree');
      }
      assertRolesGrantable(actor, dto.roles);
    }
    const problems = passwordProblems(dto.password, dto.username);
    if (problems.length) throw weakPassword('password', problems);
    const passwordHash = await this.hasher.hash(dto.password);
    return this.ds.transaction(async (m) => {
      const row = await this.repo.insert(m, {
        id: randomUUID(),
        username: dto.username,
        full_name: dto.fullName,
        email: dto.email ?? null,
        password_hash: passwordHash,
        organization_code: dto.organizationCode,
        roles: dto.roles,
      });
      if (!row) throw conflict('USERNAME_TAKEN', 'This username is already taken');
      await this.audit.record(m, {
        action: AuditActions.userCreated,
        ...(actor ? { actor } : {}),
        resource: { type: 'user', id: row.id },
        details: { username: row.username, organizationCode: row.organization_code, roles: row.roles },
      });
      return toUserView(row);
    });
  }

  /**
   * Whose users the principal may see: its own organization's, and an org-admin its subtree's (API.md, common
   * rules); system-admin everyone's.
   */
  private async canSeeUsersOf(actor: Principal, code: string): Promise<boolean> {
    if (actor.roles.includes('system-admin') || code === actor.organizationCode) return true;
    return this.orgs.canManage(actor, code);
  }

  /** A user the principal may see, or 404 (existence outside the caller's scope is not revealed). */
  private async visible(actor: Principal, id: string): Promise<UserRow> {
    const row = await this.repo.findById(id);
    if (!row || (row.id !== actor.sub && !(await this.canSeeUsersOf(actor, row.organization_code))))
      throw notFound('USER_NOT_FOUND', 'Unknown user');
    return row;
  }

  async get(actor: Principal, id: string): Promise<UserView> {
    return toUserView(await this.visible(actor, id));
  }

  async me(actor: Principal): Promise<UserRow | null> {
    return this.repo.findById(actor.sub);
  }

  async list(actor: Principal, q: ListUsersQuery): Promise<Page<UserView>> {
    const limit = q.limit ?? 50;
    let codes: string[] | null;
    if (q.organizationCode) {
      if (
        !(await this.canSeeUsersOf(actor, q.organizationCode)) ||
        !(await this.orgs.get(q.organizationCode))
      ) {
        throw notFound('ORGANIZATION_NOT_FOUND', 'Unknown organization');
      }
      codes = [q.organizationCode];
    } else if (actor.roles.includes('system-admin')) {
      codes = null;
    } else if (actor.roles.includes('org-admin')) {
      codes = await this.orgs.subtree(actor.organizationCode);
    } else {
      // A clerk, leader or specialist sees the officials of its own organization, not of those below it.
      codes = [actor.organizationCode];
    }
    const rows = await this.repo.list(codes, decodeCursor(q.cursor), limit);
    const page = pageOf(rows, limit, (r) => r.username);
    return { items: page.items.map(toUserView), nextCursor: page.nextCursor };
  }

  async update(actor: Principal, id: string, dto: UpdateUserDto): Promise<UserView> {
    const seen = await this.visible(actor, id);
    if (!(await this.orgs.canManage(actor, seen.organization_code)))
      throw forbidden('FORBIDDEN', 'You may not change this user');
    // Managing someone who holds a role you lack (e.g. an org-admin disabling a system-admin) is an escalation too.
    assertRolesGrantable(actor, seen.roles);
    if (dto.roles) assertRolesGrantable(actor, dto.roles);
    const pending = new PendingRevocations();
    const view = await this.ds.transaction(async (m) => {
      const cur = (await this.repo.findById(id, m, true))!;
      const next: UserRow = {
        ...cur,
        full_name: dto.fullName ?? cur.full_name,
        roles: dto.roles ?? cur.roles,
        disabled: dto.disabled ?? cur.disabled,
      };
      const saved = await this.repo.save(m, next);
      if (next.disabled && !cur.disabled) {
        // A disabled user's sessions end, and every access token issued to it is refused everywhere.
        await this.refresh.revokeUser(m, id);
        await this.revocations.subject(m, pending, id, 'user', 'user-disabled');
      }
      const rolesChanged =
        dto.roles !== undefined && [...cur.roles].sort().join() !== [...dto.roles].sort().join();
      await this.audit.record(m, {
        action: AuditActions.userUpdated,
        actor,
        resource: { type: 'user', id },
        details: {
          disabled: saved.disabled,
          fullNameChanged: dto.fullName !== undefined && dto.fullName !== cur.full_name,
        },
      });
      if (rolesChanged) {
        await this.audit.record(m, {
          action: AuditActions.userRolesChanged,
          actor,
          resource: { type: 'user', id },
          details: { from: cur.roles, to: saved.roles },
        });
      }
      return toUserView(saved);
    });
    await this.revocations.announce(pending);
    return view;
  }

  /** Removes a user (its refresh tokens go with it); same scope and role rules as an update. */
  async delete(actor: Principal, id: string): Promise<void> {
    const seen = await this.visible(actor, id);
    if (!(await this.orgs.canManage(actor, seen.organization_code)) || seen.id === actor.sub)
      throw forbidden('FORBIDDEN', 'You may not delete this user');
    assertRolesGrantable(actor, seen.roles);
    const pending = new PendingRevocations();
    await this.ds.transaction(async (m) => {
      await this.repo.delete(m, id);
      await this.revocations.subject(m, pending, id, 'user', 'user-deleted');
      await this.audit.record(m, {
        action: AuditActions.userDeleted,
        actor,
        resource: { type: 'user', id },
        details: { username: seen.username },
      });
    });
    await this.revocations.announce(pending);
  }

  async changePassword(actor: Principal, dto: ChangePasswordDto): Promise<void> {
    const row = actor.type === 'user' ? await this.repo.findById(actor.sub) : null;
    if (!row) throw forbidden('FORBIDDEN', 'Only users have passwords');
    if (!(await this.hasher.verify(row.password_hash, dto.currentPassword))) {
      throw new DomainError(422, 'WRONG_PASSWORD', 'The current password is wrong', [
        { field: 'currentPassword', errors: ['wrong password'] },
      ]);
    }
    const problems = passwordProblems(dto.newPassword, row.username);
    if (dto.newPassword === dto.currentPassword) problems.push('must differ from the current password');
    if (problems.length) throw weakPassword('newPassword', problems);
    const newHash = await this.hasher.hash(dto.newPassword);
    const pending = new PendingRevocations();
    await this.ds.transaction(async (m) => {
      const cur = (await this.repo.findById(row.id, m, true))!;
      await this.repo.save(m, { ...cur, password_hash: newHash });
      // Other sessions end with a password change, their access tokens too (not the one asking).
      const live = await this.refresh.revokeUser(m, row.id);
      await this.revocations.tokens(
        m,
        pending,
        live.filter((t) => t.jti !== actor.jti),
        'session-revoked',
      );
      await this.audit.record(m, {
        action: AuditActions.userPasswordChanged,
        actor,
        resource: { type: 'user', id: row.id },
      });
    });
    await this.revocations.announce(pending);
  }

  async enrolTotp(actor: Principal): Promise<{ secret: string; otpauthUri: string }> {
    const row = actor.type === 'user' ? await this.repo.findById(actor.sub) : null;
    if (!row) throw forbidden('FORBIDDEN', 'Only users can enrol TOTP');
    if (row.totp_enabled) throw conflict('TOTP_ALREADY_ENABLED', 'TOTP is already enabled');
    const secret = authenticator.generateSecret(20);
    await this.ds.transaction(async (m) => {
      const cur = (await this.repo.findById(row.id, m, true))!;
      await this.repo.save(m, { ...cur, totp_secret_enc: this.box.seal(secret, totpContext(row.id)) });
    });
    return {
      secret,
      otpauthUri: authenticator.keyuri(row.username, `Lien thong ${this.config.NODE_ID}`, secret),
    };
  }

  async confirmTotp(actor: Principal, otp: string): Promise<{ totpEnabled: true }> {
    await this.ds.transaction(async (m) => {
      const cur = actor.type === 'user' ? await this.repo.findById(actor.sub, m, true) : null;
      if (!cur?.totp_secret_enc) throw conflict('TOTP_NOT_ENROLLED', 'Enrol TOTP first');
      if (cur.totp_enabled) throw conflict('TOTP_ALREADY_ENABLED', 'TOTP is already enabled');
      // The confirming code is used up like any other: it cannot then sign in (nor can a replay confirm).
      if ((await this.totp.use(m, cur, otp)) !== 'ok') {
        throw new DomainError(422, 'TOTP_INVALID', 'The one-time password is wrong', [
          { field: 'otp', errors: ['wrong code'] },
        ]);
      }
      await this.repo.save(m, { ...cur, totp_enabled: true });
      await this.audit.record(m, {
        action: AuditActions.userTotpEnabled,
        actor,
        resource: { type: 'user', id: cur.id },
      });
    });
    return { totpEnabled: true };
  }
}
