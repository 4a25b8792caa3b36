import type { SignedCheckpointMessage } from '@lienthong/contracts';
import { derivedUuid } from '@lienthong/common';
import type { EntityManager } from 'typeorm';
import { readNodeHashes } from '../log/log.repository';
import {
  consistencyProof,
  consistencyRanges,
  type Hash,
  type NodeKey,
  nodeKeyString,
  nodesFor,
} from '../merkle/merkle';

/** Outbox id of the witness message for a checkpoint: redelivery and re-signing races dedupe on it. */
export const witnessMessageId = (origin: string, treeSize: number) =>
  derivedUuid(`witness.checkpoint-signed\n${origin}\n${treeSize}`);

/**
 * PROOF(first, D[0:second]) read through the caller's transaction (which holds the tree_state lock, so the
 * nodes below `second` are settled). Hex strings, as the API's consistency proof.
 */
export async function consistencyProofIn(m: EntityManager, first: number, second: number): Promise<string[]> {
  if (first <= 0 || first >= second) return [];
  // Through the log's node reader: levels below STORED_LEVEL are hashed from leaves, not stored.
  const nodes = await readNodeHashes(
    (q) => m.query(q.text, q.values),
    nodesFor(consistencyRanges(first, second)),
  );
  const get = (k: NodeKey): Hash => {
    const h = nodes.get(nodeKeyString(k));
    if (!h) throw new Error(`audit log node ${nodeKeyString(k)} is missing`);
    return h;
  };
  return consistencyProof(first, second, get).map((h) => h.toString('hex'));
}

/** The message a witness needs: the checkpoint, the raw signing key, and the proof from the previous one. */
export async function buildWitnessMessage(
  m: EntityManager,
  checkpoint: SignedCheckpointMessage['checkpoint'],
  publicKey: string,
  previous: { treeSize: number; rootHash: string } | null,
): Promise<SignedCheckpointMessage> {
  if (!previous) return { checkpoint, publicKey, consistency: [] };
  return {
    checkpoint,
    publicKey,
    previous,
    consistency: await consistencyProofIn(m, previous.treeSize, checkpoint.treeSize),
  };
}
