import { createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { keyIdOf, publicPem, signCheckpoint } from '../checkpoint/signing';
import { leafBytes } from '../log/leaf-bytes';
import { leafHash, rootOf } from '../merkle/merkle';
import { CheckpointInput, ExportLine, verifyLog } from './verifier';

const { privateKey } = generateKeyPairSync('ed25519');
const pub = createPublicKey(privateKey);
const key = { keyId: keyIdOf(pub), publicKey: publicPem(pub) };

const events = Array.from({ length: 40 }, (_, i) => ({
  id: randomUUID(),
  action: 'document.read',
  n: i,
  details: { v: 'ờ' },
}));
const hashes = events.map((e) => leafHash(leafBytes(e)));
const lines = (): ExportLine[] =>
  events.map((event, leafIndex) => ({ leafIndex, leafHash: hashes[leafIndex].toString('hex'), event }));
const checkpoint = (size: number): CheckpointInput => {
  const root = rootOf(hashes.slice(0, size));
  return {
    origin: 'lienthong/test',
    treeSize: size,
    rootHash: root.toString('hex'),
    keyId: key.keyId,
    signature: signCheckpoint(privateKey, 'lienthong/test', size, root),
  };
};
const cps = [checkpoint(7), checkpoint(16), checkpoint(33), checkpoint(40)];
async function* iter(xs: ExportLine[]) {
  for (const x of xs) yield x;
}

describe('verifyLog', () => {
  it('accepts an intact log', async () => {
    const r = await verifyLog(iter(lines()), cps, [key]);
    expect(r).toEqual({ ok: true, entries: 40, checkpoints: 4, firstBadLeaf: null, problems: [] });
  });

  it('names the first altered leaf and the checkpoints it breaks', async () => {
    const xs = lines();
    xs[20] = { ...xs[20], event: { ...(xs[20].event as object), action: 'document.sent' } };
    const r = await verifyLog(iter(xs), cps, [key]);
    expect(r.ok).toBe(false);
    expect(r.firstBadLeaf).toBe(20);
    expect(r.problems.some((p) => p.startsWith('checkpoint at size 33'))).toBe(true);
    expect(r.problems.some((p) => p.startsWith('checkpoint at size 16'))).toBe(false);
  });

  it('catches an altered leaf whose stored hash was also recomputed, through the checkpoint roots', async () => {
    const xs = lines();
    const forged = { ...(xs[3].event as object), action: 'x' };
    xs[3] = { leafIndex: 3, leafHash: leafHash(leafBytes(forged)).toString('hex'), event: forged };
    const r = await verifyLog(iter(xs), cps, [key]);
    expect(r.ok).toBe(false);
    expect(r.problems.filter((p) => /root .* differs/.test(p))).toHaveLength(4);
  });

  it('reports a missing leaf', async () => {
    const xs = lines().filter((l) => l.leafIndex !== 9);
    const r = await verifyLog(iter(xs), cps, [key]);
    expect(r.firstBadLeaf).toBe(9);
    expect(r.problems[0]).toMatch(/^leaf 9: missing/);
  });

  it('reports forged signatures, unknown keys and inconsistent checkpoints', async () => {
    const forged = { ...cps[1], signature: Buffer.alloc(64).toString('base64') };
    const other = generateKeyPairSync('ed25519');
    const foreign = { ...cps[2], keyId: keyIdOf(other.publicKey) };
    const r = await verifyLog(iter(lines()), [cps[0], forged, foreign, cps[3]], [key]);
    expect(r.firstBadLeaf).toBeNull();
    expect(r.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/size 16: signature does not verify/),
        expect.stringMatching(/size 33: unknown signing key/),
      ]),
    );
    // A validly signed checkpoint of a different history is inconsistent with its neighbours.
    const root = rootOf([...hashes.slice(0, 20), ...hashes.slice(0, 13)]);
    const fork = {
      ...cps[2],
      rootHash: root.toString('hex'),
      signature: signCheckpoint(privateKey, 'lienthong/test', 33, root),
    };
    const r2 = await verifyLog(iter(lines()), [cps[0], cps[1], fork, cps[3]], [key]);
    expect(r2.problems.some((p) => /sizes 16 and 33 are not consistent/.test(p))).toBe(true);
  });
});
