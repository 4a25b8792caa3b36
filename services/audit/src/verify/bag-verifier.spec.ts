import { createHash, createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { keyIdOf, publicPem, signCheckpoint } from '../checkpoint/signing';
import { leafBytes } from '../log/leaf-bytes';
import { inclusionProof, leafHash, memoryNodes, rootOf } from '../merkle/merkle';
import { BagFile, parseManifest, verifyBag, verifyBagFiles } from './bag-verifier';

const { privateKey } = generateKeyPairSync('ed25519');
const pub = createPublicKey(privateKey);
const keyId = keyIdOf(pub);

const events = Array.from({ length: 21 }, (_, i) => ({
  id: randomUUID(),
  action: i % 2 ? 'document.status.changed' : 'document.received',
  resource: { type: 'document', id: `doc-${i % 3}` },
  details: { status: 'accepted', note: 'văn bản đến' },
}));
const hashes = events.map((e) => leafHash(leafBytes(e)));
const size = 19; // the checkpoint covers the first 19 events
const root = rootOf(hashes.slice(0, size));
const get = memoryNodes(hashes.slice(0, size));
const checkpoint = {
  origin: 'lienthong/test',
  treeSize: size,
  rootHash: root.toString('hex'),
  timestamp: new Date().toISOString(),
  keyId,
  signature: signCheckpoint(privateKey, 'lienthong/test', size, root),
};

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const json = (v: unknown) => Buffer.from(`${JSON.stringify(v, null, 2)}\n`);

/** A well-formed bag as the documents service writes it: three documents, their proofs, a PDF each. */
function bag(): Map<string, Buffer> {
  const payload = new Map<string, Buffer>();
  payload.set('data/audit/checkpoint.json', json(checkpoint));
  payload.set('data/audit/keys.json', json({ keys: [{ keyId, publicKey: publicPem(pub) }] }));
  for (let d = 0; d < 3; d++) {
    const dir = `data/documents/00000${d + 1}`;
    const proven = events
      .map((event, leafIndex) => ({ event, leafIndex }))
      .filter(({ event, leafIndex }) => event.resource.id === `doc-${d}` && leafIndex < size)
      .map(({ event, leafIndex }) => ({
        leafIndex,
        leafHash: hashes[leafIndex].toString('hex'),
        event,
        auditPath: inclusionProof(leafIndex, size, get).map((h) => h.toString('hex')),
      }));
    payload.set(
      `${dir}/audit-proofs.json`,
      json({ treeSize: size, rootHash: checkpoint.rootHash, events: proven }),
    );
    payload.set(`${dir}/files/1-quyết định.pdf`, Buffer.from(`%PDF-1.7 document ${d}`));
  }
  return withTags(payload);
}

function withTags(payload: Map<string, Buffer>, oxum?: string): Map<string, Buffer> {
  const files = new Map(payload);
  const octets = [...payload.values()].reduce((n, b) => n + b.length, 0);
  const manifest = [...payload].map(([name, b]) => `${sha(b)}  ${name}\n`).join('');
  const tags: [string, Buffer][] = [
    ['bagit.txt', Buffer.from('BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n')],
    ['bag-info.txt', Buffer.from(`Payload-Oxum: ${oxum ?? `${octets}.${payload.size}`}\n`)],
    ['manifest-sha256.txt', Buffer.from(manifest)],
  ];
  for (const [n, b] of tags) files.set(n, b);
  files.set('tagmanifest-sha256.txt', Buffer.from(tags.map(([n, b]) => `${sha(b)}  ${n}\n`).join('')));
  return files;
}

const asFiles = (m: Map<string, Buffer>) =>
  new Map<string, BagFile>([...m].map(([n, b]) => [n, { sha256: sha(b), size: b.length, bytes: b }]));

/** Rewrites one JSON file and re-seals the manifests, as a forger who controls the whole bag would. */
function resealed(m: Map<string, Buffer>, name: string, edit: (v: any) => void): Map<string, Buffer> {
  const payload = new Map([...m].filter(([n]) => n.startsWith('data/')));
  const v = JSON.parse(payload.get(name)!.toString('utf8'));
  edit(v);
  payload.set(name, json(v));
  return withTags(payload);
}

describe('verifyBag', () => {
  it('accepts a well-formed bag and counts what it checked', () => {
    const r = verifyBagFiles(asFiles(bag()), { trustedKeys: [publicPem(pub)] });
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.documents).toBe(3);
    expect(r.files).toBe(2 + 3 * 2);
    expect(r.events).toBe(size);
    expect(r.checkpoint).toEqual({ origin: 'lienthong/test', treeSize: size, keyId });
  });

  it('names a payload file whose bytes changed', () => {
    const m = bag();
    m.set('data/documents/000002/files/1-quyết định.pdf', Buffer.from('%PDF-1.7 forged'));
    const r = verifyBagFiles(asFiles(m));
    expect(r.ok).toBe(false);
    expect(r.problems.join('\n')).toMatch(
      /data\/documents\/000002\/files\/1-quyết định\.pdf: SHA-256 .* altered/,
    );
  });

  it('finds a file added to the payload, one missing, and a wrong Payload-Oxum', () => {
    const m = bag();
    m.set('data/documents/000001/extra.txt', Buffer.from('x'));
    m.delete('data/documents/000003/files/1-quyết định.pdf');
    const text = verifyBagFiles(asFiles(m)).problems.join('\n');
    expect(text).toMatch(/extra\.txt: in the payload but not listed/);
    expect(text).toMatch(/000003\/files\/1-quyết định\.pdf: listed in manifest-sha256\.txt but missing/);
    expect(text).toMatch(/Payload-Oxum/);
  });

  it('finds an altered tag file', () => {
    const m = bag();
    m.set('bag-info.txt', Buffer.from('Payload-Oxum: 1.1\n'));
    expect(verifyBagFiles(asFiles(m)).problems.join('\n')).toMatch(
      /bag-info\.txt: SHA-256 differs from tagmanifest/,
    );
  });

  it('refuses a proof whose path was altered even when the manifests were re-sealed', () => {
    const m = resealed(bag(), 'data/documents/000001/audit-proofs.json', (v) => {
      v.events[1].auditPath[0] = 'ab'.repeat(32);
    });
    const r = verifyBagFiles(asFiles(m));
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([
      expect.stringMatching(
        /000001\/audit-proofs\.json: event at leaf \d+: inclusion proof does not lead to the checkpoint's root/,
      ),
    ]);
  });

  it('refuses an event whose content was changed (its leaf hash no longer matches)', () => {
    const m = resealed(bag(), 'data/documents/000002/audit-proofs.json', (v) => {
      v.events[0].event.details.status = 'rejected';
    });
    expect(verifyBagFiles(asFiles(m)).problems.join('\n')).toMatch(/does not hash to its leaf hash/);
  });

  it('refuses a checkpoint whose signature does not verify, or that no trusted key signed', () => {
    const forged = resealed(bag(), 'data/audit/checkpoint.json', (v) => {
      v.treeSize = 18;
    });
    expect(verifyBagFiles(asFiles(forged)).problems.join('\n')).toMatch(/signature does not verify/);
    const other = publicPem(createPublicKey(generateKeyPairSync('ed25519').privateKey));
    const r = verifyBagFiles(asFiles(bag()), { trustedKeys: [other] });
    expect(r.problems).toEqual([expect.stringMatching(/not signed by any of the trusted keys/)]);
  });

  it('says when the bag is not a bag', () => {
    const r = verifyBagFiles(new Map());
    expect(r.ok).toBe(false);
    expect(r.problems).toContain('bagit.txt is missing: not a BagIt bag');
  });

  it('reads an unpacked bag from a folder', async () => {
    const root = await mkdtemp(join(tmpdir(), 'bag-'));
    try {
      for (const [name, b] of bag()) {
        await mkdir(dirname(join(root, name)), { recursive: true });
        await writeFile(join(root, name), b);
      }
      const r = await verifyBag(root);
      expect(r.problems).toEqual([]);
      expect(r.events).toBe(size);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('decodes percent-encoded manifest paths (RFC 8493 §2.1.3)', () => {
    const { entries, errors } = parseManifest(`${'a'.repeat(64)}  data/a%25b%0Ac.txt\nnot a line\n`);
    expect([...entries.keys()]).toEqual(['data/a%b\nc.txt']);
    expect(errors).toEqual(['line 2 is not "<sha256> <path>"']);
  });
});
