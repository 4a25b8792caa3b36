import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { AuditEventPayload } from '@lienthong/contracts';
import type { Pool, QueryResult } from 'pg';
import { DataSource, EntityManager } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
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
  rootOf,
} from '../merkle/merkle';
import { hashedAny } from '../events/hashed-any';
import { eventJson } from './intake.parse';
import { leafBytes } from './leaf-bytes';

export interface TreeHead {
  size: number;
  root: Hash;
}

/** An event ready to append: its jsonb text and leaf hash are computed before the lock is taken. */
interface Prepared {
  event: AuditEventPayload;
  json: string;
  hash: Hash;
}

/** A batch ready to append, by lower-cased event id (see LogRepository.prepare). */
export type PreparedBatch = Map<string, Prepared>;

/** The compact range of the tree as this instance last committed it (valid while tree_state still says so). */
interface Tip {
  size: number;
  root: Hash;
  frontier: { key: NodeKey; hash: Hash }[];
}

type Queryable = Pick<Pool, 'query'>;

/**
 * Node hashes are stored from this level up (subtrees of 16 leaves and more): one row per 16 leaves instead
 * of one per leaf. Lower ones are hashed from the leaf hashes when a proof or a frontier needs them. A log
 * written before this keeps its lower-level rows; they are simply not read.
 */
export const STORED_LEVEL = 4;

const UNIQUE_VIOLATION = '23505';

/**
 * Inserts a batch's leaves ($2 JSON array of events, $3 leaf hashes, from leaf index $1) and new nodes
 * ($4–$6), and sets tree_state to ($7, $8). The indexed columns are read out of the jsonb here.
 * `atTip`: the statement locks tree_state itself and does all of it only if the tree is still ($1, $9),
 * otherwise nothing (no row updated). MATERIALIZED: the lock and the check happen once, before any insert.
 */
function appendSql(atTip: boolean): string {
  const guard = atTip ? 'WHERE EXISTS (SELECT 1 FROM ok)' : '';
  return `WITH ${
    atTip
      ? `s AS MATERIALIZED (SELECT size, root FROM tree_state WHERE id = 1 FOR UPDATE),
         ok AS MATERIALIZED (SELECT 1 FROM s WHERE s.size = $1 AND s.root = $9),`
      : ''
  }
    l AS (
      INSERT INTO leaves (leaf_index, event_id, event, leaf_hash, time, action, actor_sub, organization_code,
                          resource_type, resource_id, service)
      SELECT $1::bigint + u.o - 1, (u.e->>'id')::uuid, u.e, u.h, (u.e->>'time')::timestamptz, u.e->>'action',
             u.e#>>'{actor,sub}', u.e#>>'{actor,organizationCode}', u.e#>>'{resource,type}', u.e#>>'{resource,id}',
             u.e->>'service'
        FROM ROWS FROM (jsonb_array_elements($2::jsonb), unnest($3::bytea[])) WITH ORDINALITY AS u(e, h, o)
        ${guard}
    ), n AS (
      INSERT INTO nodes (level, idx, hash) SELECT * FROM unnest($4::smallint[], $5::bigint[], $6::bytea[]) AS x ${guard}
    )
    UPDATE tree_state SET size = $7, root = $8 WHERE id = 1 ${atTip ? 'AND EXISTS (SELECT 1 FROM ok)' : ''}`;
}

// The hot statements are named, so each pooled connection parses and plans them once.
const APPEND_AT_TIP = appendSql(true);
const APPEND = appendSql(false);
const readNodesSql = (withSize: boolean) =>
  `SELECT 0 AS level, leaf_index AS idx, leaf_hash AS hash FROM leaves WHERE leaf_index = ANY($1::bigint[])
   UNION ALL
   SELECT n.level, n.idx, n.hash FROM nodes n
     JOIN unnest($2::smallint[], $3::bigint[]) AS w(level, idx) ON n.level = w.level AND n.idx = w.idx
   ${withSize ? `UNION ALL SELECT -1, 0, convert_to(size::text, 'UTF8') FROM tree_state WHERE id = 1` : ''}`;
const READ_NODES = readNodesSql(false);
const READ_NODES_WITH_SIZE = readNodesSql(true);

/**
 * The Merkle log in PostgreSQL. Appends run in one transaction per batch under a row lock on tree_state, so
 * replicas serialize and leaf indices stay consecutive. Reads of roots and proofs fetch only the O(log n)
 * perfect-subtree hashes they need.
 *
 * The hot paths (append, proofs) talk to the pg pool directly rather than through TypeORM's query runner:
 * fewer allocations and no per-query logging hooks.
 */
@Injectable()
export class LogRepository {
  private tip?: Tip;
  /** Settles when the latest append has (whatever its outcome). */
  private lastAppend: Promise<void> = Promise.resolve();

  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  private get pool(): Pool {
    return (this.ds.driver as PostgresDriver).master as Pool;
  }

  /**
   * Appends the events not stored yet, in order. Returns the new tree head and how many were new.
   *
   * Common case (this instance made the last append, so it knows the frontier: the O(log n) perfect nodes
   * the new ones are hashed onto): ONE statement in its own implicit transaction, which locks the tree_state
   * row, checks that size and root are still the ones it knows, inserts every leaf and every new node and
   * moves tree_state, or, if another replica appended meanwhile, changes nothing. It returns after the
   * commit (synchronous_commit), like COMMIT would.
   *
   * Otherwise (first append, or the tree moved): `BEGIN` + the row lock, the frontier read if needed, the
   * same insert statement, `COMMIT`.
   *
   * Redelivered events (ids already stored) are rare, so they are not looked up first: the unique index on
   * event_id refuses the insert (the statement or transaction changes nothing), and the batch is redone with
   * a look-up of the stored ids after the lock, so it sees what another replica committed meanwhile.
   */
  async append(events: AuditEventPayload[] | PreparedBatch): Promise<TreeHead & { appended: number }> {
    const unique = events instanceof Map ? events : this.prepare(events);
    // Appends complete in call order. A batch sent right behind another is hashed onto the other's predicted
    // tree, but its statement may reach PostgreSQL first (two pool connections, either may connect first):
    // it then changes nothing, and its locked path must wait until the batch before it is stored, or it
    // would be stored ahead of it.
    const previous = this.lastAppend;
    const run = (async () => {
      try {
        const atTip = await this.appendAtTip(unique);
        if (atTip) return atTip;
        await previous;
        return await this.appendTx(unique, false);
      } catch (e) {
        if ((e as { code?: string }).code !== UNIQUE_VIOLATION) throw e;
        await previous;
        return this.appendTx(unique, true);
      }
    })();
    this.lastAppend = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /**
   * The work of an append that needs no lock nor the tree: one entry per event id (the first wins), its
   * jsonb text and leaf hash. The intake does it while the previous batch commits.
   */
  prepare(events: AuditEventPayload[]): PreparedBatch {
    const unique: PreparedBatch = new Map();
    for (const event of events) {
      const id = event.id.toLowerCase();
      if (!unique.has(id))
        unique.set(id, { event, json: eventJson(event), hash: leafHash(leafBytes(event)) });
    }
    return unique;
  }

  /**
   * The single-statement append on top of the kept frontier; null when there is none or the tree moved.
   * The kept frontier moves to the predicted one as the statement is sent, so a second batch can be sent
   * right behind it (the intake keeps two in flight): PostgreSQL holds it on the row lock and then applies
   * it only if the first one made the tree exactly what it was hashed onto; if the first failed, the second
   * changes nothing and takes the locked path.
   */
  private async appendAtTip(unique: PreparedBatch): Promise<(TreeHead & { appended: number }) | null> {
    const tip = this.tip;
    if (!tip || unique.size === 0) return null;
    const fresh = [...unique.values()];
    const next = this.extend(tip.size, tip.frontier, fresh);
    const predicted: Tip = { size: next.size, root: next.root, frontier: next.frontier };
    this.tip = predicted;
    let applied = false;
    try {
      const r = await this.pool.query({
        name: 'audit-append-at-tip',
        text: APPEND_AT_TIP,
        values: [...next.params, tip.root],
      });
      applied = r.rowCount === 1;
    } finally {
      // Whatever was built on the prediction fails its own check and takes the locked path too.
      if (!applied && this.tip === predicted) this.tip = undefined;
    }
    return applied ? { size: next.size, root: next.root, appended: fresh.length } : null;
  }

  /** Hashes `fresh` onto a tree of `size` with that frontier; the parameters of appendSql. */
  private extend(size: number, frontier: { key: NodeKey; hash: Hash }[], fresh: Prepared[]) {
    const next = appendLeaves(
      size,
      frontier,
      fresh.map((p) => p.hash),
    );
    const root = frontierRoot(next.frontier);
    const stored = next.nodes.filter((n) => n.level >= STORED_LEVEL);
    // The events go as one JSON array (no array-literal escaping of each one, parsed once by PostgreSQL).
    const params: unknown[] = [
      size,
      `[${fresh.map((p) => p.json).join(',')}]`,
      fresh.map((p) => p.hash),
      stored.map((n) => n.level),
      stored.map((n) => n.idx),
      stored.map((n) => n.hash),
      next.size,
      root,
    ];
    return { size: next.size, root, frontier: next.frontier, params };
  }

  private async appendTx(
    unique: PreparedBatch,
    lookUpStored: boolean,
  ): Promise<TreeHead & { appended: number }> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    try {
      const [, locked] = (await client.query(
        `BEGIN; SELECT size, root FROM tree_state WHERE id = 1 FOR UPDATE`,
      )) as unknown as QueryResult<{
        size: string;
        root: Buffer;
      }>[];
      const state = locked.rows[0];
      const size = Number(state.size);
      let fresh = [...unique.values()];
      if (lookUpStored) {
        const stored = await client.query<{ id: string }>(
          `SELECT event_id::text AS id FROM leaves WHERE event_id = ANY($1::uuid[])`,
          [[...unique.keys()]],
        );
        const skip = new Set(stored.rows.map((r) => r.id));
        fresh = [...unique].filter(([id]) => !skip.has(id)).map(([, p]) => p);
      }
      if (fresh.length === 0) {
        await client.query('COMMIT');
        return { size, root: state.root, appended: 0 };
      }

      let frontier: { key: NodeKey; hash: Hash }[];
      if (this.tip && this.tip.size === size && this.tip.root.equals(state.root))
        frontier = this.tip.frontier;
      else {
        const cover = perfectCover({ start: 0, end: size });
        const known = await this.readNodes(client, cover);
        frontier = cover.map((key) => ({ key, hash: known.get(nodeKeyString(key))! }));
      }
      const next = this.extend(size, frontier, fresh);
      await client.query({ name: 'audit-append', text: APPEND, values: next.params });
      await client.query('COMMIT');
      this.tip = { size: next.size, root: next.root, frontier: next.frontier };
      return { size: next.size, root: next.root, appended: fresh.length };
    } catch (e) {
      this.tip = undefined;
      try {
        await client.query('ROLLBACK');
      } catch (rollbackFailed) {
        broken = rollbackFailed as Error;
      }
      throw e;
    } finally {
      // A connection whose rollback failed is in an unknown state: the pool drops it.
      client.release(broken);
    }
  }

  async head(m: EntityManager = this.ds.manager): Promise<TreeHead> {
    const [state] = (await m.query(`SELECT size, root FROM tree_state WHERE id = 1`)) as {
      size: string;
      root: Buffer;
    }[];
    return { size: Number(state.size), root: state.root };
  }

  /**
   * Leaf hash and PATH(m, D[0:n]) in one round trip, with the current size so the caller can refuse sizes
   * the log has not reached (their nodes do not exist yet).
   */
  async inclusionProof(
    index: number,
    size: number,
  ): Promise<{ logSize: number; leaf: Hash | null; path: Hash[] }> {
    const ranges = inclusionRanges(index, size);
    const keys = nodesFor(ranges);
    if (!keys.some((k) => k.level === 0 && k.idx === index)) keys.push({ level: 0, idx: index });
    const { nodes, logSize } = await this.readNodesWithSize(keys);
    if (logSize < size) return { logSize, leaf: null, path: [] };
    const get = this.getter(nodes);
    return { logSize, leaf: nodes.get(`0:${index}`) ?? null, path: ranges.map((r) => rangeHash(r, get)) };
  }

  /** The stored events of these resources with leaf index in (afterIndex, beforeIndex), in leaf order. */
  async eventsOfResources(
    resourceIds: string[],
    afterIndex: number,
    beforeIndex: number,
    limit: number,
  ): Promise<{ leaf_index: string; leaf_hash: Buffer; event: Record<string, unknown> }[]> {
    return this.ds.query(
      `SELECT leaf_index, leaf_hash, event FROM leaves
       WHERE ${hashedAny('resource_id', '$1::text[]')} AND leaf_index > $2 AND leaf_index < $3
       ORDER BY leaf_index LIMIT $4`,
      [resourceIds, afterIndex, beforeIndex, limit],
    );
  }

  /** Inclusion proofs of several leaves at one tree size, their nodes read in one round trip. */
  async inclusionProofs(
    indices: number[],
    size: number,
  ): Promise<{ logSize: number; proofs: { leaf: Hash | null; path: Hash[] }[] }> {
    const ranges = indices.map((i) => inclusionRanges(i, size));
    const keys = new Map<string, NodeKey>();
    for (const [n, r] of ranges.entries()) {
      for (const k of nodesFor(r)) keys.set(nodeKeyString(k), k);
      keys.set(`0:${indices[n]}`, { level: 0, idx: indices[n] });
    }
    const { nodes, logSize } = await this.readNodesWithSize([...keys.values()]);
    if (logSize < size) return { logSize, proofs: [] };
    const get = this.getter(nodes);
    return {
      logSize,
      proofs: indices.map((i, n) => ({
        leaf: nodes.get(`0:${i}`) ?? null,
        path: ranges[n].map((r) => rangeHash(r, get)),
      })),
    };
  }

  async consistencyProof(first: number, second: number): Promise<{ logSize: number; proof: Hash[] }> {
    const ranges = consistencyRanges(first, second);
    const { nodes, logSize } = await this.readNodesWithSize(nodesFor(ranges));
    if (logSize < second) return { logSize, proof: [] };
    const get = this.getter(nodes);
    return { logSize, proof: ranges.map((r) => rangeHash(r, get)) };
  }

  private async readNodesWithSize(keys: NodeKey[]): Promise<{ nodes: Map<string, Hash>; logSize: number }> {
    const nodes = await this.readNodes(this.pool, keys, true);
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

  private readNodes(q: Queryable, keys: NodeKey[], withSize = false): Promise<Map<string, Hash>> {
    return readNodeHashes(async (query) => (await q.query<NodeRow>(query)).rows, keys, withSize);
  }
}

type NodeRow = { level: number; idx: string; hash: Buffer };

/** Runs one (named) query and gives its rows: a pg pool or client, or a TypeORM EntityManager adapted. */
export type NodeRowQuery = (query: { name: string; text: string; values: unknown[] }) => Promise<NodeRow[]>;

/**
 * The hashes of these perfect nodes (keyed `level:idx`), in one round trip; with `withSize`, also the log
 * size as 'size' (text bytes). Levels ≥ STORED_LEVEL come from nodes; a node below it is hashed here from
 * its 2^level leaf hashes (at most 2^STORED_LEVEL − 1 leaves, adjacent in the primary key). A node that is
 * missing is absent from the map.
 */
export async function readNodeHashes(
  run: NodeRowQuery,
  keys: NodeKey[],
  withSize = false,
): Promise<Map<string, Hash>> {
  const out = new Map<string, Hash>();
  if (keys.length === 0 && !withSize) return out;
  const leavesWanted = new Set<number>();
  const inner: NodeKey[] = [];
  const low: NodeKey[] = [];
  for (const k of keys) {
    if (k.level >= STORED_LEVEL) inner.push(k);
    else {
      if (k.level > 0) low.push(k);
      const first = k.idx * 2 ** k.level;
      for (let i = first; i < first + 2 ** k.level; i++) leavesWanted.add(i);
    }
  }
  const rows = await run({
    name: withSize ? 'audit-read-nodes-size' : 'audit-read-nodes',
    text: withSize ? READ_NODES_WITH_SIZE : READ_NODES,
    values: [[...leavesWanted], inner.map((k) => k.level), inner.map((k) => k.idx)],
  });
  // The tree size rides along as level -1 (as text bytes) when asked for.
  for (const r of rows) out.set(r.level === -1 ? 'size' : `${r.level}:${Number(r.idx)}`, r.hash);
  for (const k of low) {
    const first = k.idx * 2 ** k.level;
    const leaves: Hash[] = [];
    for (let i = first; i < first + 2 ** k.level; i++) {
      const h = out.get(`0:${i}`);
      if (!h) break; // a missing leaf: the node is reported missing by the caller
      leaves.push(h);
    }
    if (leaves.length === 2 ** k.level) out.set(nodeKeyString(k), rootOf(leaves));
  }
  return out;
}
