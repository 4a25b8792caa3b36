import { Injectable } from '@nestjs/common';
import type { Role } from '@lienthong/contracts';
import { DataSource, EntityManager } from 'typeorm';
import type { UserView } from './users.dto';

export interface UserRow {
  id: string;
  username: string;
  full_name: string;
  email: string | null;
  password_hash: string;
  organization_code: string;
  roles: Role[];
  disabled: boolean;
  totp_secret_enc: string | null;
  totp_enabled: boolean;
  /** RFC 6238 step of the last TOTP code used (bigint, as pg returns it); see `TotpCodes`. */
  totp_last_step: string | null;
  failed_count: number;
  first_failed_at: Date | null;
  locked_until: Date | null;
  lock_level: number;
}

export function toUserView(r: UserRow): UserView {
  return {
    id: r.id,
    username: r.username,
    fullName: r.full_name,
    email: r.email,
    organizationCode: r.organization_code,
    roles: r.roles,
    disabled: r.disabled,
    totpEnabled: r.totp_enabled,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

@Injectable()
export class UsersRepository {
  constructor(private readonly ds: DataSource) {}

  async findById(id: string, m: EntityManager = this.ds.manager, lock = false): Promise<UserRow | null> {
    if (!UUID.test(id)) return null;
    const rows = await m.query(`SELECT * FROM users WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id]);
    return rows[0] ?? null;
  }

  /** FOR UPDATE serializes concurrent logins of one account, so failure counting cannot be raced. */
  async findByUsernameForUpdate(m: EntityManager, username: string): Promise<UserRow | null> {
    const rows = await m.query(`SELECT * FROM users WHERE username = $1 FOR UPDATE`, [username]);
    return rows[0] ?? null;
  }

  async count(): Promise<number> {
    const [{ n }] = await this.ds.query(`SELECT count(*)::int AS n FROM users`);
    return n;
  }

  async insert(
    m: EntityManager,
    u: Pick<
      UserRow,
      'id' | 'username' | 'full_name' | 'email' | 'password_hash' | 'organization_code' | 'roles'
    >,
  ): Promise<UserRow | null> {
    const rows = await m.query(
      `INSERT INTO users (id, username, full_name, email, password_hash, organization_code, roles)
       VALUES ($1,$2,$3,$4,$5,$6,$7::text[]) ON CONFLICT (username) DO NOTHING RETURNING *`,
      [u.id, u.username, u.full_name, u.email, u.password_hash, u.organization_code, u.roles],
    );
    return rows[0] ?? null;
  }

  async save(m: EntityManager, u: UserRow): Promise<UserRow> {
    const res = await m.query(
      `UPDATE users SET full_name=$2, roles=$3::text[], disabled=$4, password_hash=$5, totp_secret_enc=$6, totp_enabled=$7,
         failed_count=$8, first_failed_at=$9, locked_until=$10, lock_level=$11, updated_at=now()
       WHERE id=$1 RETURNING *`,
      [
        u.id,
        u.full_name,
        u.roles,
        u.disabled,
        u.password_hash,
        u.totp_secret_enc,
        u.totp_enabled,
        u.failed_count,
        u.first_failed_at,
        u.locked_until,
        u.lock_level,
      ],
    );
    return res[0][0];
  }

  /**
   * Records that the user used the TOTP code of `step`, unless a code of that step or a later one was used
   * already: false then (a replay). One conditional UPDATE, so two concurrent uses of one code cannot both win.
   * `save` never writes this column.
   */
  async claimTotpStep(m: EntityManager, id: string, step: number): Promise<boolean> {
    const [rows] = await m.query(
      `UPDATE users SET totp_last_step = $2
       WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2) RETURNING id`,
      [id, step],
    );
    return rows.length === 1;
  }

  async delete(m: EntityManager, id: string): Promise<void> {
    await m.query(`DELETE FROM users WHERE id = $1`, [id]);
  }

  /** Users of the given organizations (null = all), keyset-paged by username. */
  async list(orgCodes: string[] | null, after: string | null, limit: number): Promise<UserRow[]> {
    const args: unknown[] = [];
    const where: string[] = [];
    if (orgCodes) {
      args.push(orgCodes);
      where.push(`organization_code = ANY($${args.length}::varchar[])`);
    }
    if (after) {
      args.push(after);
      where.push(`username > $${args.length}`);
    }
    args.push(limit + 1);
    return this.ds.query(
      `SELECT * FROM users ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY username LIMIT $${args.length}`,
      args,
    );
  }
}
