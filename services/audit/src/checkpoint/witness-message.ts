import type { SignedCheckpointMessage } from '@lienthong/contracts';
import { createHash } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { readNodeHashes } from '../log/log.repository';
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
  // Through the log's node reader: levels below STORED_LEVEL are hashed from leaves, not stored.
  const nodes = await readNodeHashes((q) => m.query(q.text, q.values), nodesFor(ranges));
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
