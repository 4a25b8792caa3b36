import { verifyCheckpointSignature } from '../checkpoint/signing';
import { leafBytes } from '../log/leaf-bytes';
import {
  appendLeaves,
  consistencyProof,
  frontierRoot,
  Hash,
  leafHash,
  NodeKey,
  verifyConsistency,
} from '../merkle/merkle';

/** One line of `GET /api/v1/audit/export`. */
export interface ExportLine {
  leafIndex: number;
  leafHash: string;
  event: unknown;
}

export interface CheckpointInput {
  origin: string;
  treeSize: number;
  rootHash: string;
  timestamp?: string;
  keyId: string;
  signature: string;
}

export interface KeyInput {
  keyId: string;
  publicKey: string;
}

export interface VerifyReport {
  ok: boolean;
  entries: number;
  checkpoints: number;
  /** The first leaf found missing or not matching, if any. */
  firstBadLeaf: number | null;
  problems: string[];
}

export interface VerifyOptions {
  /** Called every `progressEvery` entries. */
  onProgress?: (entries: number) => void;
  progressEvery?: number;
  /** Stop collecting after this many problems (the first ones are what matter). */
  maxProblems?: number;
}

/**
 * Offline verification of an audit log: recomputes every leaf hash from the canonicalized event, rebuilds
 * the RFC 6962 tree, compares each checkpoint's root at its size, checks every checkpoint signature and the
 * consistency of consecutive checkpoints (proofs computed from the rebuilt tree). Streams: memory is the
 * perfect-node hashes (≈ 2 × 32 bytes per entry), never the events.
 */
export async function verifyLog(
  lines: AsyncIterable<ExportLine>,
  checkpointList: CheckpointInput[],
  keyList: KeyInput[],
  opts: VerifyOptions = {},
): Promise<VerifyReport> {
  const problems: string[] = [];
  const maxProblems = opts.maxProblems ?? 100;
  const report = (p: string) => {
    if (problems.length < maxProblems) problems.push(p);
  };
  let firstBadLeaf: number | null = null;
  const bad = (i: number) => {
    if (firstBadLeaf === null) firstBadLeaf = i;
  };
  const keys = new Map(keyList.map((k) => [k.keyId, k.publicKey]));
  const checkpoints = [...checkpointList].sort((a, b) => a.treeSize - b.treeSize);

  // Signatures first: they do not depend on the events.
  for (const c of checkpoints) {
    const pem = keys.get(c.keyId);
    if (!pem) report(`checkpoint at size ${c.treeSize}: unknown signing key ${c.keyId}`);
    else if (!verifyCheckpointSignature(pem, c))
      report(`checkpoint at size ${c.treeSize}: signature does not verify (key ${c.keyId})`);
  }

  // Perfect-node hashes by level, kept to answer consistency proofs between checkpoints.
  const levels: Hash[][] = [[]];
  const get = (k: NodeKey): Hash => levels[k.level][k.idx];
  let frontier: { key: NodeKey; hash: Hash }[] = [];
  let size = 0;
  const roots = new Map<number, Hash>();
  const wanted = new Set(checkpoints.map((c) => c.treeSize));
  if (wanted.has(0)) roots.set(0, frontierRoot([]));
  const every = opts.progressEvery ?? 100_000;

  for await (const line of lines) {
    if (line.leafIndex < size) {
      report(`leaf ${line.leafIndex}: exported twice or out of order`);
      bad(line.leafIndex);
      continue;
    }
    if (line.leafIndex > size) {
      report(
        `leaf ${size}${line.leafIndex - 1 > size ? `..${line.leafIndex - 1}` : ''}: missing from the log`,
      );
      bad(size);
    }
    let h: Hash;
    try {
      h = leafHash(leafBytes(line.event));
    } catch {
      report(`leaf ${line.leafIndex}: event cannot be canonicalized`);
      bad(line.leafIndex);
      h = Buffer.alloc(32);
    }
    if (h.toString('hex') !== String(line.leafHash).toLowerCase()) {
      report(
        `leaf ${line.leafIndex}: event does not match its leaf hash (stored ${line.leafHash}, recomputed ${h.toString('hex')})`,
      );
      bad(line.leafIndex);
    }
    // The rebuilt tree uses what the event hashes to now, so altered events also break checkpoint roots.
    levels[0].push(h);
    const next = appendLeaves(size, frontier, [h]);
    for (const n of next.nodes) (levels[n.level] ??= [])[n.idx] = n.hash;
    frontier = next.frontier;
    size = next.size;
    if (wanted.has(size)) roots.set(size, frontierRoot(frontier));
    if (opts.onProgress && size % every === 0) opts.onProgress(size);
  }

  let previous: CheckpointInput | null = null;
  for (const c of checkpoints) {
    const root = roots.get(c.treeSize);
    if (!root) report(`checkpoint at size ${c.treeSize}: the log has only ${size} entries`);
    else if (root.toString('hex') !== c.rootHash.toLowerCase()) {
      report(
        `checkpoint at size ${c.treeSize}: root ${c.rootHash} differs from the recomputed ${root.toString('hex')}`,
      );
    }
    if (previous && previous.treeSize > 0 && c.treeSize <= size) {
      const proof = consistencyProof(previous.treeSize, c.treeSize, get);
      const ok = verifyConsistency(
        previous.treeSize,
        c.treeSize,
        Buffer.from(previous.rootHash, 'hex'),
        Buffer.from(c.rootHash, 'hex'),
        proof,
      );
      if (!ok) report(`checkpoints at sizes ${previous.treeSize} and ${c.treeSize} are not consistent`);
    }
    previous = c;
  }
  return {
    ok: problems.length === 0,
    entries: size,
    checkpoints: checkpoints.length,
    firstBadLeaf,
    problems,
  };
}
