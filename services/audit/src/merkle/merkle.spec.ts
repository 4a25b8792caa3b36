import { createHash, randomBytes } from 'node:crypto';
import {
  appendLeaves,
  consistencyProof,
  EMPTY_ROOT,
  frontierRoot,
  Hash,
  inclusionProof,
  leafHash,
  memoryNodes,
  nodeHash,
  nodesFor,
  inclusionRanges,
  consistencyRanges,
  perfectCover,
  rootOf,
  verifyConsistency,
  verifyInclusion,
} from './merkle';

const hex = (b: Buffer) => b.toString('hex');
const unhex = (s: string) => Buffer.from(s, 'hex');

// Test vector of the RFC 6962 reference implementations (Certificate Transparency; transparency-dev/merkle
// testonly/constants.go, also google/certificate-transparency's merkle_tree_test): eight leaves and the
// tree head for each size 1..8. Found with find_string on the 8-leaf root.
const LEAVES = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
].map(unhex);
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
// Same source: inclusion proofs for leaves 0 and 5 in the 8-tree, consistency proof 2 → 8.
const INCLUSION_0_8 = [
  '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
  '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
  '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
];
const INCLUSION_5_8 = [
  'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
  'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
];
const CONSISTENCY_2_8 = [
  '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
  '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
];

const H = LEAVES.map((l) => leafHash(l));

/** Naive RFC 6962 recursion written independently of merkle.ts (straight from the text, on raw data). */
function naiveMth(d: Buffer[]): Buffer {
  const sha = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
  if (d.length === 0) return sha();
  if (d.length === 1) return sha(Buffer.from([0]), d[0]);
  let k = 1;
  while (k << 1 < d.length) k <<= 1;
  return sha(Buffer.from([1]), naiveMth(d.slice(0, k)), naiveMth(d.slice(k)));
}

describe('RFC 6962 Merkle tree', () => {
  it('the empty tree hash is SHA-256 of nothing', () => {
    expect(hex(EMPTY_ROOT)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(hex(rootOf([]))).toBe(hex(EMPTY_ROOT));
  });

  it('matches the reference tree heads for sizes 1..8', () => {
    for (let n = 1; n <= 8; n++) expect(hex(rootOf(H.slice(0, n)))).toBe(ROOTS[n - 1]);
  });

  it('matches the reference proofs', () => {
    const get = memoryNodes(H);
    expect(inclusionProof(0, 8, get).map(hex)).toEqual(INCLUSION_0_8);
    expect(inclusionProof(5, 8, get).map(hex)).toEqual(INCLUSION_5_8);
    expect(consistencyProof(2, 8, get).map(hex)).toEqual(CONSISTENCY_2_8);
  });

  it('inclusion proofs verify for every leaf of every size up to 8, and fail when altered', () => {
    for (let n = 1; n <= 8; n++) {
      const get = memoryNodes(H.slice(0, n));
      const root = unhex(ROOTS[n - 1]);
      for (let m = 0; m < n; m++) {
        const path = inclusionProof(m, n, get);
        expect(verifyInclusion(m, n, H[m], path, root)).toBe(true);
        expect(verifyInclusion(m, n, H[(m + 1) % 8], path, root)).toBe(false);
        if (path.length > 0) {
          const bad = path.map((p, i) => (i === path.length - 1 ? nodeHash(p, p) : p));
          expect(verifyInclusion(m, n, H[m], bad, root)).toBe(false);
        }
        if (m + 1 < n) expect(verifyInclusion(m + 1, n, H[m], path, root)).toBe(false);
        expect(verifyInclusion(n, n, H[m], path, root)).toBe(false);
      }
    }
  });

  it('consistency proofs verify for every pair of sizes up to 8, and fail against a wrong root', () => {
    const get = memoryNodes(H);
    for (let n = 1; n <= 8; n++) {
      for (let m = 1; m <= n; m++) {
        const proof = consistencyProof(m, n, get);
        const r1 = unhex(ROOTS[m - 1]);
        const r2 = unhex(ROOTS[n - 1]);
        expect(verifyConsistency(m, n, r1, r2, proof)).toBe(true);
        if (m < n) {
          expect(verifyConsistency(m, n, r2, r2, proof)).toBe(false);
          expect(verifyConsistency(m, n, r1, r1, proof)).toBe(false);
        }
      }
    }
  });

  it('random larger trees agree with a naive recomputation (roots, proofs, incremental append)', () => {
    for (const n of [9, 17, 31, 64, 100, 257, 1000]) {
      const data = Array.from({ length: n }, () => randomBytes(1 + Math.floor(Math.random() * 40)));
      const leaves = data.map((d) => leafHash(d));
      const get = memoryNodes(leaves);
      // Incremental append in random batches, nodes kept like the database does.
      const stored = new Map<string, Hash>(leaves.map((l, i) => [`0:${i}`, l]));
      let state = { frontier: [] as { key: { level: number; idx: number }; hash: Hash }[], size: 0 };
      while (state.size < n) {
        const take = Math.min(n - state.size, 1 + Math.floor(Math.random() * 37));
        const r = appendLeaves(state.size, state.frontier, leaves.slice(state.size, state.size + take));
        for (const node of r.nodes) stored.set(`${node.level}:${node.idx}`, node.hash);
        state = r;
        expect(hex(frontierRoot(state.frontier))).toBe(hex(naiveMth(data.slice(0, state.size))));
      }
      const fromStore = (k: { level: number; idx: number }) => {
        const h = stored.get(`${k.level}:${k.idx}`);
        if (!h) throw new Error(`missing node ${k.level}:${k.idx}`);
        return h;
      };
      for (let t = 0; t < 20; t++) {
        const size = 1 + Math.floor(Math.random() * n);
        const root = naiveMth(data.slice(0, size));
        const m = Math.floor(Math.random() * size);
        const path = inclusionProof(m, size, fromStore);
        expect(path.map(hex)).toEqual(inclusionProof(m, size, get).map(hex));
        expect(verifyInclusion(m, size, leaves[m], path, root)).toBe(true);
        const first = 1 + Math.floor(Math.random() * size);
        const proof = consistencyProof(first, size, fromStore);
        expect(verifyConsistency(first, size, naiveMth(data.slice(0, first)), root, proof)).toBe(true);
        // Reads stay logarithmic.
        expect(nodesFor(inclusionRanges(m, size)).length).toBeLessThanOrEqual(
          2 * Math.ceil(Math.log2(size + 1)) + 1,
        );
        expect(nodesFor(consistencyRanges(first, size)).length).toBeLessThanOrEqual(
          3 * Math.ceil(Math.log2(size + 1)) + 2,
        );
      }
    }
  });

  it('perfect cover of a prefix is one node per set bit', () => {
    expect(perfectCover({ start: 0, end: 13 })).toEqual([
      { level: 3, idx: 0 },
      { level: 2, idx: 2 },
      { level: 0, idx: 12 },
    ]);
  });
});
