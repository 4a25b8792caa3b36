import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { WitnessSubmittedEvent } from '@lienthong/contracts';
import { DataSource, type EntityManager } from 'typeorm';
import type { Judgement, NodeWitnessState } from './witness.verify';

export interface WitnessedRow {
  id: string;
  node_id: string;
  origin: string;
  tree_size: string;
  root_hash: Buffer;
  checkpoint_timestamp: string;
  key_id: string;
  signature: string;
  public_key: string;
  previous_size: string | null;
  previous_root: Buffer | null;
  verdict: 'cosigned' | 'refused';
  reason: string | null;
  detail: string | null;
  cosignature: string | null;
  witness_key_id: string | null;
  witnessed_at: Date;
}

export interface NodeSummaryRow {
  node_id: string;
  origin: string | null;
  tree_size: string | null;
  root_hash: Buffer | null;
  witnessed_at: Date | null;
  cosigned: string;
  refused: string;
  inconsistent: string;
  last_refusal_at: Date | null;
  keys: string[];
  last_verdict: string | null;
  last_reason: string | null;
  last_tree_size: string | null;
  last_witnessed_at: Date | null;
}

export interface CosignatureRow {
  id: string;
  witness: string;
  tree_size: string;
  root_hash: Buffer;
  checkpoint_id: string | null;
  verdict: 'cosigned' | 'refused';
  reason: string | null;
  cosignature: string | null;
  witness_key_id: string | null;
  cosignature_verified: boolean | null;
  witnessed_at: Date;
  received_at: Date;
}

/** All SQL of witnessing (central side) and of the cosignatures a signing node received. */
@Injectable()
export class WitnessRepository {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  /** Serializes the verdicts about one node across replicas (held until the transaction ends). */
  async lockNode(m: EntityManager, nodeId: string): Promise<void> {
    await m.query(`SELECT pg_advisory_xact_lock(hashtext(current_schema() || '.witness.' || $1))`, [nodeId]);
  }

  /** The latest answer already given about this exact head, if any. */
  async answerFor(
    m: EntityManager,
    nodeId: string,
    treeSize: number,
    rootHash: string,
  ): Promise<WitnessedRow | null> {
    const [row] = (await m.query(
      `SELECT * FROM witnessed_checkpoints WHERE node_id = $1 AND tree_size = $2 AND root_hash = $3 ORDER BY id DESC LIMIT 1`,
      [nodeId, treeSize, Buffer.from(rootHash, 'hex')],
    )) as WitnessedRow[];
    return row ?? null;
  }

  async state(m: EntityManager, nodeId: string): Promise<NodeWitnessState> {
    const [head] = (await m.query(
      `SELECT origin, tree_size, root_hash FROM witnessed_checkpoints WHERE node_id = $1 AND verdict = 'cosigned'
       ORDER BY tree_size DESC, id DESC LIMIT 1`,
      [nodeId],
    )) as { origin: string; tree_size: string; root_hash: Buffer }[];
    const keys = (await m.query(`SELECT key_id, public_key FROM witness_node_keys WHERE node_id = $1`, [
      nodeId,
    ])) as {
      key_id: string;
      public_key: string;
    }[];
    return {
      head: head
        ? { origin: head.origin, treeSize: Number(head.tree_size), rootHash: head.root_hash.toString('hex') }
        : null,
      keys: new Map(keys.map((k) => [k.key_id, k.public_key])),
    };
  }

  async insert(
    m: EntityManager,
    sub: WitnessSubmittedEvent,
    j: Judgement,
    cosign: { cosignature: string; witnessKeyId: string } | null,
  ): Promise<WitnessedRow> {
    const c = sub.checkpoint;
    const prev = j.reason === 'MALFORMED' ? undefined : sub.previous;
    const [row] = (await m.query(
      `INSERT INTO witnessed_checkpoints (node_id, origin, tree_size, root_hash, checkpoint_timestamp, key_id, signature, public_key,
         previous_size, previous_root, verdict, reason, detail, cosignature, witness_key_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING *`,
      [
        sub.nodeId,
        c.origin,
        c.treeSize,
        Buffer.from(c.rootHash, 'hex'),
        c.timestamp,
        c.keyId,
        c.signature,
        sub.publicKey,
        prev?.treeSize ?? null,
        prev ? Buffer.from(prev.rootHash, 'hex') : null,
        j.verdict,
        j.reason ?? null,
        j.detail.slice(0, 500),
        cosign?.cosignature ?? null,
        cosign?.witnessKeyId ?? null,
      ],
    )) as WitnessedRow[];
    return row;
  }

  async pinKey(
    m: EntityManager,
    nodeId: string,
    keyId: string,
    publicKey: string,
    treeSize: number,
  ): Promise<void> {
    await m.query(
      `INSERT INTO witness_node_keys (node_id, key_id, public_key, pinned_at_size) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
      [nodeId, keyId, publicKey, treeSize],
    );
  }

  async nodes(): Promise<NodeSummaryRow[]> {
    return (await this.ds.query(
      `SELECT n.node_id, h.origin, h.tree_size, h.root_hash, h.witnessed_at,
              n.cosigned, n.refused, n.inconsistent, n.last_refusal_at,
              coalesce((SELECT array_agg(k.key_id ORDER BY k.pinned_at, k.key_id) FROM witness_node_keys k WHERE k.node_id = n.node_id), '{}') AS keys,
              l.verdict AS last_verdict, l.reason AS last_reason, l.tree_size AS last_tree_size,
              l.witnessed_at AS last_witnessed_at
         FROM (SELECT node_id,
                      count(*) FILTER (WHERE verdict = 'cosigned') AS cosigned,
                      count(*) FILTER (WHERE verdict = 'refused') AS refused,
                      count(*) FILTER (WHERE reason = 'INCONSISTENT') AS inconsistent,
                      max(witnessed_at) FILTER (WHERE verdict = 'refused') AS last_refusal_at
                 FROM witnessed_checkpoints GROUP BY node_id) n
         LEFT JOIN LATERAL (SELECT origin, tree_size, root_hash, witnessed_at FROM witnessed_checkpoints w
                             WHERE w.node_id = n.node_id AND w.verdict = 'cosigned'
                             ORDER BY w.tree_size DESC, w.id DESC LIMIT 1) h ON true
         LEFT JOIN LATERAL (SELECT verdict, reason, tree_size, witnessed_at FROM witnessed_checkpoints w
                             WHERE w.node_id = n.node_id ORDER BY w.id DESC LIMIT 1) l ON true
        ORDER BY n.node_id`,
    )) as NodeSummaryRow[];
  }

  async nodePage(nodeId: string, after: number, limit: number): Promise<WitnessedRow[]> {
    return (await this.ds.query(
      `SELECT * FROM witnessed_checkpoints WHERE node_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
      [nodeId, after, limit],
    )) as WitnessedRow[];
  }

  async checkpointIdFor(
    m: EntityManager,
    treeSize: number,
    rootHash: string,
  ): Promise<{ id: string; origin: string } | null> {
    const [row] = (await m.query(
      `SELECT id, origin FROM checkpoints WHERE tree_size = $1 AND root_hash = $2 ORDER BY id LIMIT 1`,
      [treeSize, Buffer.from(rootHash, 'hex')],
    )) as { id: string; origin: string }[];
    return row ?? null;
  }

  async insertCosignature(
    m: EntityManager,
    r: Omit<CosignatureRow, 'id' | 'received_at' | 'root_hash' | 'tree_size'> & {
      tree_size: number;
      root_hash: string;
    },
  ): Promise<boolean> {
    const rows = (await m.query(
      `INSERT INTO checkpoint_cosignatures (witness, tree_size, root_hash, checkpoint_id, verdict, reason, cosignature, witness_key_id,
         cosignature_verified, witnessed_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING RETURNING id`,
      [
        r.witness,
        r.tree_size,
        Buffer.from(r.root_hash, 'hex'),
        r.checkpoint_id,
        r.verdict,
        r.reason,
        r.cosignature,
        r.witness_key_id,
        r.cosignature_verified,
        r.witnessed_at,
      ],
    )) as unknown[];
    return rows.length === 1;
  }

  async cosignatures(treeSize: number | undefined, after: number, limit: number): Promise<CosignatureRow[]> {
    return (await this.ds.query(
      `SELECT * FROM checkpoint_cosignatures WHERE id > $1 AND ($2::bigint IS NULL OR tree_size = $2) ORDER BY id LIMIT $3`,
      [after, treeSize ?? null, limit],
    )) as CosignatureRow[];
  }
}
