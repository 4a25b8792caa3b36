import { Injectable } from '@nestjs/common';
import type { NetworkZone, OrganizationLevel, OrganizationSector, OrganizationView } from '@lienthong/contracts';
import { DataSource, EntityManager } from 'typeorm';
import { likeLiteral } from '../paging/cursor';

export interface OrganizationRow {
  code: string;
  name: string;
  parent_code: string | null;
  level: OrganizationLevel;
  sector: OrganizationSector;
  zone: NetworkZone;
  node_id: string;
  path: string;
  created_at: Date;
  updated_at: Date;
}

export function toView(r: OrganizationRow): OrganizationView {
  return {
    code: r.code,
    name: r.name,
    parentCode: r.parent_code,
    level: r.level,
    sector: r.sector,
    zone: r.zone,
    nodeId: r.node_id,
    createdAt: new Date(r.created_at).toISOString(),
    updatedAt: new Date(r.updated_at).toISOString(),
  };
}

export interface OrganizationFilter {
  parentCode?: string;
  level?: string;
  sector?: string;
  zone?: string;
  q?: string;
  after?: string | null;
  limit: number;
}

/** All SQL for organizations; every value is a bind parameter. */
@Injectable()
export class OrganizationsRepository {
  constructor(private readonly ds: DataSource) {}

  private m(manager?: EntityManager) {
    return manager ?? this.ds.manager;
  }

  async find(code: string, manager?: EntityManager, lock = false): Promise<OrganizationRow | null> {
    const rows = await this.m(manager).query(`SELECT * FROM organizations WHERE code = $1${lock ? ' FOR UPDATE' : ''}`, [code]);
    return rows[0] ?? null;
  }

  async findMany(codes: string[]): Promise<OrganizationRow[]> {
    if (codes.length === 0) return [];
    return this.ds.query(`SELECT * FROM organizations WHERE code = ANY($1::varchar[])`, [codes]);
  }

  async insert(m: EntityManager, o: Omit<OrganizationRow, 'created_at' | 'updated_at'>): Promise<OrganizationRow | null> {
    const rows = await m.query(
      `INSERT INTO organizations (code, name, parent_code, level, sector, zone, node_id, path)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8) ON CONFLICT (code) DO NOTHING RETURNING *`,
      [o.code, o.name, o.parent_code, o.level, o.sector, o.zone, o.node_id, o.path],
    );
    return rows[0] ?? null;
  }

  async update(m: EntityManager, code: string, o: Partial<OrganizationRow>): Promise<OrganizationRow> {
    const rows = await m.query(
      `UPDATE organizations SET name = $2, parent_code = $3, level = $4, sector = $5, zone = $6, node_id = $7,
         path = $8, updated_at = now() WHERE code = $1 RETURNING *`,
      [code, o.name, o.parent_code, o.level, o.sector, o.zone, o.node_id, o.path],
    );
    // UPDATE … RETURNING answers [rows, count] through TypeORM.
    return rows[0][0];
  }

  /** Deletes a leaf with nothing attached; false when children, users or clients still refer to it. */
  async deleteLeaf(m: EntityManager, code: string): Promise<boolean> {
    const res = await m.query(
      `DELETE FROM organizations o WHERE o.code = $1
         AND NOT EXISTS (SELECT 1 FROM organizations c WHERE c.parent_code = o.code)
         AND NOT EXISTS (SELECT 1 FROM users u WHERE u.organization_code = o.code)
         AND NOT EXISTS (SELECT 1 FROM clients k WHERE k.organization_code = o.code)`,
      [code],
    );
    return res[1] > 0;
  }

  /** Moves every descendant's path prefix (the node itself is updated separately). */
  async movePaths(m: EntityManager, oldPrefix: string, newPrefix: string): Promise<void> {
    await m.query(
      `UPDATE organizations SET path = $2 || substr(path, length($1) + 1), updated_at = now()
       WHERE path LIKE $3 AND path <> $1`,
      [oldPrefix, newPrefix, `${likeLiteral(oldPrefix)}%`],
    );
  }

  // Codes are [0-9A-Z.] only, so a path never holds LIKE wildcards; a constant prefix uses the index.
  async subtreeCodes(code: string): Promise<string[]> {
    const root = await this.find(code);
    if (!root) return [];
    const rows: { code: string }[] = await this.ds.query(
      `SELECT code FROM organizations WHERE path LIKE $1 ORDER BY path`,
      [`${root.path}%`],
    );
    return rows.map((r) => r.code);
  }

  /** True when `code` is `ancestor` or lies below it (two primary-key lookups). */
  async isWithin(code: string, ancestor: string, manager?: EntityManager): Promise<boolean> {
    const rows: { code: string; path: string }[] = await this.m(manager).query(
      `SELECT code, path FROM organizations WHERE code = ANY($1::varchar[])`,
      [[code, ancestor]],
    );
    const o = rows.find((r) => r.code === code);
    const a = rows.find((r) => r.code === ancestor);
    return !!o && !!a && o.path.startsWith(a.path);
  }

  async list(f: OrganizationFilter): Promise<OrganizationRow[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (sql: string, v: unknown) => {
      args.push(v);
      where.push(sql.replace('?', `$${args.length}`));
    };
    if (f.parentCode) add('parent_code = ?', f.parentCode);
    if (f.level) add('level = ?', f.level);
    if (f.sector) add('sector = ?', f.sector);
    if (f.zone) add('zone = ?', f.zone);
    if (f.q) {
      args.push(`%${likeLiteral(f.q)}%`);
      where.push(`(name ILIKE $${args.length} OR code ILIKE $${args.length})`);
    }
    if (f.after) add('code > ?', f.after);
    args.push(f.limit + 1);
    return this.ds.query(
      `SELECT * FROM organizations ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY code LIMIT $${args.length}`,
      args,
    );
  }
}
