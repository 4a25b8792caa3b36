import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { escapeLike } from '../organizations/organizations.repository';
import type { UserRow } from './users.entity';

@Injectable()
export class UsersRepository {
  constructor(private readonly ds: DataSource) {}

  private m(manager?: EntityManager) {
    return manager ?? this.ds.manager;
  }

  async byId(id: string, manager?: EntityManager): Promise<UserRow | undefined> {
    return (await this.m(manager).query('SELECT * FROM users WHERE id = $1', [id]))[0];
  }

  async byUsername(username: string, manager?: EntityManager): Promise<UserRow | undefined> {
    return (await this.m(manager).query('SELECT * FROM users WHERE lower(username) = lower($1)', [username]))[0];
  }

  async count(): Promise<number> {
    return Number((await this.ds.query('SELECT count(*)::int AS n FROM users'))[0].n);
  }

  async insert(m: EntityManager, u: Pick<UserRow, 'id' | 'username' | 'full_name' | 'email' | 'password_hash' | 'organization_code' | 'roles'>) {
    const rows: UserRow[] = await m.query(
      `INSERT INTO users (id, username, full_name, email, password_hash, organization_code, roles)
       VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT DO NOTHING RETURNING *`,
      [u.id, u.username, u.full_name, u.email, u.password_hash, u.organization_code, u.roles],
    );
    return rows[0];
  }

  async update(m: EntityManager, id: string, fields: Partial<UserRow>): Promise<UserRow> {
    const cols = Object.keys(fields) as (keyof UserRow)[];
    const sets = cols.map((c, i) => `${c} = $${i + 2}`);
    const [rows] = await m.query(
      `UPDATE users SET ${[...sets, 'updated_at = now()'].join(', ')} WHERE id = $1 RETURNING *`,
      [id, ...cols.map((c) => fields[c])],
    );
    return rows[0];
  }

  /** One failed attempt, counted atomically so parallel attempts cannot slip past the limit. */
  async recordFailure(
    id: string,
    maxFailures: number,
    windowSeconds: number,
    baseLockSeconds: number,
  ): Promise<{ failed_count: number; locked_until: Date | null; newly_locked: boolean }> {
    const [rows] = await this.ds.query(
      `WITH cur AS (
         SELECT id,
                CASE WHEN failed_window_start > now() - make_interval(secs => $3) THEN failed_count + 1 ELSE 1 END AS n,
                CASE WHEN failed_window_start > now() - make_interval(secs => $3) THEN failed_window_start ELSE now() END AS ws,
                lock_count, locked_until
         FROM users WHERE id = $1 FOR UPDATE
       )
       UPDATE users u SET
         failed_count = cur.n,
         failed_window_start = cur.ws,
         locked_until = CASE WHEN cur.n >= $2 AND (cur.locked_until IS NULL OR cur.locked_until < now())
                        THEN now() + make_interval(secs => LEAST(86400, $4 * power(2, cur.lock_count))::int)
                        ELSE cur.locked_until END,
         lock_count = CASE WHEN cur.n >= $2 AND (cur.locked_until IS NULL OR cur.locked_until < now())
                      THEN cur.lock_count + 1 ELSE cur.lock_count END
       FROM cur WHERE u.id = cur.id
       RETURNING u.failed_count, u.locked_until, (u.lock_count > cur.lock_count) AS newly_locked`,
      [id, maxFailures, windowSeconds, baseLockSeconds],
    );
    return rows[0];
  }

  async recordSuccess(id: string): Promise<void> {
    await this.ds.query(
      'UPDATE users SET failed_count = 0, failed_window_start = NULL WHERE id = $1 AND failed_count > 0',
      [id],
    );
  }

  async list(filter: { organizationCode?: string; withinPath?: string; cursor?: string; limit: number }): Promise<UserRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const p = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    if (filter.organizationCode) where.push(`u.organization_code = ${p(filter.organizationCode)}`);
    if (filter.withinPath) where.push(`o.path LIKE ${p(`${escapeLike(filter.withinPath)}%`)} ESCAPE '\\'`);
    if (filter.cursor) where.push(`u.id > ${p(filter.cursor)}`);
    return this.ds.query(
      `SELECT u.* FROM users u JOIN organizations o ON o.code = u.organization_code
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY u.id LIMIT ${p(filter.limit)}`,
      params,
    );
  }
}
