import { Injectable } from '@nestjs/common';
import type { Role } from '@lienthong/contracts';
import { createHash } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';

export interface ClientRow {
  client_id: string;
  name: string;
  organization_code: string;
  roles: Role[];
  secret_hash: Buffer;
  previous_secret_hash: Buffer | null;
  previous_valid_until: Date | null;
  created_at?: Date;
  updated_at?: Date;
}

/**
 * Client secrets are 256 random bits, so a single SHA-256 is as strong as a slow hash here and keeps the
 * client-credentials grant cheap (a slow hash only helps against guessable, human-chosen secrets).
 */
export const secretHash = (secret: string) => createHash('sha256').update(secret, 'utf8').digest();

@Injectable()
export class ClientsRepository {
  constructor(private readonly ds: DataSource) {}

  async find(clientId: string, m: EntityManager = this.ds.manager): Promise<ClientRow | null> {
    const rows = await m.query(`SELECT * FROM clients WHERE client_id = $1`, [clientId]);
    return rows[0] ?? null;
  }

  async insert(
    m: EntityManager,
    c: Pick<ClientRow, 'client_id' | 'name' | 'organization_code' | 'roles' | 'secret_hash'>,
  ) {
    await m.query(
      `INSERT INTO clients (client_id, name, organization_code, roles, secret_hash) VALUES ($1,$2,$3,$4::text[],$5)`,
      [c.client_id, c.name, c.organization_code, c.roles, c.secret_hash],
    );
  }

  async rotate(m: EntityManager, clientId: string, newHash: Buffer, graceSeconds: number): Promise<void> {
    await m.query(
      `UPDATE clients SET previous_secret_hash = secret_hash, previous_valid_until = now() + make_interval(secs => $3),
         secret_hash = $2, updated_at = now() WHERE client_id = $1`,
      [clientId, newHash, graceSeconds],
    );
  }

  /** A page by client id; `orgCodes` null = every organization. The secret hashes are never selected. */
  async list(
    orgCodes: string[] | null,
    after: string | null,
    limit: number,
  ): Promise<Omit<ClientRow, 'secret_hash' | 'previous_secret_hash'>[]> {
    return this.ds.query(
      `SELECT client_id, name, organization_code, roles, previous_valid_until, created_at, updated_at FROM clients
       WHERE ($1::varchar[] IS NULL OR organization_code = ANY($1::varchar[]))
         AND ($2::varchar IS NULL OR client_id > $2)
       ORDER BY client_id LIMIT $3`,
      [orgCodes, after, limit + 1],
    );
  }

  async delete(m: EntityManager, clientId: string): Promise<void> {
    await m.query(`DELETE FROM clients WHERE client_id = $1`, [clientId]);
  }
}
