import type { WitnessSubmittedEvent } from '@lienthong/contracts';
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { keyIdOf, rawPublicKeyBase64, signCheckpoint } from '../checkpoint/signing';
import { consistencyProof, type Hash, leafHash, memoryNodes, rootOf } from '../merkle/merkle';
import { judge, type NodeWitnessState, parseSubmission, UnusableSubmissionError } from './witness.verify';

const ORIGIN = 'lienthong/hanoi';
const kid = (k: KeyObject) => keyIdOf(createPublicKey(k));

/** A node's log in memory, signing checkpoints the way CheckpointService does. */
class NodeLog {
  leaves: Hash[] = [];
  constructor(
    public key: KeyObject = generateKeyPairSync('ed25519').privateKey,
    private readonly tag = 'a',
  ) {}
  grow(n: number): this {
    for (let i = 0; i < n; i++) this.leaves.push(leafHash(Buffer.from(`${this.tag}-${this.leaves.length}`)));
    return this;
  }
  root(size = this.leaves.length): string {
    return rootOf(this.leaves.slice(0, size)).toString('hex');
  }
  submission(
    size: number,
    previous?: number,
    over: Partial<WitnessSubmittedEvent> = {},
  ): WitnessSubmittedEvent {
    const rootHash = this.root(size);
    const checkpoint = {
      origin: ORIGIN,
      treeSize: size,
      rootHash,
      timestamp: new Date().toISOString(),
      keyId: kid(this.key),
      signature: signCheckpoint(this.key, ORIGIN, size, Buffer.from(rootHash, 'hex')),
    };
    const get = memoryNodes(this.leaves.slice(0, size));
    return {
      nodeId: 'hanoi',
      checkpoint,
      publicKey: rawPublicKeyBase64(this.key),
      ...(previous !== undefined
        ? {
            previous: { treeSize: previous, rootHash: this.root(previous) },
            consistency:
              previous > 0 && previous < size
                ? consistencyProof(previous, size, get).map((h) => h.toString('hex'))
                : [],
          }
        : { consistency: [] }),
      ...over,
    };
  }
}

/** A witness's memory of one node, updated the way WitnessService stores cosigned verdicts. */
function witnessState(): NodeWitnessState & { accept(s: WitnessSubmittedEvent): ReturnType<typeof judge> } {
  const state: NodeWitnessState = { head: null, keys: new Map() };
  return Object.assign(state, {
    accept(s: WitnessSubmittedEvent) {
      const j = judge(s, state);
      if (j.verdict === 'cosigned') {
        state.head = {
          treeSize: s.checkpoint.treeSize,
          rootHash: s.checkpoint.rootHash,
          origin: s.checkpoint.origin,
        };
        if (j.pinKey) state.keys.set(s.checkpoint.keyId, s.publicKey);
      }
      return j;
    },
  });
}

describe('witness verification', () => {
  it('cosigns a good chain and pins the first key', () => {
    const node = new NodeLog().grow(7);
    const w = witnessState();
    expect(w.accept(node.submission(7))).toMatchObject({ verdict: 'cosigned', pinKey: true });
    node.grow(13);
    expect(w.accept(node.submission(20, 7))).toMatchObject({ verdict: 'cosigned', pinKey: false });
    node.grow(12);
    expect(w.accept(node.submission(32, 20))).toMatchObject({ verdict: 'cosigned' });
    expect(w.head?.treeSize).toBe(32);
    expect([...w.keys.keys()]).toEqual([kid(node.key)]);
  });

  it('accepts a first checkpoint whose previous is the empty tree', () => {
    const node = new NodeLog().grow(3);
    expect(judge(node.submission(3, 0), { head: null, keys: new Map() }).verdict).toBe('cosigned');
  });

  it('refuses a forged signature', () => {
    const node = new NodeLog().grow(5);
    const s = node.submission(5);
    const forged = {
      ...s,
      checkpoint: {
        ...s.checkpoint,
        signature: signCheckpoint(generateKeyPairSync('ed25519').privateKey, ORIGIN, 5, Buffer.alloc(32)),
      },
    };
    expect(judge(forged, { head: null, keys: new Map() })).toMatchObject({
      verdict: 'refused',
      reason: 'BAD_SIGNATURE',
    });
    // The signature is over the exact text: another size with the same signature fails.
    const moved = { ...s, checkpoint: { ...s.checkpoint, treeSize: 6 } };
    expect(judge(moved, { head: null, keys: new Map() })).toMatchObject({
      verdict: 'refused',
      reason: 'BAD_SIGNATURE',
    });
  });

  it('refuses a key whose id is not the given key id', () => {
    const node = new NodeLog().grow(5);
    const s = node.submission(5);
    const other = rawPublicKeyBase64(generateKeyPairSync('ed25519').privateKey);
    expect(judge({ ...s, publicKey: other }, { head: null, keys: new Map() })).toMatchObject({
      reason: 'BAD_KEY',
    });
    expect(judge({ ...s, publicKey: 'bm90IGEga2V5' }, { head: null, keys: new Map() })).toMatchObject({
      reason: 'BAD_KEY',
    });
  });

  it('refuses rewritten history: another tree whose root at a witnessed size differs is INCONSISTENT', () => {
    const honest = new NodeLog().grow(10);
    const w = witnessState();
    expect(w.accept(honest.submission(10)).verdict).toBe('cosigned');
    // The province rewrites its log: same key, different entries, re-signs every head.
    const rewritten = new NodeLog(honest.key, 'b').grow(10);
    expect(w.accept(rewritten.submission(10))).toMatchObject({ verdict: 'refused', reason: 'INCONSISTENT' });
    rewritten.grow(5);
    // Claims its previous head was size 10 with its new root.
    expect(w.accept(rewritten.submission(15, 10))).toMatchObject({
      verdict: 'refused',
      reason: 'INCONSISTENT',
    });
    // Claims the witnessed root as previous but its proof comes from the rewritten tree.
    const lie = rewritten.submission(15, 10);
    lie.previous = { treeSize: 10, rootHash: honest.root(10) };
    expect(w.accept(lie)).toMatchObject({ verdict: 'refused', reason: 'INCONSISTENT' });
    // Going back in size is refused too.
    expect(w.accept(honest.submission(4))).toMatchObject({ verdict: 'refused', reason: 'INCONSISTENT' });
    // The honest continuation is still cosigned: the witnessed head did not move.
    honest.grow(5);
    expect(w.accept(honest.submission(15, 10)).verdict).toBe('cosigned');
  });

  it('refuses with GAP when previous is not the last witnessed head', () => {
    const node = new NodeLog().grow(10);
    const w = witnessState();
    expect(w.accept(node.submission(10)).verdict).toBe('cosigned');
    node.grow(10);
    // The checkpoint at 15 was never seen by the witness.
    expect(w.accept(node.submission(20, 15))).toMatchObject({ verdict: 'refused', reason: 'GAP' });
    expect(w.accept(node.submission(20))).toMatchObject({ verdict: 'refused', reason: 'GAP' });
    // Once 15 arrives, the chain resumes.
    expect(w.accept(node.submission(15, 10)).verdict).toBe('cosigned');
    expect(w.accept(node.submission(20, 15)).verdict).toBe('cosigned');
  });

  it('refuses a proof that does not verify even when previous matches', () => {
    const node = new NodeLog().grow(8);
    const w = witnessState();
    w.accept(node.submission(8));
    node.grow(4);
    const s = node.submission(12, 8);
    s.consistency = s.consistency.map(() => 'ab'.repeat(32));
    expect(w.accept(s)).toMatchObject({ verdict: 'refused', reason: 'INCONSISTENT' });
    expect(w.accept({ ...node.submission(12, 8), consistency: ['zz'] })).toMatchObject({
      reason: 'MALFORMED',
    });
  });

  describe('key rotation', () => {
    it('pins a new key when its message verifies and is consistent with the head witnessed under the old key', () => {
      const node = new NodeLog().grow(10);
      const w = witnessState();
      w.accept(node.submission(10));
      node.key = generateKeyPairSync('ed25519').privateKey;
      node.grow(5);
      expect(w.accept(node.submission(15, 10))).toMatchObject({ verdict: 'cosigned', pinKey: true });
      expect(w.keys.size).toBe(2);
    });

    it('pins nothing when a new key comes with a message that does not verify', () => {
      const node = new NodeLog().grow(10);
      const w = witnessState();
      w.accept(node.submission(10));
      // A new key signing a rewritten history: the signature holds, the consistency does not.
      const attacker = new NodeLog(generateKeyPairSync('ed25519').privateKey, 'evil').grow(15);
      expect(w.accept(attacker.submission(15, 10))).toMatchObject({
        verdict: 'refused',
        reason: 'INCONSISTENT',
        pinKey: false,
      });
      // A new key with a forged signature.
      node.grow(5);
      const s = node.submission(15, 10);
      const stranger = generateKeyPairSync('ed25519').privateKey;
      const forged = {
        ...s,
        publicKey: rawPublicKeyBase64(stranger),
        checkpoint: { ...s.checkpoint, keyId: kid(stranger) },
      };
      expect(w.accept(forged)).toMatchObject({ verdict: 'refused', reason: 'BAD_SIGNATURE', pinKey: false });
      expect(w.keys.size).toBe(1);
    });

    it('refuses a pinned key id that comes with another public key', () => {
      const node = new NodeLog().grow(3);
      const s = node.submission(3);
      const state: NodeWitnessState = {
        head: null,
        keys: new Map([[s.checkpoint.keyId, rawPublicKeyBase64(generateKeyPairSync('ed25519').privateKey)]]),
      };
      expect(judge(s, state)).toMatchObject({ verdict: 'refused', reason: 'KEY_MISMATCH' });
    });
  });

  it('refuses an origin change for a known node', () => {
    const node = new NodeLog().grow(3);
    const w = witnessState();
    w.accept(node.submission(3));
    node.grow(2);
    const s = node.submission(5, 3);
    const moved = {
      ...s,
      checkpoint: {
        ...s.checkpoint,
        origin: 'lienthong/other',
        signature: signCheckpoint(node.key, 'lienthong/other', 5, Buffer.from(s.checkpoint.rootHash, 'hex')),
      },
    };
    expect(w.accept(moved)).toMatchObject({ verdict: 'refused', reason: 'ORIGIN_CHANGED' });
  });

  it('parseSubmission rejects what cannot be stored', () => {
    const good = new NodeLog().grow(2).submission(2);
    expect(parseSubmission(good)).toBe(good);
    expect(() => parseSubmission({ ...good, nodeId: 'Bad Node' })).toThrow(UnusableSubmissionError);
    expect(() => parseSubmission({ ...good, checkpoint: { ...good.checkpoint, rootHash: 'xyz' } })).toThrow(
      /checkpoint.rootHash/,
    );
    expect(() => parseSubmission(null)).toThrow(UnusableSubmissionError);
  });
});
