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

  async delete(m: EntityManager, clientId: string): Promise<void> {
    await m.query(`DELETE FROM clients WHERE client_id = $1`, [clientId]);
  }
}
