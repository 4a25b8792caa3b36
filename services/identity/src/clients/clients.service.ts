import { Injectable } from '@nestjs/common';
import { AuditRecorder, notFound, type Principal } from '@lienthong/common';
import { AuditActions, type Role } from '@lienthong/contracts';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { DataSource } from 'typeorm';
import { RefreshTokensRepository } from '../auth/refresh-tokens.repository';
import { IdentityConfig } from '../config/identity.config';
import { OrganizationErrors } from '../organizations/organizations.errors';
import { OrganizationsRepository } from '../organizations/organizations.repository';
import { OrganizationScope } from '../organizations/organization-scope.service';
import { assertCanGrant } from '../users/role-grants';
import type { CreateClientDto } from './clients.dto';

export interface ClientRow {
  client_id: string;
  name: string;
  organization_code: string;
  roles: Role[];
  secret_hash: string;
  previous_secret_hash: string | null;
  previous_valid_until: Date | null;
}

// Client secrets are 256-bit random values, so a plain SHA-256 is enough (no dictionary to guess from).
const hashSecret = (s: string) => createHash('sha256').update(s).digest('hex');
const sameHash = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
const clientNotFound = () => notFound('CLIENT_NOT_FOUND', 'Client not found');

@Injectable()
export class ClientsService {
  constructor(
    private readonly ds: DataSource,
    private readonly orgs: OrganizationsRepository,
    private readonly scope: OrganizationScope,
    private readonly refresh: RefreshTokensRepository,
    private readonly audit: AuditRecorder,
    private readonly config: IdentityConfig,
  ) {}

  async create(actor: Principal, dto: CreateClientDto): Promise<{ clientId: string; clientSecret: string }> {
    if (!(await this.orgs.find(dto.organizationCode))) throw OrganizationErrors.parentNotFound(dto.organizationCode);
    if (!(await this.scope.contains(actor, dto.organizationCode))) throw OrganizationErrors.outOfScope();
    assertCanGrant(actor, dto.roles);
    const clientId = `cl_${randomBytes(12).toString('hex')}`;
    const clientSecret = randomBytes(32).toString('base64url');
    await this.ds.transaction(async (m) => {
      await m.query(
        'INSERT INTO clients (client_id, name, organization_code, roles, secret_hash) VALUES ($1,$2,$3,$4,$5)',
        [clientId, dto.name, dto.organizationCode, dto.roles, hashSecret(clientSecret)],
      );
      await this.audit.record(m, {
        action: AuditActions.clientCreated,
        actor,
        resource: { type: 'client', id: clientId },
        details: { organizationCode: dto.organizationCode, roles: dto.roles },
      });
    });
    return { clientId, clientSecret };
  }

  private async managed(actor: Principal, clientId: string): Promise<ClientRow> {
    const row: ClientRow | undefined = (await this.ds.query('SELECT * FROM clients WHERE client_id = $1', [clientId]))[0];
    if (!row || !(await this.scope.contains(actor, row.organization_code))) throw clientNotFound();
    return row;
  }

  /** New secret now; the old one keeps working for CLIENT_SECRET_GRACE_SECONDS so systems can switch over. */
  async rotate(actor: Principal, clientId: string): Promise<{ clientId: string; clientSecret: string }> {
    const row = await this.managed(actor, clientId);
    const clientSecret = randomBytes(32).toString('base64url');
    await this.ds.transaction(async (m) => {
      await m.query(
        `UPDATE clients SET previous_secret_hash = secret_hash,
           previous_valid_until = now() + make_interval(secs => $3), secret_hash = $2, updated_at = now()
         WHERE client_id = $1`,
        [row.client_id, hashSecret(clientSecret), this.config.CLIENT_SECRET_GRACE_SECONDS],
      );
      await this.audit.record(m, { action: AuditActions.clientSecretRotated, actor, resource: { type: 'client', id: clientId } });
    });
    return { clientId, clientSecret };
  }

  async remove(actor: Principal, clientId: string): Promise<void> {
    await this.managed(actor, clientId);
    await this.ds.transaction(async (m) => {
      await m.query('DELETE FROM clients WHERE client_id = $1', [clientId]);
      await this.refresh.revokeSubject(m, 'client', clientId);
      await this.audit.record(m, { action: AuditActions.clientDeleted, actor, resource: { type: 'client', id: clientId } });
    });
  }

  /** For the client_credentials grant: the client when the secret (or the previous one, within grace) matches. */
  async authenticate(clientId: string, secret: string): Promise<ClientRow | undefined> {
    if (typeof clientId !== 'string' || typeof secret !== 'string' || clientId.length > 100) return undefined;
    const row: ClientRow | undefined = (await this.ds.query('SELECT * FROM clients WHERE client_id = $1', [clientId]))[0];
    if (!row) return undefined;
    const h = hashSecret(secret);
    if (sameHash(row.secret_hash, h)) return row;
    if (row.previous_secret_hash && row.previous_valid_until && new Date(row.previous_valid_until) > new Date() && sameHash(row.previous_secret_hash, h)) {
      return row;
    }
    return undefined;
  }
}
