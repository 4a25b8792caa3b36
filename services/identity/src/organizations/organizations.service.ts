import { Injectable } from '@nestjs/common';
import {
  AuditRecorder,
  conflict,
  DomainError,
  forbidden,
  notFound,
  OutboxService,
  type Principal,
} from '@lienthong/common';
import { AuditActions, Subjects, type OrganizationLevel, type OrganizationView } from '@lienthong/contracts';
import { DataSource, EntityManager } from 'typeorm';
import { IdentityConfig } from '../config/identity.config';
import { DirectoryPublisher } from '../directory/directory.publisher';
import { decodeCursor, pageOf, type Page } from '../paging/cursor';
import { organizationCodeProblem } from './organization-code';
import { subtreeRuleProblems } from './subtree-rules';
import { CreateOrganizationDto, ListOrganizationsQuery, UpdateOrganizationDto } from './organizations.dto';
import { OrganizationRow, OrganizationsRepository, toView, versionOf } from './organizations.repository';

const CHILD_LEVEL: Record<OrganizationLevel, OrganizationLevel> = {
  central: 'province',
  province: 'district',
  district: 'commune',
  commune: 'commune',
};

const isSystemAdmin = (p: Principal) => p.roles.includes('system-admin');

/** An org-admin's organization outside its subtree's rules (subtree-rules.ts): 403 naming the fields. */
function assertSubtreeRules(
  actor: Principal | null,
  child: Parameters<typeof subtreeRuleProblems>[0],
  parent: OrganizationRow | null,
): void {
  if (!actor || isSystemAdmin(actor) || !parent) return;
  const problems = subtreeRuleProblems(child, parent);
  if (problems.length > 0) {
    throw new DomainError(
      403,
      'ORGANIZATION_OUTSIDE_SUBTREE',
      'This organization does not fit the rules of your subtree',
      problems,
    );
  }
}

/** The organization tree: creation, moves without cycles, subtree scope for authorization. */
@Injectable()
export class OrganizationsService {
  constructor(
    private readonly ds: DataSource,
    private readonly repo: OrganizationsRepository,
    private readonly outbox: OutboxService,
    private readonly audit: AuditRecorder,
    private readonly config: IdentityConfig,
    private readonly directory: DirectoryPublisher,
  ) {}

  /** On a replica node the directory is the centre's: organization writes are refused (409). */
  private assertWritable(): void {
    if (this.config.directoryReplica) {
      throw conflict(
        'DIRECTORY_READ_ONLY',
        'The organization directory is managed at the central node; it is read-only here',
      );
    }
  }

  async get(code: string): Promise<OrganizationView | null> {
    if (organizationCodeProblem(code)) return null;
    const row = await this.repo.find(code);
    return row ? toView(row) : null;
  }

  async getOrThrow(code: string): Promise<OrganizationView> {
    const o = await this.get(code);
    if (!o) throw notFound('ORGANIZATION_NOT_FOUND', 'Unknown organization');
    return o;
  }

  async resolve(codes: string[]): Promise<{ found: OrganizationView[]; missing: string[] }> {
    const unique = [...new Set(codes)];
    const rows = await this.repo.findMany(unique.filter((c) => !organizationCodeProblem(c)));
    const byCode = new Map(rows.map((r) => [r.code, toView(r)]));
    return {
      found: unique.filter((c) => byCode.has(c)).map((c) => byCode.get(c)!),
      missing: unique.filter((c) => !byCode.has(c)),
    };
  }

  async subtree(code: string): Promise<string[]> {
    if (organizationCodeProblem(code)) return [];
    return this.repo.subtreeCodes(code);
  }

  async isWithin(code: string, ancestor: string, manager?: EntityManager): Promise<boolean> {
    return this.repo.isWithin(code, ancestor, manager);
  }

  /** The principal may manage (users, clients, children of) `code`: system-admin, or org-admin above it. */
  async canManage(p: Principal, code: string, manager?: EntityManager): Promise<boolean> {
    if (isSystemAdmin(p)) return true;
    if (!p.roles.includes('org-admin')) return false;
    return this.repo.isWithin(code, p.organizationCode, manager);
  }

  /** The principal may see data of `code` (its own subtree; system-admin everything). */
  async canSee(p: Principal, code: string): Promise<boolean> {
    if (isSystemAdmin(p)) return true;
    return this.repo.isWithin(code, p.organizationCode);
  }

  async list(q: ListOrganizationsQuery): Promise<Page<OrganizationView>> {
    const limit = q.limit ?? 50;
    const rows = await this.repo.list({ ...q, after: decodeCursor(q.cursor), limit });
    const page = pageOf(rows, limit, (r) => r.code);
    return { items: page.items.map(toView), nextCursor: page.nextCursor };
  }

  async create(actor: Principal | null, dto: CreateOrganizationDto): Promise<OrganizationView> {
    this.assertWritable();
    if (actor && !isSystemAdmin(actor)) {
      if (!dto.parentCode || !(await this.canManage(actor, dto.parentCode))) {
        throw forbidden('FORBIDDEN', 'You may create organizations only below your own');
      }
    }
    return this.ds.transaction(async (m) => {
      let path = `/${dto.code}/`;
      if (dto.parentCode) {
        const parent = await this.repo.find(dto.parentCode, m, true);
        if (!parent)
          throw new DomainError(422, 'PARENT_NOT_FOUND', 'The parent organization does not exist', [
            { field: 'parentCode', errors: ['unknown organization'] },
          ]);
        path = `${parent.path}${dto.code}/`;
        // An org-admin's child is served by its parent's node unless it says otherwise (and it may not).
        if (actor && !isSystemAdmin(actor)) dto = { ...dto, nodeId: dto.nodeId ?? parent.node_id };
        assertSubtreeRules(actor, { ...dto, nodeId: dto.nodeId ?? this.config.NODE_ID }, parent);
      }
      const row = await this.repo.insert(m, {
        code: dto.code,
        name: dto.name,
        parent_code: dto.parentCode ?? null,
        level: dto.level,
        sector: dto.sector,
        zone: dto.zone,
        node_id: dto.nodeId ?? this.config.NODE_ID,
        path,
      });
      if (!row) throw conflict('ORGANIZATION_EXISTS', `Organization ${dto.code} already exists`);
      const view = toView(row);
      await this.changed(m, 'created', view, actor, versionOf(row));
      return view;
    });
  }

  async update(actor: Principal | null, code: string, dto: UpdateOrganizationDto): Promise<OrganizationView> {
    this.assertWritable();
    if (actor && !isSystemAdmin(actor)) {
      const target = await this.repo.find(code);
      if (!target || !(await this.canSee(actor, code)))
        throw notFound('ORGANIZATION_NOT_FOUND', 'Unknown organization');
      // An org-admin manages what lies below its organization, not its own place in the tree.
      if (!actor.roles.includes('org-admin') || code === actor.organizationCode) {
        throw forbidden('FORBIDDEN', 'You may not change this organization');
      }
      if (
        dto.parentCode !== undefined &&
        (dto.parentCode === null || !(await this.canManage(actor, dto.parentCode)))
      ) {
        throw forbidden('FORBIDDEN', 'You may move organizations only within your subtree');
      }
    }
    return this.ds.transaction(async (m) => {
      const cur = await this.repo.find(code, m, true);
      if (!cur) throw notFound('ORGANIZATION_NOT_FOUND', 'Unknown organization');
      let path = cur.path;
      let parentCode = cur.parent_code;
      if (dto.parentCode !== undefined && dto.parentCode !== cur.parent_code) {
        if (dto.parentCode === null) {
          path = `/${code}/`;
        } else {
          const parent = await this.repo.find(dto.parentCode, m, true);
          if (!parent)
            throw new DomainError(422, 'PARENT_NOT_FOUND', 'The parent organization does not exist', [
              { field: 'parentCode', errors: ['unknown organization'] },
            ]);
          if (parent.path.startsWith(cur.path)) {
            throw new DomainError(422, 'ORGANIZATION_CYCLE', 'An organization cannot be moved below itself', [
              { field: 'parentCode', errors: ['would create a cycle'] },
            ]);
          }
          path = `${parent.path}${code}/`;
        }
        parentCode = dto.parentCode;
        await this.repo.movePaths(m, cur.path, path);
      }
      // An org-admin cannot re-sector, re-home or re-level a child out of its subtree's rules either.
      if (actor && !isSystemAdmin(actor) && parentCode) {
        assertSubtreeRules(
          actor,
          {
            code,
            level: dto.level ?? cur.level,
            sector: dto.sector ?? cur.sector,
            zone: dto.zone ?? cur.zone,
            nodeId: dto.nodeId ?? cur.node_id,
          },
          await this.repo.find(parentCode, m),
        );
      }
      const row = await this.repo.update(m, code, {
        name: dto.name ?? cur.name,
        parent_code: parentCode,
        level: dto.level ?? cur.level,
        sector: dto.sector ?? cur.sector,
        zone: dto.zone ?? cur.zone,
        node_id: dto.nodeId ?? cur.node_id,
        path,
      });
      const view = toView(row);
      await this.changed(m, 'updated', view, actor, versionOf(row));
      return view;
    });
  }

  /** Deletes an organization that has no children, users or clients (409 otherwise). */
  async delete(actor: Principal, code: string): Promise<void> {
    this.assertWritable();
    if (!isSystemAdmin(actor)) {
      if (!(await this.repo.find(code)) || !(await this.canSee(actor, code)))
        throw notFound('ORGANIZATION_NOT_FOUND', 'Unknown organization');
      if (code === actor.organizationCode || !(await this.canManage(actor, code)))
        throw forbidden('FORBIDDEN', 'You may not delete this organization');
    }
    await this.ds.transaction(async (m) => {
      const cur = await this.repo.find(code, m, true);
      if (!cur) throw notFound('ORGANIZATION_NOT_FOUND', 'Unknown organization');
      if (!(await this.repo.deleteLeaf(m, code))) {
        throw conflict(
          'ORGANIZATION_IN_USE',
          'The organization still has child organizations, users or clients',
        );
      }
      await this.changed(m, 'deleted', toView(cur), actor, await this.repo.nextVersion(m));
    });
  }

  /** Registers (or renames) a government agency reached through the national axis; used by the bus. */
  async upsertState(req: {
    code: string;
    name: string;
    parentCode?: string | null;
  }): Promise<OrganizationView> {
    if (this.config.directoryReplica) {
      // The centre registers agencies; a replica answers what it holds and cannot add one.
      const known = await this.get(req.code);
      if (known) return known;
      this.assertWritable();
    }
    return this.ds.transaction(async (m) => {
      const cur = await this.repo.find(req.code, m, true);
      if (cur) {
        if (cur.sector !== 'state' || cur.name === req.name) return toView(cur);
        const row = await this.repo.update(m, cur.code, { ...cur, name: req.name });
        const view = toView(row);
        await this.changed(m, 'updated', view, null, versionOf(row));
        return view;
      }
      let parent: OrganizationRow | null = null;
      if (req.parentCode) {
        parent = await this.repo.find(req.parentCode, m, true);
        if (!parent) throw new DomainError(422, 'PARENT_NOT_FOUND', 'The parent organization does not exist');
      }
      const row = await this.repo.insert(m, {
        code: req.code,
        name: req.name,
        parent_code: parent?.code ?? null,
        level: parent ? CHILD_LEVEL[parent.level] : 'central',
        sector: 'state',
        zone: 'internet',
        node_id: this.config.NODE_ID,
        path: `${parent?.path ?? '/'}${req.code}/`,
      });
      if (!row) throw conflict('ORGANIZATION_EXISTS', `Organization ${req.code} already exists`);
      const view = toView(row);
      await this.changed(m, 'created', view, null, versionOf(row));
      return view;
    });
  }

  /** The local event, the directory entry (same transaction) and the audit record of one change. */
  private async changed(
    m: EntityManager,
    change: 'created' | 'updated' | 'deleted',
    view: OrganizationView,
    actor: Principal | null,
    version: number,
  ) {
    await this.outbox.add(m, {
      subject: Subjects.organizationChanged(),
      type: 'organization.changed',
      data: { change, organization: view },
    });
    await this.directory.add(m, view, version, change === 'deleted');
    await this.audit.record(m, {
      action: {
        created: AuditActions.organizationCreated,
        updated: AuditActions.organizationUpdated,
        deleted: AuditActions.organizationDeleted,
      }[change],
      ...(actor ? { actor } : {}),
      resource: { type: 'organization', id: view.code },
      details: { name: view.name, parentCode: view.parentCode, sector: view.sector },
    });
  }
}
