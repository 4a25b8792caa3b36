import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { AuditEventPayload } from '@lienthong/contracts';
import { DataSource, EntityManager } from 'typeorm';
import {
  appendLeaves,
  consistencyRanges,
  frontierRoot,
  Hash,
  inclusionRanges,
  leafHash,
  NodeKey,
  nodeKeyString,
  nodesFor,
  perfectCover,
  rangeHash,
} from '../merkle/merkle';
import { leafBytes } from './leaf-bytes';

export interface TreeHead {
  size: number;
  root: Hash;
}

/**
 * The Merkle log in PostgreSQL. Appends run in one transaction per batch under a row lock on tree_state, so
 * replicas serialize and leaf indices stay consecutive. Reads of roots and proofs fetch only the O(log n)
 * perfect-subtree hashes they need.
 */
@Injectable()
export class LogRepository {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  /** Appends the events not stored yet, in order. Returns the new tree head and how many were new. */
  async append(events: AuditEventPayload[]): Promise<TreeHead & { appended: number }> {
    return this.ds.transaction(async (m) => {
      const [state] = (await m.query(`SELECT size, root FROM tree_state WHERE id = 1 FOR UPDATE`)) as { size: string; root: Buffer }[];
      const size = Number(state.size);
      const unique = new Map<string, AuditEventPayload>();
      for (const e of events) if (!unique.has(e.id)) unique.set(e.id, e);
      const existing = (await m.query(`SELECT event_id FROM leaves WHERE event_id = ANY($1::uuid[])`, [[...unique.keys()]])) as {
        event_id: string;
      }[];
      for (const row of existing) unique.delete(row.event_id);
      const fresh = [...unique.values()];
      if (fresh.length === 0) return { size, root: state.root, appended: 0 };

      const cover = perfectCover({ start: 0, end: size });
      const known = await this.readNodes(m, cover);
      const frontier = cover.map((key) => ({ key, hash: known.get(nodeKeyString(key))! }));
      const hashes = fresh.map((e) => leafHash(leafBytes(e)));
      const next = appendLeaves(size, frontier, hashes);
      const root = frontierRoot(next.frontier);

      await m.query(
        `INSERT INTO leaves (leaf_index, event_id, event, leaf_hash, time, action, actor_sub, organization_code,
                             resource_type, resource_id, service)
         SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::jsonb[], $4::bytea[], $5::timestamptz[], $6::text[],
                              $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])`,
        [
          fresh.map((_, i) => size + i),
          fresh.map((e) => e.id),
          fresh.map((e) => JSON.stringify(e)),
          hashes,
          fresh.map((e) => e.time),
          fresh.map((e) => e.action),
          fresh.map((e) => e.actor.sub),
          fresh.map((e) => e.actor.organizationCode ?? null),
          fresh.map((e) => e.resource.type),
          fresh.map((e) => e.resource.id),
          fresh.map((e) => e.service),
        ],
      );
      if (next.nodes.length > 0) {
        await m.query(`INSERT INTO nodes (level, idx, hash) SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])`, [
          next.nodes.map((n) => n.level),
          next.nodes.map((n) => n.idx),
          next.nodes.map((n) => n.hash),
        ]);
      }
      await m.query(`UPDATE tree_state SET size = $1, root = $2 WHERE id = 1`, [next.size, root]);
      return { size: next.size, root, appended: fresh.length };
    });
  }

  async head(m: EntityManager = this.ds.manager): Promise<TreeHead> {
    const [state] = (await m.query(`SELECT size, root FROM tree_state WHERE id = 1`)) as { size: string; root: Buffer }[];
    return { size: Number(state.size), root: state.root };
  }

  /**
   * Leaf hash and PATH(m, D[0:n]) in one round trip, with the current size so the caller can refuse sizes
   * the log has not reached (their nodes do not exist yet).
   */
  async inclusionProof(index: number, size: number): Promise<{ logSize: number; leaf: Hash | null; path: Hash[] }> {
    const ranges = inclusionRanges(index, size);
    const keys = nodesFor(ranges);
    if (!keys.some((k) => k.level === 0 && k.idx === index)) keys.push({ level: 0, idx: index });
    const { nodes, logSize } = await this.readNodesWithSize(keys);
    if (logSize < size) return { logSize, leaf: null, path: [] };
    const get = this.getter(nodes);
    return { logSize, leaf: nodes.get(`0:${index}`) ?? null, path: ranges.map((r) => rangeHash(r, get)) };
  }

  async consistencyProof(first: number, second: number): Promise<{ logSize: number; proof: Hash[] }> {
    const ranges = consistencyRanges(first, second);
    const { nodes, logSize } = await this.readNodesWithSize(nodesFor(ranges));
    if (logSize < second) return { logSize, proof: [] };
    const get = this.getter(nodes);
    return { logSize, proof: ranges.map((r) => rangeHash(r, get)) };
  }

  private async readNodesWithSize(keys: NodeKey[]): Promise<{ nodes: Map<string, Hash>; logSize: number }> {
    const nodes = await this.readNodes(this.ds.manager, keys, true);
    const logSize = Number(nodes.get('size')?.toString() ?? '0');
    nodes.delete('size');
    return { nodes, logSize };
  }

  private getter(nodes: Map<string, Hash>): (k: NodeKey) => Hash {
    return (k) => {
      const h = nodes.get(nodeKeyString(k));
      if (!h) throw new Error(`audit log node ${nodeKeyString(k)} is missing`);
      return h;
    };
  }

  /** One round trip: level-0 hashes from leaves, higher levels from nodes. */
  private async readNodes(m: EntityManager, keys: NodeKey[], withSize = false): Promise<Map<string, Hash>> {
    const out = new Map<string, Hash>();
    if (keys.length === 0 && !withSize) return out;
    const leavesWanted = keys.filter((k) => k.level === 0).map((k) => k.idx);
    const inner = keys.filter((k) => k.level > 0);
    const rows = (await m.query(
      `SELECT 0 AS level, leaf_index AS idx, leaf_hash AS hash FROM leaves WHERE leaf_index = ANY($1::bigint[])
       UNION ALL
       SELECT n.level, n.idx, n.hash FROM nodes n
         JOIN unnest($2::smallint[], $3::bigint[]) AS w(level, idx) ON n.level = w.level AND n.idx = w.idx
       ${withSize ? `UNION ALL SELECT -1, 0, convert_to(size::text, 'UTF8') FROM tree_state WHERE id = 1` : ''}`,
      [leavesWanted, inner.map((k) => k.level), inner.map((k) => k.idx)],
    )) as { level: number; idx: string; hash: Buffer }[];
    // The tree size rides along as level -1 (as text bytes) when asked for.
    for (const r of rows) out.set(r.level === -1 ? 'size' : `${r.level}:${Number(r.idx)}`, r.hash);
    return out;
  }
}
