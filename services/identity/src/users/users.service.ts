import { Injectable } from '@nestjs/common';
import { AuditRecorder, hasRole, type Principal } from '@lienthong/common';
import { AuditActions } from '@lienthong/contracts';
import { randomUUID } from 'node:crypto';
import { authenticator } from 'otplib';
import { DataSource } from 'typeorm';
import { RefreshTokensRepository } from '../auth/refresh-tokens.repository';
import { OrganizationErrors } from '../organizations/organizations.errors';
import { OrganizationsRepository } from '../organizations/organizations.repository';
import { OrganizationScope } from '../organizations/organization-scope.service';
import { PasswordHasher } from '../passwords/password-hasher';
import { assertPasswordAcceptable } from '../passwords/password-policy';
import { assertCanGrant } from './role-grants';
import type { ChangePasswordDto, CreateUserDto, ListUsersQuery, UpdateUserDto } from './users.dto';
import { toUserView, type UserRow, type UserView } from './users.entity';
import { UserErrors } from './users.errors';
import { UsersRepository } from './users.repository';

@Injectable()
export class UsersService {
  constructor(
    private readonly ds: DataSource,
    private readonly users: UsersRepository,
    private readonly orgs: OrganizationsRepository,
    private readonly scope: OrganizationScope,
    private readonly hasher: PasswordHasher,
    private readonly refresh: RefreshTokensRepository,
    private readonly audit: AuditRecorder,
  ) {}

  async create(actor: Principal | undefined, dto: CreateUserDto): Promise<UserView> {
    if (!(await this.orgs.find(dto.organizationCode))) throw OrganizationErrors.parentNotFound(dto.organizationCode);
    if (actor && !(await this.scope.contains(actor, dto.organizationCode))) throw OrganizationErrors.outOfScope();
    assertCanGrant(actor, dto.roles);
    assertPasswordAcceptable(dto.password, dto.username);
    const passwordHash = await this.hasher.hash(dto.password);
    return this.ds.transaction(async (m) => {
      const row = await this.users.insert(m, {
        id: randomUUID(),
        username: dto.username,
        full_name: dto.fullName,
        email: dto.email ?? null,
        password_hash: passwordHash,
        organization_code: dto.organizationCode,
        roles: dto.roles,
      });
      if (!row) throw UserErrors.exists(dto.username);
      await this.audit.record(m, {
        action: AuditActions.userCreated,
        actor,
        resource: { type: 'user', id: row.id },
        details: { username: row.username, organizationCode: row.organization_code, roles: row.roles },
      });
      return toUserView(row);
    });
  }

  /** A user the caller may see; anything else is "not found" (never reveal other subtrees). */
  private async visible(actor: Principal, id: string): Promise<UserRow> {
    const row = await this.users.byId(id);
    if (!row) throw UserErrors.notFound();
    if (row.id === actor.sub) return row;
    if (!hasRole(actor, 'system-admin', 'org-admin') || !(await this.scope.contains(actor, row.organization_code))) {
      throw UserErrors.notFound();
    }
    return row;
  }

  async get(actor: Principal, id: string): Promise<UserView> {
    return toUserView(await this.visible(actor, id));
  }

  async list(actor: Principal, q: ListUsersQuery) {
    const limit = q.limit ?? 50;
    const withinPath = await this.scope.pathOf(actor);
    const rows = await this.users.list({ organizationCode: q.organizationCode, withinPath, cursor: q.cursor, limit: limit + 1 });
    const items = rows.slice(0, limit).map(toUserView);
    return { items, nextCursor: rows.length > limit ? items[items.length - 1].id : null };
  }

  async update(actor: Principal, id: string, dto: UpdateUserDto): Promise<UserView> {
    const current = await this.visible(actor, id);
    if (!hasRole(actor, 'system-admin', 'org-admin')) throw UserErrors.notFound();
    if (dto.roles) {
      // Granting and taking away both need the role: an org-admin cannot strip a system-admin.
      const changed = [...dto.roles.filter((r) => !current.roles.includes(r)), ...current.roles.filter((r) => !dto.roles!.includes(r))];
      assertCanGrant(actor, changed);
    }
    return this.ds.transaction(async (m) => {
      const fields: Partial<UserRow> = {};
      if (dto.fullName !== undefined) fields.full_name = dto.fullName;
      if (dto.roles !== undefined) fields.roles = dto.roles;
      if (dto.disabled !== undefined) fields.disabled = dto.disabled;
      const row = Object.keys(fields).length ? await this.users.update(m, id, fields) : current;
      if (dto.disabled === true) await this.refresh.revokeSubject(m, 'user', id);
      if (dto.roles) {
        await this.audit.record(m, {
          action: AuditActions.userRolesChanged,
          actor,
          resource: { type: 'user', id },
          details: { from: current.roles, to: dto.roles },
        });
      }
      await this.audit.record(m, {
        action: AuditActions.userUpdated,
        actor,
        resource: { type: 'user', id },
        details: { fields: Object.keys(dto) },
      });
      return toUserView(row);
    });
  }

  async changePassword(actor: Principal, dto: ChangePasswordDto): Promise<void> {
    if (actor.type !== 'user') throw UserErrors.notFound();
    const user = await this.users.byId(actor.sub);
    if (!user) throw UserErrors.notFound();
    if (!(await this.hasher.verify(user.password_hash, dto.currentPassword))) throw UserErrors.wrongPassword();
    assertPasswordAcceptable(dto.newPassword, user.username, 'newPassword');
    const hash = await this.hasher.hash(dto.newPassword);
    await this.ds.transaction(async (m) => {
      await this.users.update(m, user.id, { password_hash: hash });
      await this.refresh.revokeSubject(m, 'user', user.id);
      await this.audit.record(m, { action: AuditActions.userPasswordChanged, actor, resource: { type: 'user', id: user.id } });
    });
  }

  async enrolTotp(actor: Principal): Promise<{ otpauthUri: string; secret: string }> {
    const user = await this.users.byId(actor.sub);
    if (!user || actor.type !== 'user') throw UserErrors.notFound();
    const secret = authenticator.generateSecret(20);
    await this.ds.transaction((m) => this.users.update(m, user.id, { totp_pending_secret: secret }));
    return { otpauthUri: authenticator.keyuri(user.username, 'Liên thông', secret), secret };
  }

  async confirmTotp(actor: Principal, otp: string): Promise<{ totpEnabled: true }> {
    const user = await this.users.byId(actor.sub);
    if (!user || actor.type !== 'user') throw UserErrors.notFound();
    if (!user.totp_pending_secret) throw UserErrors.totpNotEnrolled();
    if (!authenticator.check(otp, user.totp_pending_secret)) throw UserErrors.totpInvalid();
    await this.ds.transaction(async (m) => {
      await this.users.update(m, user.id, { totp_secret: user.totp_pending_secret, totp_pending_secret: null, totp_enabled: true });
      await this.audit.record(m, { action: AuditActions.userTotpEnabled, actor, resource: { type: 'user', id: user.id } });
    });
    return { totpEnabled: true };
  }
}
