import { Injectable } from '@nestjs/common';
import type {
  NetworkZone,
  OrganizationLevel,
  OrganizationSector,
  OrganizationView,
} from '@lienthong/contracts';
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
  /** bigint: PostgreSQL answers a string (see versionOf). */
  version: string | number;
  /** Replica only: the centre's parent while it has not arrived here (the row is a root meanwhile). */
  pending_parent_code: string | null;
}

export const versionOf = (r: Pick<OrganizationRow, 'version'>): number => Number(r.version);

/** A replicated organization state as stored on a replica. */
export interface ReplicaOrganizationState {
  code: string;
  name: string;
  level: OrganizationLevel;
  sector: OrganizationSector;
  zone: NetworkZone;
  node_id: string;
  version: number;
  created_at: string | null;
  updated_at: string | null;
}

export function toView(r: OrganizationRow): OrganizationView {
  return {
    code: r.code,
    name: r.name,
    // On a replica an organization whose parent has not arrived yet still shows the centre's parent.
    parentCode: r.parent_code ?? r.pending_parent_code ?? null,
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
    const rows = await this.m(manager).query(
      `SELECT * FROM organizations WHERE code = $1${lock ? ' FOR UPDATE' : ''}`,
      [code],
    );
    return rows[0] ?? null;
  }

  async findMany(codes: string[]): Promise<OrganizationRow[]> {
    if (codes.length === 0) return [];
    return this.ds.query(`SELECT * FROM organizations WHERE code = ANY($1::varchar[])`, [codes]);
  }

  async insert(
    m: EntityManager,
    o: Omit<OrganizationRow, 'created_at' | 'updated_at' | 'version' | 'pending_parent_code'>,
  ): Promise<OrganizationRow | null> {
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
         path = $8, updated_at = now(), version = nextval('organization_version_seq') WHERE code = $1 RETURNING *`,
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

  /** A new version for a deletion (tombstone) on the authoritative node. */
  async nextVersion(m: EntityManager): Promise<number> {
    const [{ v }] = await m.query(`SELECT nextval('organization_version_seq')::text AS v`);
    return Number(v);
  }

  /** Every organization (for the directory backfill), locked against concurrent changes. */
  async allForShare(m: EntityManager, codes?: string[]): Promise<OrganizationRow[]> {
    return codes
      ? m.query(`SELECT * FROM organizations WHERE code = ANY($1::varchar[]) ORDER BY path FOR SHARE`, [
          codes,
        ])
      : m.query(`SELECT * FROM organizations ORDER BY path FOR SHARE`);
  }

  async allCodes(): Promise<string[]> {
    const rows: { code: string }[] = await this.ds.query(`SELECT code FROM organizations`);
    return rows.map((r) => r.code);
  }

  // ---- replica side (rows written from the directory stream; versions and timestamps are the centre's) ----

  /** Inserts a replicated state as a root (placeReplica then puts it in the tree). */
  async insertReplica(m: EntityManager, o: ReplicaOrganizationState): Promise<void> {
    await m.query(
      `INSERT INTO organizations (code, name, parent_code, level, sector, zone, node_id, path, version, created_at, updated_at)
       VALUES ($1,$2,NULL,$3,$4,$5,$6,$7,$8,COALESCE($9::timestamptz, now()),COALESCE($10::timestamptz, now()))`,
      [
        o.code,
        o.name,
        o.level,
        o.sector,
        o.zone,
        o.node_id,
        `/${o.code}/`,
        o.version,
        o.created_at,
        o.updated_at,
      ],
    );
  }

  async updateReplica(m: EntityManager, o: ReplicaOrganizationState): Promise<void> {
    await m.query(
      `UPDATE organizations SET name = $2, level = $3, sector = $4, zone = $5, node_id = $6, version = $7,
         created_at = COALESCE($8::timestamptz, created_at), updated_at = COALESCE($9::timestamptz, now())
       WHERE code = $1`,
      [o.code, o.name, o.level, o.sector, o.zone, o.node_id, o.version, o.created_at, o.updated_at],
    );
  }

  async setPlacement(
    m: EntityManager,
    code: string,
    parentCode: string | null,
    pendingParentCode: string | null,
  ): Promise<void> {
    await m.query(`UPDATE organizations SET parent_code = $2, pending_parent_code = $3 WHERE code = $1`, [
      code,
      parentCode,
      pendingParentCode,
    ]);
  }

  /** Moves the path prefix of a node and all its descendants (timestamps untouched: they are the centre's). */
  async rebasePaths(m: EntityManager, oldPrefix: string, newPrefix: string): Promise<void> {
    await m.query(`UPDATE organizations SET path = $2 || substr(path, length($1) + 1) WHERE path LIKE $3`, [
      oldPrefix,
      newPrefix,
      `${likeLiteral(oldPrefix)}%`,
    ]);
  }

  async childCodes(m: EntityManager, code: string): Promise<string[]> {
    const rows: { code: string }[] = await m.query(
      `SELECT code FROM organizations WHERE parent_code = $1 ORDER BY code`,
      [code],
    );
    return rows.map((r) => r.code);
  }

  async pendingChildCodes(m: EntityManager, code: string): Promise<string[]> {
    const rows: { code: string }[] = await m.query(
      `SELECT code FROM organizations WHERE pending_parent_code = $1 ORDER BY code`,
      [code],
    );
    return rows.map((r) => r.code);
  }

  /** Node-local users or clients attached to the organization. */
  async hasMembers(m: EntityManager, code: string): Promise<boolean> {
    const [{ n }] = await m.query(
      `SELECT (EXISTS (SELECT 1 FROM users WHERE organization_code = $1) OR EXISTS (SELECT 1 FROM clients WHERE organization_code = $1)) AS n`,
      [code],
    );
    return n === true;
  }

  async tombstoneVersion(m: EntityManager, code: string): Promise<number | null> {
    const rows: { version: string }[] = await m.query(
      `SELECT version::text AS version FROM directory_tombstones WHERE code = $1`,
      [code],
    );
    return rows[0] ? Number(rows[0].version) : null;
  }

  async recordTombstone(m: EntityManager, code: string, version: number): Promise<void> {
    await m.query(
      `INSERT INTO directory_tombstones (code, version) VALUES ($1, $2)
       ON CONFLICT (code) DO UPDATE SET version = GREATEST(directory_tombstones.version, EXCLUDED.version), deleted_at = now()`,
      [code, version],
    );
  }

  /**
   * Moves every descendant's path prefix (the node itself is updated separately). The path is internal, not
   * part of a descendant's view, so its `updated_at` and version stay (replicas recompute paths themselves).
   */
  async movePaths(m: EntityManager, oldPrefix: string, newPrefix: string): Promise<void> {
    await m.query(
      `UPDATE organizations SET path = $2 || substr(path, length($1) + 1)
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
