import { Injectable } from '@nestjs/common';
import { AuditRecorder, DomainError, forbidden, notFound, type Principal } from '@lienthong/common';
import { AuditActions, type Role } from '@lienthong/contracts';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { DataSource } from 'typeorm';
import { IdentityConfig } from '../config/identity.config';
import { OrganizationsService } from '../organizations/organizations.service';
import { assertRolesGrantable } from '../users/users.service';
import { PendingRevocations, TokenRevocations } from '../auth/token-revocations';
import { decodeCursor, pageOf, type Page } from '../paging/cursor';
import { CreateClientDto, ListClientsQuery } from './clients.dto';
import { ClientRow, ClientsRepository, secretHash } from './clients.repository';

const newSecret = () => randomBytes(32).toString('base64url');

/** A connected system as listed: never its secret (shown once at creation and rotation). */
export interface ClientView {
  clientId: string;
  name: string;
  organizationCode: string;
  roles: Role[];
  createdAt: string;
  /** Last change (creation or the last rotation). */
  updatedAt: string;
  /** Set while the previous secret still works after a rotation. */
  previousSecretValidUntil?: string;
}

/** Connected systems (client-credentials grant). */
@Injectable()
export class ClientsService {
  constructor(
    private readonly ds: DataSource,
    private readonly repo: ClientsRepository,
    private readonly orgs: OrganizationsService,
    private readonly audit: AuditRecorder,
    private readonly config: IdentityConfig,
    private readonly revocations: TokenRevocations,
  ) {}

  async create(actor: Principal, dto: CreateClientDto): Promise<{ clientId: string; clientSecret: string }> {
    if (!(await this.orgs.get(dto.organizationCode))) {
      throw new DomainError(422, 'ORGANIZATION_NOT_FOUND', 'Unknown organization', [
        { field: 'organizationCode', errors: ['unknown organization'] },
      ]);
    }
    if (!(await this.orgs.canManage(actor, dto.organizationCode)))
      throw forbidden('FORBIDDEN', 'You may create clients only in your own subtree');
    assertRolesGrantable(actor, dto.roles);
    const clientId = `cl-${randomBytes(12).toString('hex')}`;
    const clientSecret = newSecret();
    await this.ds.transaction(async (m) => {
      await this.repo.insert(m, {
        client_id: clientId,
        name: dto.name,
        organization_code: dto.organizationCode,
        roles: dto.roles,
        secret_hash: secretHash(clientSecret),
      });
      await this.audit.record(m, {
        action: AuditActions.clientCreated,
        actor,
        resource: { type: 'client', id: clientId },
        details: { name: dto.name, organizationCode: dto.organizationCode, roles: dto.roles },
      });
    });
    return { clientId, clientSecret };
  }

  /** The clients the caller manages: its subtree for an org-admin, all for a system-admin. */
  async list(actor: Principal, q: ListClientsQuery): Promise<Page<ClientView>> {
    const limit = q.limit ?? 50;
    let codes: string[] | null;
    if (q.organizationCode) {
      if (
        !(await this.orgs.canManage(actor, q.organizationCode)) ||
        !(await this.orgs.get(q.organizationCode))
      )
        throw notFound('ORGANIZATION_NOT_FOUND', 'Unknown organization');
      codes = [q.organizationCode];
    } else if (actor.roles.includes('system-admin')) {
      codes = null;
    } else {
      codes = await this.orgs.subtree(actor.organizationCode);
    }
    const rows = await this.repo.list(codes, decodeCursor(q.cursor), limit);
    const page = pageOf(rows, limit, (r) => r.client_id);
    const now = Date.now();
    return {
      items: page.items.map((r) => ({
        clientId: r.client_id,
        name: r.name,
        organizationCode: r.organization_code,
        roles: r.roles,
        createdAt: new Date(r.created_at!).toISOString(),
        updatedAt: new Date(r.updated_at!).toISOString(),
        ...(r.previous_valid_until && new Date(r.previous_valid_until).getTime() > now
          ? { previousSecretValidUntil: new Date(r.previous_valid_until).toISOString() }
          : {}),
      })),
      nextCursor: page.nextCursor,
    };
  }

  private async manageable(actor: Principal, clientId: string): Promise<ClientRow> {
    const row = await this.repo.find(clientId);
    if (!row || !(await this.orgs.canManage(actor, row.organization_code)))
      throw notFound('CLIENT_NOT_FOUND', 'Unknown client');
    assertRolesGrantable(actor, row.roles);
    return row;
  }

  /** New secret; the previous one keeps working for CLIENT_SECRET_GRACE_SECONDS so deployments can roll over. */
  async rotateSecret(
    actor: Principal,
    clientId: string,
  ): Promise<{ clientId: string; clientSecret: string; previousSecretValidUntil: string }> {
    await this.manageable(actor, clientId);
    const clientSecret = newSecret();
    await this.ds.transaction(async (m) => {
      await this.repo.rotate(m, clientId, secretHash(clientSecret), this.config.CLIENT_SECRET_GRACE_SECONDS);
      await this.audit.record(m, {
        action: AuditActions.clientSecretRotated,
        actor,
        resource: { type: 'client', id: clientId },
      });
    });
    return {
      clientId,
      clientSecret,
      previousSecretValidUntil: new Date(
        Date.now() + this.config.CLIENT_SECRET_GRACE_SECONDS * 1000,
      ).toISOString(),
    };
  }

  async delete(actor: Principal, clientId: string): Promise<void> {
    await this.manageable(actor, clientId);
    const pending = new PendingRevocations();
    await this.ds.transaction(async (m) => {
      await this.repo.delete(m, clientId);
      // A deleted client's access tokens are refused everywhere, not only new grants.
      await this.revocations.subject(m, pending, clientId, 'client', 'client-deleted');
      await this.audit.record(m, {
        action: AuditActions.clientDeleted,
        actor,
        resource: { type: 'client', id: clientId },
      });
    });
    await this.revocations.announce(pending);
  }

  /** The client when the secret matches the current one, or the previous one within its grace period. */
  async authenticate(clientId: string, secret: string): Promise<ClientRow | null> {
    const row = clientId.length <= 64 ? await this.repo.find(clientId) : null;
    const h = secretHash(secret);
    if (!row) return null;
    if (timingSafeEqual(row.secret_hash, h)) return row;
    if (
      row.previous_secret_hash &&
      row.previous_valid_until &&
      new Date(row.previous_valid_until).getTime() > Date.now() &&
      timingSafeEqual(row.previous_secret_hash, h)
    ) {
      return row;
    }
    return null;
  }
}
