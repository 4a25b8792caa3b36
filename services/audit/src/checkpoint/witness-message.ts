import type { SignedCheckpointMessage } from '@lienthong/contracts';
import { createHash } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { consistencyRanges, type Hash, type NodeKey, nodeKeyString, nodesFor, rangeHash } from '../merkle/merkle';

/** A uuid derived from a name (SHA-256, version/variant bits set like v5): the same name, the same id. */
export function deterministicUuid(name: string): string {
  const b = createHash('sha256').update(name).digest().subarray(0, 16);
  b[6] = (b[6] & 0x0f) | 0x50;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Outbox id of the witness message for a checkpoint: redelivery and re-signing races dedupe on it. */
export const witnessMessageId = (origin: string, treeSize: number) => deterministicUuid(`witness.checkpoint-signed\n${origin}\n${treeSize}`);

/**
 * PROOF(first, D[0:second]) read through the caller's transaction (which holds the tree_state lock, so the
 * nodes below `second` are settled). Hex strings, as the API's consistency proof.
 */
export async function consistencyProofIn(m: EntityManager, first: number, second: number): Promise<string[]> {
  if (first <= 0 || first >= second) return [];
  const ranges = consistencyRanges(first, second);
  const keys = nodesFor(ranges);
  const leaves = keys.filter((k) => k.level === 0).map((k) => k.idx);
  const inner = keys.filter((k) => k.level > 0);
  const rows = (await m.query(
    `SELECT 0 AS level, leaf_index AS idx, leaf_hash AS hash FROM leaves WHERE leaf_index = ANY($1::bigint[])
     UNION ALL
     SELECT n.level, n.idx, n.hash FROM nodes n
       JOIN unnest($2::smallint[], $3::bigint[]) AS w(level, idx) ON n.level = w.level AND n.idx = w.idx`,
    [leaves, inner.map((k) => k.level), inner.map((k) => k.idx)],
  )) as { level: number; idx: string; hash: Buffer }[];
  const nodes = new Map(rows.map((r) => [`${r.level}:${Number(r.idx)}`, r.hash]));
  const get = (k: NodeKey): Hash => {
    const h = nodes.get(nodeKeyString(k));
    if (!h) throw new Error(`audit log node ${nodeKeyString(k)} is missing`);
    return h;
  };
  return ranges.map((r) => rangeHash(r, get).toString('hex'));
}

/** The message a witness needs: the checkpoint, the raw signing key, and the proof from the previous one. */
export async function buildWitnessMessage(
  m: EntityManager,
  checkpoint: SignedCheckpointMessage['checkpoint'],
  publicKey: string,
  previous: { treeSize: number; rootHash: string } | null,
): Promise<SignedCheckpointMessage> {
  if (!previous) return { checkpoint, publicKey, consistency: [] };
  return { checkpoint, publicKey, previous, consistency: await consistencyProofIn(m, previous.treeSize, checkpoint.treeSize) };
}
