/**
 * Checks an audit event's inclusion proof in the browser (API.md, Audit): nothing from the server is
 * trusted but the checkpoint signing keys. Pure WebCrypto (SHA-256, Ed25519) and RFC 6962 / RFC 9162
 * hashing, written for the console independently of the audit service's code; every step is reported.
 */

export interface Checkpoint {
  origin: string;
  treeSize: number;
  rootHash: string;
  timestamp?: string;
  keyId: string;
  signature: string;
}

export interface InclusionProof {
  leafIndex: number;
  treeSize: number;
  leafHash: string | null;
  auditPath: string[];
}

export interface Step {
  /** Stable identifier of the step (for tests and the page). */
  id: 'leaf' | 'path' | 'root' | 'signature';
  ok: boolean;
  detail: string;
  /** The hashes combined on the way up, for the path step. */
  hashes?: { side: 'left' | 'right'; sibling: string; result: string }[];
}

export interface Verdict {
  ok: boolean;
  steps: Step[];
}

const subtle = () => globalThis.crypto.subtle;
/** WebCrypto's byte input type, named the same way in the browser's and Node's typings. */
type Bytes = Parameters<typeof globalThis.crypto.subtle.digest>[1];

export function toHex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

export function fromHex(h: string): Uint8Array {
  if (!/^([0-9a-f]{2})*$/i.test(h)) throw new Error(`not a hex string: ${h.slice(0, 16)}…`);
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function base64ToBytes(b64: string): Uint8Array {
  const bin = atob(b64.replace(/\s+/g, ''));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function bytesToBase64(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s);
}

/**
 * RFC 8785 (JSON Canonicalization Scheme): object members sorted by their UTF-16 code units, no
 * whitespace; strings and numbers serialized as ECMAScript's JSON.stringify does, which JCS adopts.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error('JCS: non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value))
    return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  throw new Error(`JCS: cannot serialize ${typeof value}`);
}

async function sha256(...parts: Uint8Array[]): Promise<Uint8Array> {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const buf = new Uint8Array(len);
  let o = 0;
  for (const p of parts) {
    buf.set(p, o);
    o += p.length;
  }
  return new Uint8Array(await subtle().digest('SHA-256', buf as Bytes));
}

/** RFC 6962 §2.1: leafHash = SHA-256(0x00 ‖ canonical JSON of the stored event). */
export async function leafHashOfEvent(event: unknown): Promise<Uint8Array> {
  return sha256(new Uint8Array([0]), new TextEncoder().encode(canonicalJson(event)));
}

const nodeHash = (l: Uint8Array, r: Uint8Array) => sha256(new Uint8Array([1]), l, r);

/** RFC 9162 §2.1.3.2: the root implied by a leaf hash and its audit path, with each combination. */
export async function rootFromInclusionProof(
  leafIndex: number,
  treeSize: number,
  leafHash: Uint8Array,
  path: Uint8Array[],
): Promise<{ root: Uint8Array; hashes: NonNullable<Step['hashes']> }> {
  if (!(leafIndex >= 0 && leafIndex < treeSize)) throw new Error('leafIndex is outside the tree');
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r = leafHash;
  const hashes: NonNullable<Step['hashes']> = [];
  for (const p of path) {
    if (sn === 0) throw new Error('the audit path is longer than the tree allows');
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      hashes.push({ side: 'left', sibling: toHex(p), result: toHex(r) });
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = await nodeHash(r, p);
      hashes.push({ side: 'right', sibling: toHex(p), result: toHex(r) });
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn !== 0) throw new Error('the audit path is shorter than the tree needs');
  return { root: r, hashes };
}

/** The signed text of a checkpoint: "<origin>\n<treeSize>\n<base64 of root hash bytes>\n". */
export function checkpointText(cp: Checkpoint): string {
  return `${cp.origin}\n${cp.treeSize}\n${bytesToBase64(fromHex(cp.rootHash))}\n`;
}

function pemToDer(pem: string): Uint8Array {
  const body = pem.replace(/-----(BEGIN|END) [A-Z ]+-----/g, '').replace(/\s+/g, '');
  return base64ToBytes(body);
}

export async function verifyCheckpointSignature(cp: Checkpoint, publicKeyPem: string): Promise<boolean> {
  const key = await subtle().importKey('spki', pemToDer(publicKeyPem) as Bytes, { name: 'Ed25519' }, false, [
    'verify',
  ]);
  return subtle().verify(
    { name: 'Ed25519' },
    key,
    base64ToBytes(cp.signature) as Bytes,
    new TextEncoder().encode(checkpointText(cp)) as Bytes,
  );
}

/**
 * The whole check: the stored event hashes to the leaf, the audit path leads from it to a root, that root is
 * the checkpoint's, and the checkpoint carries a valid Ed25519 signature by one of the given keys.
 */
export async function verifyInclusion(input: {
  event: unknown;
  leafIndex: number;
  proof: InclusionProof;
  checkpoint: Checkpoint;
  keys: { keyId: string; publicKey: string }[];
}): Promise<Verdict> {
  const steps: Step[] = [];
  const { event, proof, checkpoint } = input;
  const leaf = await leafHashOfEvent(event);
  const leafOk =
    proof.leafIndex === input.leafIndex && (proof.leafHash === null || proof.leafHash === toHex(leaf));
  steps.push({
    id: 'leaf',
    ok: leafOk,
    detail: `SHA-256(0x00 ‖ JCS(event)) = ${toHex(leaf)}${proof.leafHash && proof.leafHash !== toHex(leaf) ? ` ≠ ${proof.leafHash}` : ''}`,
  });
  let root: Uint8Array | undefined;
  try {
    const r = await rootFromInclusionProof(
      input.leafIndex,
      checkpoint.treeSize,
      leaf,
      proof.auditPath.map(fromHex),
    );
    root = r.root;
    steps.push({
      id: 'path',
      ok: proof.treeSize === checkpoint.treeSize,
      detail: `${proof.auditPath.length} node(s), tree size ${proof.treeSize}`,
      hashes: r.hashes,
    });
  } catch (e) {
    steps.push({ id: 'path', ok: false, detail: (e as Error).message });
  }
  const rootOk = !!root && toHex(root) === checkpoint.rootHash.toLowerCase();
  steps.push({
    id: 'root',
    ok: rootOk,
    detail: `${root ? toHex(root) : '—'} ${rootOk ? '=' : '≠'} ${checkpoint.rootHash}`,
  });
  const key = input.keys.find((k) => k.keyId === checkpoint.keyId);
  let sigOk = false;
  let sigDetail = `key ${checkpoint.keyId} not among the published keys`;
  if (key) {
    try {
      sigOk = await verifyCheckpointSignature(checkpoint, key.publicKey);
      sigDetail = `Ed25519 ${sigOk ? 'valid' : 'INVALID'} (key ${checkpoint.keyId})`;
    } catch (e) {
      sigDetail = `Ed25519 check failed: ${(e as Error).message}`;
    }
  }
  steps.push({ id: 'signature', ok: sigOk, detail: sigDetail });
  return { ok: steps.every((s) => s.ok), steps };
}
