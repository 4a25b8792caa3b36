import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { OrganizationRow } from './organizations.entity';

export interface OrganizationFilter {
  parentCode?: string;
  level?: string;
  sector?: string;
  q?: string;
  /** Only organizations inside these materialized-path prefixes (caller's scope); undefined = all. */
  withinPaths?: string[];
  cursor?: string;
  limit: number;
}

/** All SQL for organizations. Values always go as parameters. */
@Injectable()
export class OrganizationsRepository {
  constructor(private readonly ds: DataSource) {}

  private m(manager?: EntityManager) {
    return manager ?? this.ds.manager;
  }

  async find(code: string, manager?: EntityManager): Promise<OrganizationRow | undefined> {
    const rows = await this.m(manager).query('SELECT * FROM organizations WHERE code = $1', [code]);
    return rows[0];
  }

  async findMany(codes: string[]): Promise<OrganizationRow[]> {
    if (codes.length === 0) return [];
    return this.ds.query('SELECT * FROM organizations WHERE code = ANY($1::text[])', [codes]);
  }

  async lockForUpdate(code: string, manager: EntityManager): Promise<OrganizationRow | undefined> {
    const rows = await manager.query('SELECT * FROM organizations WHERE code = $1 FOR UPDATE', [code]);
    return rows[0];
  }

  async insert(
    row: Omit<OrganizationRow, 'created_at' | 'updated_at'>,
    manager: EntityManager,
  ): Promise<OrganizationRow | undefined> {
    const rows = await manager.query(
      `INSERT INTO organizations (code, name, parent_code, path, level, sector, zone, node_id)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT (code) DO NOTHING RETURNING *`,
      [row.code, row.name, row.parent_code, row.path, row.level, row.sector, row.zone, row.node_id],
    );
    return rows[0];
  }

  async update(code: string, fields: Partial<OrganizationRow>, manager: EntityManager): Promise<OrganizationRow> {
    const cols = Object.keys(fields) as (keyof OrganizationRow)[];
    const sets = cols.map((c, i) => `${c} = $${i + 2}`);
    const [rows] = await manager.query(
      `UPDATE organizations SET ${[...sets, 'updated_at = now()'].join(', ')} WHERE code = $1 RETURNING *`,
      [code, ...cols.map((c) => fields[c])],
    );
    return rows[0];
  }

  /** Moves a subtree: every path under `oldPrefix` now starts with `newPrefix`. */
  async rewritePaths(oldPrefix: string, newPrefix: string, manager: EntityManager): Promise<void> {
    await manager.query(
      `UPDATE organizations SET path = $2 || substr(path, length($1) + 1), updated_at = now()
       WHERE path LIKE $3 ESCAPE '\\'`,
      [oldPrefix, newPrefix, `${escapeLike(oldPrefix)}%`],
    );
  }

  async delete(code: string, manager: EntityManager): Promise<void> {
    await manager.query('DELETE FROM organizations WHERE code = $1', [code]);
  }

  async hasChildrenOrMembers(code: string, manager: EntityManager): Promise<boolean> {
    const rows = await manager.query(
      `SELECT EXISTS (SELECT 1 FROM organizations WHERE parent_code = $1)
           OR EXISTS (SELECT 1 FROM users WHERE organization_code = $1)
           OR EXISTS (SELECT 1 FROM clients WHERE organization_code = $1) AS busy`,
      [code],
    );
    return rows[0].busy;
  }

  async subtreeCodes(path: string): Promise<string[]> {
    const rows: { code: string }[] = await this.ds.query(
      `SELECT code FROM organizations WHERE path LIKE $1 ESCAPE '\\' ORDER BY path`,
      [`${escapeLike(path)}%`],
    );
    return rows.map((r) => r.code);
  }

  async list(f: OrganizationFilter): Promise<OrganizationRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const p = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    if (f.parentCode) where.push(`parent_code = ${p(f.parentCode)}`);
    if (f.level) where.push(`level = ${p(f.level)}`);
    if (f.sector) where.push(`sector = ${p(f.sector)}`);
    if (f.q) {
      const like = `%${escapeLike(f.q)}%`;
      where.push(`(code ILIKE ${p(like)} ESCAPE '\\' OR name ILIKE ${p(like)} ESCAPE '\\')`);
    }
    if (f.withinPaths) {
      if (f.withinPaths.length === 0) return [];
      where.push(`(${f.withinPaths.map((x) => `path LIKE ${p(`${escapeLike(x)}%`)} ESCAPE '\\'`).join(' OR ')})`);
    }
    if (f.cursor) where.push(`code > ${p(f.cursor)}`);
    return this.ds.query(
      `SELECT * FROM organizations ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY code LIMIT ${p(f.limit)}`,
      params,
    );
  }
}

export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}
