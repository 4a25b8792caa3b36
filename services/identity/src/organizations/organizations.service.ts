import { Injectable } from '@nestjs/common';
import { AuditRecorder, hasRole, OutboxService, type Principal } from '@lienthong/common';
import { AuditActions, Subjects, type OrganizationChangedEvent, type OrganizationView } from '@lienthong/contracts';
import { DataSource, type EntityManager } from 'typeorm';
import { IdentityConfig } from '../config/identity.config';
import type { CreateOrganizationDto, ListOrganizationsQuery, UpdateOrganizationDto } from './organizations.dto';
import { toOrganizationView, type OrganizationRow } from './organizations.entity';
import { OrganizationErrors } from './organizations.errors';
import { OrganizationsRepository } from './organizations.repository';
import { OrganizationScope } from './organization-scope.service';

@Injectable()
export class OrganizationsService {
  constructor(
    private readonly ds: DataSource,
    private readonly repo: OrganizationsRepository,
    private readonly scope: OrganizationScope,
    private readonly outbox: OutboxService,
    private readonly audit: AuditRecorder,
    private readonly config: IdentityConfig,
  ) {}

  private async changed(m: EntityManager, change: OrganizationChangedEvent['change'], row: OrganizationRow) {
    await this.outbox.add(m, {
      subject: Subjects.organizationChanged(),
      type: 'organization.changed',
      data: { change, organization: toOrganizationView(row) },
    });
  }

  async create(actor: Principal | undefined, dto: CreateOrganizationDto): Promise<OrganizationView> {
    if (actor && !hasRole(actor, 'system-admin')) {
      // org-admins create children inside their own subtree only.
      if (!dto.parentCode || !(await this.scope.contains(actor, dto.parentCode))) throw OrganizationErrors.outOfScope();
    }
    return this.ds.transaction(async (m) => {
      let path = `/${dto.code}/`;
      let nodeId = dto.nodeId ?? this.config.NODE_ID;
      if (dto.parentCode) {
        const parent = await this.repo.lockForUpdate(dto.parentCode, m);
        if (!parent) throw OrganizationErrors.parentNotFound(dto.parentCode);
        path = `${parent.path}${dto.code}/`;
        nodeId = dto.nodeId ?? parent.node_id;
      }
      const row = await this.repo.insert(
        {
          code: dto.code,
          name: dto.name,
          parent_code: dto.parentCode ?? null,
          path,
          level: dto.level,
          sector: dto.sector,
          zone: dto.zone,
          node_id: nodeId,
        },
        m,
      );
      if (!row) throw OrganizationErrors.exists(dto.code);
      await this.changed(m, 'created', row);
      await this.audit.record(m, {
        action: AuditActions.organizationCreated,
        actor,
        resource: { type: 'organization', id: row.code },
        details: { parentCode: row.parent_code, level: row.level, sector: row.sector },
      });
      return toOrganizationView(row);
    });
  }

  async get(code: string): Promise<OrganizationView> {
    const row = await this.repo.find(code);
    if (!row) throw OrganizationErrors.notFound(code);
    return toOrganizationView(row);
  }

  async list(q: ListOrganizationsQuery) {
    const limit = q.limit ?? 50;
    const rows = await this.repo.list({ ...q, limit: limit + 1 });
    const items = rows.slice(0, limit).map(toOrganizationView);
    return { items, nextCursor: rows.length > limit ? items[items.length - 1].code : null };
  }

  async update(actor: Principal, code: string, dto: UpdateOrganizationDto): Promise<OrganizationView> {
    if (!(await this.scope.contains(actor, code, { strict: !hasRole(actor, 'system-admin') }))) {
      if (!(await this.repo.find(code))) throw OrganizationErrors.notFound(code);
      throw OrganizationErrors.outOfScope();
    }
    return this.ds.transaction(async (m) => {
      const current = await this.repo.lockForUpdate(code, m);
      if (!current) throw OrganizationErrors.notFound(code);
      const fields: Partial<OrganizationRow> = {};
      if (dto.name !== undefined) fields.name = dto.name;
      if (dto.level !== undefined) fields.level = dto.level;
      if (dto.sector !== undefined) fields.sector = dto.sector;
      if (dto.zone !== undefined) fields.zone = dto.zone;
      if (dto.nodeId !== undefined) fields.node_id = dto.nodeId;
      if (dto.parentCode !== undefined && dto.parentCode !== current.parent_code) {
        const parent = await this.repo.lockForUpdate(dto.parentCode, m);
        if (!parent) throw OrganizationErrors.parentNotFound(dto.parentCode);
        if (parent.path.startsWith(current.path)) throw OrganizationErrors.cycle();
        if (!(await this.scope.contains(actor, dto.parentCode))) throw OrganizationErrors.outOfScope();
        const newPath = `${parent.path}${current.code}/`;
        await this.repo.rewritePaths(current.path, newPath, m);
        fields.parent_code = parent.code;
      }
      const row = Object.keys(fields).length ? await this.repo.update(code, fields, m) : current;
      const fresh = (await this.repo.find(code, m)) ?? row;
      await this.changed(m, 'updated', fresh);
      await this.audit.record(m, {
        action: AuditActions.organizationUpdated,
        actor,
        resource: { type: 'organization', id: code },
        details: { fields: Object.keys(dto) },
      });
      return toOrganizationView(fresh);
    });
  }

  async remove(actor: Principal, code: string): Promise<void> {
    if (!(await this.scope.contains(actor, code, { strict: !hasRole(actor, 'system-admin') }))) {
      if (!(await this.repo.find(code))) throw OrganizationErrors.notFound(code);
      throw OrganizationErrors.outOfScope();
    }
    await this.ds.transaction(async (m) => {
      const current = await this.repo.lockForUpdate(code, m);
      if (!current) throw OrganizationErrors.notFound(code);
      if (await this.repo.hasChildrenOrMembers(code, m)) throw OrganizationErrors.notEmpty(code);
      await this.repo.delete(code, m);
      await this.changed(m, 'deleted', current);
      await this.audit.record(m, {
        action: AuditActions.organizationDeleted,
        actor,
        resource: { type: 'organization', id: code },
      });
    });
  }

  // ---- for other services (request/reply) ----

  async findView(code: string): Promise<OrganizationView | null> {
    const row = await this.repo.find(code);
    return row ? toOrganizationView(row) : null;
  }

  async resolve(codes: string[]) {
    const unique = [...new Set(codes)];
    const rows = await this.repo.findMany(unique);
    const found = new Set(rows.map((r) => r.code));
    return { found: rows.map(toOrganizationView), missing: unique.filter((c) => !found.has(c)) };
  }

  async subtree(code: string): Promise<{ codes: string[] }> {
    const row = await this.repo.find(code);
    return { codes: row ? await this.repo.subtreeCodes(row.path) : [] };
  }

  /** A government agency learned from the national axis directory: created or renamed, sector state. */
  async upsertState(code: string, name: string, parentCode?: string | null): Promise<OrganizationView> {
    const existing = await this.repo.find(code);
    if (existing) {
      if (existing.name === name) return toOrganizationView(existing);
      return this.ds.transaction(async (m) => {
        const row = await this.repo.update(code, { name }, m);
        await this.changed(m, 'updated', row);
        await this.audit.record(m, { action: AuditActions.organizationUpdated, resource: { type: 'organization', id: code }, details: { source: 'national-axis' } });
        return toOrganizationView(row);
      });
    }
    const parent = parentCode ? await this.repo.find(parentCode) : undefined;
    try {
      return await this.create(undefined, {
        code,
        name,
        parentCode: parent?.code,
        level: 'central',
        sector: 'state',
        zone: 'internet',
        nodeId: this.config.NODE_ID,
      });
    } catch (e) {
      // Two bus replicas registering the same agency at once.
      const row = await this.repo.find(code);
      if (row) return toOrganizationView(row);
      throw e;
    }
  }
}
