import type { WitnessSubmittedEvent } from '@lienthong/contracts';
import { keyIdOf, publicKeyFromRawBase64, verifyCheckpointWith } from '../checkpoint/signing';
import { verifyConsistency } from '../merkle/merkle';

/** Why a witness refused a checkpoint (stored, audited and sent back with the verdict). */
export type RefusalReason =
  /** A proof hash or the `previous` head is not well formed. */
  | 'MALFORMED'
  /** `publicKey` is not a raw Ed25519 key, or `keyId` is not that key's id. */
  | 'BAD_KEY'
  /** The key id is pinned for the node with another public key. */
  | 'KEY_MISMATCH'
  /** The Ed25519 signature does not verify over the checkpoint text. */
  | 'BAD_SIGNATURE'
  /** The origin line differs from the one witnessed for the node so far. */
  | 'ORIGIN_CHANGED'
  /** `previous` is not the last head witnessed for the node: a checkpoint in between was not seen. */
  | 'GAP'
  /** History was rewritten: size went back, another root at a witnessed size, or the proof fails. */
  | 'INCONSISTENT';

/** What the witness knows about a node: the last head it cosigned and the keys pinned for it. */
export interface NodeWitnessState {
  head: { treeSize: number; rootHash: string; origin: string } | null;
  /** keyId → raw Ed25519 public key (base64). */
  keys: Map<string, string>;
}

export interface Judgement {
  verdict: 'cosigned' | 'refused';
  reason?: RefusalReason;
  detail: string;
  /** The key must be pinned for the node (first key, or a rotation that came in a fully verified message). */
  pinKey: boolean;
}

/** A submission that cannot even be recorded (no node, size or root to store it under). */
export class UnusableSubmissionError extends Error {}

const HEX32 = /^[0-9a-f]{64}$/;
const isSize = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
const isText = (s: unknown, max: number): s is string =>
  typeof s === 'string' && s.length > 0 && s.length <= max && !/[\r\n]/.test(s);

/** Checks what a witnessed_checkpoints row needs; anything else wrong becomes a refusal in judge(). */
export function parseSubmission(data: unknown): WitnessSubmittedEvent {
  const d = data as Partial<WitnessSubmittedEvent> | null;
  const c = d?.checkpoint;
  const problems: string[] = [];
  if (!d || typeof d !== 'object') throw new UnusableSubmissionError('not an object');
  if (typeof d.nodeId !== 'string' || !/^[a-z0-9][a-z0-9-]{0,31}$/.test(d.nodeId)) problems.push('nodeId');
  if (!c || typeof c !== 'object') problems.push('checkpoint');
  else {
    if (!isText(c.origin, 200)) problems.push('checkpoint.origin');
    if (!isSize(c.treeSize)) problems.push('checkpoint.treeSize');
    if (typeof c.rootHash !== 'string' || !HEX32.test(c.rootHash)) problems.push('checkpoint.rootHash');
    if (!isText(c.keyId, 16)) problems.push('checkpoint.keyId');
    if (!isText(c.signature, 200)) problems.push('checkpoint.signature');
    if (!isText(c.timestamp, 64)) problems.push('checkpoint.timestamp');
  }
  if (!isText(d.publicKey, 100)) problems.push('publicKey');
  if (problems.length > 0)
    throw new UnusableSubmissionError(`invalid witness submission: ${problems.join(', ')}`);
  return d as WitnessSubmittedEvent;
}

const refuse = (reason: RefusalReason, detail: string): Judgement => ({
  verdict: 'refused',
  reason,
  detail,
  pinKey: false,
});

/**
 * The witness rule (pure). Signature with the submitted key; key binding per node (the first key is pinned
 * on first use; a key id new for a known node is pinned only if the whole message verifies, including
 * consistency with the head witnessed under the earlier keys); then consistency with the last head this
 * witness cosigned for the node: `previous` must be that head (else GAP), sizes never go back and a size
 * never gets another root (else INCONSISTENT), and the RFC 6962 proof from it must verify.
 */
export function judge(sub: WitnessSubmittedEvent, state: NodeWitnessState): Judgement {
  const c = sub.checkpoint;
  const prev = sub.previous;
  if (
    !Array.isArray(sub.consistency) ||
    !sub.consistency.every((h) => typeof h === 'string' && HEX32.test(h))
  ) {
    return refuse('MALFORMED', 'consistency must be an array of lowercase hex SHA-256 hashes');
  }
  if (
    prev !== undefined &&
    (prev === null ||
      !isSize(prev.treeSize) ||
      typeof prev.rootHash !== 'string' ||
      !HEX32.test(prev.rootHash))
  ) {
    return refuse('MALFORMED', 'previous must be {treeSize, rootHash}');
  }
  if (prev && prev.treeSize > c.treeSize)
    return refuse('MALFORMED', `previous size ${prev.treeSize} is above ${c.treeSize}`);

  let keyId: string;
  let key;
  try {
    key = publicKeyFromRawBase64(sub.publicKey);
    keyId = keyIdOf(key);
  } catch {
    return refuse('BAD_KEY', 'publicKey is not a raw Ed25519 public key (base64)');
  }
  if (keyId !== c.keyId)
    return refuse('BAD_KEY', `keyId ${c.keyId} is not the id of the given key (${keyId})`);
  const pinned = state.keys.get(keyId);
  if (pinned !== undefined && pinned !== sub.publicKey)
    return refuse('KEY_MISMATCH', `key ${keyId} is pinned with another public key`);
  if (!verifyCheckpointWith(key, c, c.signature))
    return refuse('BAD_SIGNATURE', `signature does not verify with key ${keyId}`);

  const root = Buffer.from(c.rootHash, 'hex');
  const proof = sub.consistency.map((h) => Buffer.from(h, 'hex'));
  const head = state.head;
  if (!head) {
    // Nothing witnessed yet: accept the head as it is, but a proof that is sent must hold.
    if (
      prev &&
      !verifyConsistency(prev.treeSize, c.treeSize, Buffer.from(prev.rootHash, 'hex'), root, proof)
    ) {
      return refuse(
        'INCONSISTENT',
        `consistency proof from ${prev.treeSize} to ${c.treeSize} does not verify`,
      );
    }
    return { verdict: 'cosigned', detail: 'first checkpoint witnessed for this node', pinKey: true };
  }
  if (c.origin !== head.origin)
    return refuse('ORIGIN_CHANGED', `origin "${c.origin}" differs from the witnessed "${head.origin}"`);
  if (c.treeSize < head.treeSize)
    return refuse('INCONSISTENT', `tree size went back from ${head.treeSize} to ${c.treeSize}`);
  if (c.treeSize === head.treeSize) {
    if (c.rootHash !== head.rootHash)
      return refuse('INCONSISTENT', `another root at the witnessed size ${head.treeSize}`);
    return { verdict: 'cosigned', detail: 'same head as last witnessed', pinKey: !state.keys.has(keyId) };
  }
  if (!prev) return refuse('GAP', `no previous checkpoint given; last witnessed size is ${head.treeSize}`);
  if (prev.treeSize === head.treeSize && prev.rootHash !== head.rootHash) {
    return refuse('INCONSISTENT', `previous root at size ${prev.treeSize} differs from the witnessed one`);
  }
  if (prev.treeSize !== head.treeSize)
    return refuse('GAP', `previous size ${prev.treeSize}, last witnessed size ${head.treeSize}`);
  if (!verifyConsistency(head.treeSize, c.treeSize, Buffer.from(head.rootHash, 'hex'), root, proof)) {
    return refuse('INCONSISTENT', `consistency proof from ${head.treeSize} to ${c.treeSize} does not verify`);
  }
  const rotated = !state.keys.has(keyId);
  return {
    verdict: 'cosigned',
    detail: rotated ? `new key ${keyId} accepted (message verifies)` : 'consistent',
    pinKey: rotated,
  };
}
