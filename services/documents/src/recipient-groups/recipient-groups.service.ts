import { Injectable } from '@nestjs/common';
import { badRequest, UnitOfWork, type Principal } from '@lienthong/common';
import { AuditActions } from '@lienthong/contracts';
import { randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import { recipientUnknown } from '../documents/documents.errors';
import { OrganizationDirectory } from '../documents/organization-directory';
import { isUuid } from '../documents/documents.repository';
import type { ListRecipientGroupsQuery, RecipientGroupDto } from './recipient-groups.dto';
import * as errors from './recipient-groups.errors';

interface GroupRow {
  id: string;
  name: string;
  members: string[];
  created_at: string;
  updated_at: string;
}

const resource = (id: string) => ({ type: 'recipient-group', id });
const iso = (v: string) => new Date(v).toISOString();

export function groupView(g: GroupRow) {
  return {
    id: g.id,
    name: g.name,
    members: g.members,
    memberCount: g.members.length,
    createdAt: iso(g.created_at),
    updatedAt: iso(g.updated_at),
  };
}

/**
 * An organization's named recipient lists (`/api/v1/recipient-groups`). A group belongs to the caller's
 * organization: another organization's group is answered 404 like an unknown one. Members are organization
 * codes the directory knows, deduplicated in the order given.
 */
@Injectable()
export class RecipientGroupsService {
  constructor(
    private readonly ds: DataSource,
    private readonly directory: OrganizationDirectory,
    private readonly uow: UnitOfWork,
  ) {}

  async create(p: Principal, dto: RecipientGroupDto) {
    const members = await this.checkedMembers(dto.members);
    const id = randomUUID();
    await this.uow
      .run(async (tx) => {
        await tx.manager.query(
          `INSERT INTO recipient_groups (id, organization_code, name, members, created_by) VALUES ($1, $2, $3, $4, $5)`,
          [id, p.organizationCode, dto.name, members, p.sub],
        );
        tx.audit({
          action: AuditActions.recipientGroupCreated,
          actor: p,
          resource: resource(id),
          details: { name: dto.name, memberCount: members.length },
        });
      })
      .catch(nameTaken(dto.name));
    return groupView((await this.find(this.ds.manager, p, id))!);
  }

  async replace(p: Principal, id: string, dto: RecipientGroupDto) {
    const members = await this.checkedMembers(dto.members);
    const found = await this.uow
      .run(async (tx) => {
        const before = await this.find(tx.manager, p, id, true);
        if (!before) return false;
        await tx.manager.query(
          `UPDATE recipient_groups SET name = $2, members = $3, updated_at = now() WHERE id = $1`,
          [id, dto.name, members],
        );
        const was = new Set(before.members);
        const now = new Set(members);
        tx.audit({
          action: AuditActions.recipientGroupUpdated,
          actor: p,
          resource: resource(id),
          details: {
            name: dto.name,
            ...(before.name !== dto.name ? { previousName: before.name } : {}),
            memberCount: members.length,
            added: members.filter((c) => !was.has(c)).length,
            removed: before.members.filter((c) => !now.has(c)).length,
          },
        });
        return true;
      })
      .catch(nameTaken(dto.name));
    if (!found) throw errors.groupNotFound();
    return groupView((await this.find(this.ds.manager, p, id))!);
  }

  async remove(p: Principal, id: string): Promise<void> {
    const found = await this.uow.run(async (tx) => {
      const before = await this.find(tx.manager, p, id, true);
      if (!before) return false;
      await tx.manager.query(`DELETE FROM recipient_groups WHERE id = $1`, [id]);
      tx.audit({
        action: AuditActions.recipientGroupDeleted,
        actor: p,
        resource: resource(id),
        details: { name: before.name, memberCount: before.members.length },
      });
      return true;
    });
    if (!found) throw errors.groupNotFound();
  }

  async get(p: Principal, id: string) {
    const g = await this.find(this.ds.manager, p, id);
    if (!g) throw errors.groupNotFound();
    return groupView(g);
  }

  /** The organization's groups by name (case-insensitive), a page at a time. */
  async list(p: Principal, q: ListRecipientGroupsQuery) {
    const limit = q.limit ?? 50;
    const after = q.cursor ? decodeCursor(q.cursor) : undefined;
    const rows: (GroupRow & { sort_name: string })[] = await this.ds.query(
      `SELECT id, name, members, created_at, updated_at, lower(name) AS sort_name FROM recipient_groups
       WHERE organization_code = $1 AND ($2::text IS NULL OR (lower(name), id) > ($2::text, $3::uuid))
       ORDER BY lower(name), id LIMIT $4`,
      [p.organizationCode, after?.name ?? null, after?.id ?? null, limit + 1],
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map(groupView),
      nextCursor:
        rows.length > limit && last
          ? Buffer.from(JSON.stringify([last.sort_name, last.id])).toString('base64url')
          : null,
    };
  }

  private async find(m: EntityManager, p: Principal, id: string, lock = false): Promise<GroupRow | null> {
    if (!isUuid(id)) return null;
    const rows: GroupRow[] = await m.query(
      `SELECT id, name, members, created_at, updated_at FROM recipient_groups
       WHERE id = $1 AND organization_code = $2 ${lock ? 'FOR UPDATE' : ''}`,
      [id, p.organizationCode],
    );
    return rows[0] ?? null;
  }

  /** Members deduplicated in the order given; every one must be an organization the directory knows. */
  private async checkedMembers(codes: string[]): Promise<string[]> {
    const members = [...new Set(codes)];
    const missing = await this.directory.missing(members);
    if (missing.length > 0) throw recipientUnknown(missing, 'members');
    return members;
  }
}

function nameTaken(name: string) {
  return (e: unknown): never => {
    const err = e as {
      code?: string;
      constraint?: string;
      driverError?: { code?: string; constraint?: string };
    };
    const d = err?.driverError ?? err;
    if (d?.code === '23505' && d?.constraint === errors.GROUP_NAME_INDEX) throw errors.groupNameTaken(name);
    throw e;
  };
}

function decodeCursor(cursor: string): { name: string; id: string } {
  try {
    const [name, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    if (typeof name !== 'string' || typeof id !== 'string' || !isUuid(id)) throw new Error();
    return { name, id };
  } catch {
    throw badRequest('VALIDATION_FAILED', 'Invalid input: cursor', [
      { field: 'cursor', errors: ['cursor is not one this API issued'] },
    ]);
  }
}
