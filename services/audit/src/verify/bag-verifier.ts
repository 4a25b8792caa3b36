import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { open as openZip, type Entry, type ZipFile } from 'yauzl';
import { verifyCheckpointSignature } from '../checkpoint/signing';
import { leafBytes } from '../log/leaf-bytes';
import { leafHash, verifyInclusion } from '../merkle/merkle';
import type { CheckpointInput, KeyInput } from './verifier';

/**
 * Offline verification of an archive package (documents' register archive): a BagIt bag (RFC 8493), zipped or
 * unpacked, whose payload holds each document with `audit-proofs.json`, the inclusion proofs of its audit
 * events against the signed checkpoint in `data/audit/checkpoint.json`.
 */
export interface BagReport {
  ok: boolean;
  /** Payload files whose SHA-256 was checked. */
  files: number;
  documents: number;
  /** Audit events whose inclusion proof verified. */
  events: number;
  checkpoint: { origin: string; treeSize: number; keyId: string } | null;
  problems: string[];
}

export interface BagOptions {
  /** Public keys (PEM) the archivist trusts; when given, the checkpoint must be signed by one of them. */
  trustedKeys?: string[];
  maxProblems?: number;
}

/** One file of the bag as read once: its SHA-256, size, and (for the small files checked below) its bytes. */
export interface BagFile {
  sha256: string;
  size: number;
  bytes?: Buffer;
}

/** Tag files and JSON read by the verifier; attachments are only hashed (streamed). */
const KEEP =
  /^(bagit\.txt|bag-info\.txt|manifest-sha256\.txt|tagmanifest-sha256\.txt|data\/audit\/[^/]+\.json|data\/documents\/[^/]+\/audit-proofs\.json)$/;
const KEEP_MAX = 64 * 1024 * 1024;

async function digest(stream: Readable, keep: boolean): Promise<BagFile> {
  const h = createHash('sha256');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const b = chunk as Buffer;
    h.update(b);
    size += b.length;
    if (keep && size <= KEEP_MAX) chunks.push(b);
  }
  return {
    sha256: h.digest('hex'),
    size,
    bytes: keep && size <= KEEP_MAX ? Buffer.concat(chunks) : undefined,
  };
}

async function readZip(path: string): Promise<Map<string, BagFile>> {
  const zip = await new Promise<ZipFile>((resolve, reject) =>
    openZip(path, { lazyEntries: true, autoClose: true }, (e, z) => (e ? reject(e) : resolve(z))),
  );
  const files = new Map<string, BagFile>();
  await new Promise<void>((resolve, reject) => {
    zip.on('error', reject);
    zip.on('end', () => resolve());
    zip.on('entry', (entry: Entry) => {
      if (entry.fileName.endsWith('/')) return zip.readEntry();
      zip.openReadStream(entry, (e, stream) => {
        if (e) return reject(e);
        digest(stream, KEEP.test(entry.fileName)).then((f) => {
          files.set(entry.fileName, f);
          zip.readEntry();
        }, reject);
      });
    });
    zip.readEntry();
  });
  return files;
}

async function readDirectory(root: string): Promise<Map<string, BagFile>> {
  const files = new Map<string, BagFile>();
  const walk = async (dir: string): Promise<void> => {
    for (const d of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, d.name);
      if (d.isDirectory()) await walk(full);
      else if (d.isFile()) {
        const name = relative(root, full).split(sep).join('/');
        files.set(name, await digest(createReadStream(full), KEEP.test(name)));
      }
    }
  };
  await walk(root);
  return files;
}

/** RFC 8493 §2.1.3: `<checksum> <path>` lines; CR, LF and % in paths are percent-encoded. */
export function parseManifest(text: string): { entries: Map<string, string>; errors: string[] } {
  const entries = new Map<string, string>();
  const errors: string[] = [];
  for (const [i, line] of text.split(/\r\n|\n|\r/).entries()) {
    if (line.trim() === '') continue;
    const m = /^([0-9a-fA-F]{64})[ \t]+(.+)$/.exec(line);
    if (!m) {
      errors.push(`line ${i + 1} is not "<sha256> <path>"`);
      continue;
    }
    const path = m[2].replace(/%0D/gi, '\r').replace(/%0A/gi, '\n').replace(/%25/g, '%');
    entries.set(path, m[1].toLowerCase());
  }
  return { entries, errors };
}

function parseJson<T>(f: BagFile | undefined): T | undefined {
  if (!f?.bytes) return undefined;
  try {
    return JSON.parse(f.bytes.toString('utf8')) as T;
  } catch {
    return undefined;
  }
}

interface ProofsFile {
  treeSize: number;
  events: { leafIndex: number; leafHash: string; event: unknown; auditPath: string[] }[];
}

/** Checks a bag given as a .zip file or an unpacked directory. */
export async function verifyBag(path: string, opts: BagOptions = {}): Promise<BagReport> {
  const files = (await stat(path)).isDirectory() ? await readDirectory(path) : await readZip(path);
  return verifyBagFiles(files, opts);
}

export function verifyBagFiles(files: Map<string, BagFile>, opts: BagOptions = {}): BagReport {
  const problems: string[] = [];
  const max = opts.maxProblems ?? 100;
  const report = (p: string) => {
    if (problems.length < max) problems.push(p);
  };
  const result: BagReport = { ok: false, files: 0, documents: 0, events: 0, checkpoint: null, problems };

  // 1. BagIt declaration.
  const declaration = files.get('bagit.txt')?.bytes?.toString('utf8');
  if (declaration === undefined) report('bagit.txt is missing: not a BagIt bag');
  else if (!/^BagIt-Version: 1\.\d+\r?\nTag-File-Character-Encoding: UTF-8\r?\n?$/.test(declaration))
    report('bagit.txt does not declare BagIt-Version 1.x with UTF-8 tag files');

  // 2. Payload manifest: every listed file present with its checksum, every payload file listed (RFC 8493 §3).
  const manifestFile = files.get('manifest-sha256.txt');
  if (!manifestFile?.bytes) report('manifest-sha256.txt is missing');
  const manifest = parseManifest(manifestFile?.bytes?.toString('utf8') ?? '');
  for (const e of manifest.errors) report(`manifest-sha256.txt: ${e}`);
  let octets = 0;
  for (const [name, sha] of manifest.entries) {
    if (!name.startsWith('data/')) report(`manifest-sha256.txt lists ${name}, outside the payload directory`);
    const f = files.get(name);
    if (!f) report(`${name}: listed in manifest-sha256.txt but missing from the bag`);
    else if (f.sha256 !== sha)
      report(`${name}: SHA-256 ${f.sha256} differs from manifest-sha256.txt (${sha}): the file was altered`);
    else result.files++;
  }
  for (const [name, f] of files) {
    if (!name.startsWith('data/')) continue;
    octets += f.size;
    if (!manifest.entries.has(name)) report(`${name}: in the payload but not listed in manifest-sha256.txt`);
  }

  // 3. Tag manifest over the tag files.
  const tagFile = files.get('tagmanifest-sha256.txt');
  if (!tagFile?.bytes) report('tagmanifest-sha256.txt is missing');
  else {
    const tags = parseManifest(tagFile.bytes.toString('utf8'));
    for (const e of tags.errors) report(`tagmanifest-sha256.txt: ${e}`);
    for (const required of ['bagit.txt', 'bag-info.txt', 'manifest-sha256.txt'])
      if (!tags.entries.has(required)) report(`tagmanifest-sha256.txt does not cover ${required}`);
    for (const [name, sha] of tags.entries) {
      const f = files.get(name);
      if (!f) report(`${name}: listed in tagmanifest-sha256.txt but missing from the bag`);
      else if (f.sha256 !== sha)
        report(`${name}: SHA-256 differs from tagmanifest-sha256.txt: the tag file was altered`);
    }
  }

  // 4. bag-info.txt: Payload-Oxum (octets.count) says the payload is complete.
  const info = files.get('bag-info.txt')?.bytes?.toString('utf8');
  const oxum = info ? /^Payload-Oxum:\s*(\d+)\.(\d+)\s*$/m.exec(info) : null;
  if (!info) report('bag-info.txt is missing');
  else if (oxum) {
    const count = [...files.keys()].filter((n) => n.startsWith('data/')).length;
    if (Number(oxum[1]) !== octets || Number(oxum[2]) !== count)
      report(`bag-info.txt Payload-Oxum ${oxum[1]}.${oxum[2]} differs from the payload (${octets}.${count})`);
  }

  // 5. The signed checkpoint, with the key included in the bag (and, if given, one the archivist trusts).
  const checkpoint = parseJson<CheckpointInput>(files.get('data/audit/checkpoint.json'));
  const keysJson = parseJson<{ keys?: KeyInput[] }>(files.get('data/audit/keys.json'));
  let root: Buffer | null = null;
  if (
    !checkpoint ||
    typeof checkpoint.treeSize !== 'number' ||
    !/^[0-9a-f]{64}$/i.test(checkpoint.rootHash ?? '')
  )
    report('data/audit/checkpoint.json is missing or not a checkpoint');
  else {
    result.checkpoint = { origin: checkpoint.origin, treeSize: checkpoint.treeSize, keyId: checkpoint.keyId };
    const pem = keysJson?.keys?.find((k) => k.keyId === checkpoint.keyId)?.publicKey;
    if (!pem) report(`data/audit/keys.json has no public key ${checkpoint.keyId} for the checkpoint`);
    else if (!verifyCheckpointSignature(pem, checkpoint))
      report(
        `checkpoint at size ${checkpoint.treeSize}: signature does not verify with key ${checkpoint.keyId}`,
      );
    else root = Buffer.from(checkpoint.rootHash, 'hex');
    if (opts.trustedKeys?.length && !opts.trustedKeys.some((k) => verifyCheckpointSignature(k, checkpoint)))
      report(`checkpoint at size ${checkpoint.treeSize} is not signed by any of the trusted keys given`);
  }

  // 6. Every document's audit events: leaf hash recomputed from the event, inclusion proved against the checkpoint.
  const documents = new Set<string>();
  for (const name of files.keys()) {
    const m = /^data\/documents\/([^/]+)\//.exec(name);
    if (m) documents.add(m[1]);
  }
  result.documents = documents.size;
  for (const doc of [...documents].sort()) {
    const name = `data/documents/${doc}/audit-proofs.json`;
    const proofs = parseJson<ProofsFile>(files.get(name));
    if (!proofs || !Array.isArray(proofs.events)) {
      report(`${name} is missing or unreadable`);
      continue;
    }
    if (checkpoint && proofs.treeSize !== checkpoint.treeSize)
      report(
        `${name}: proofs are for tree size ${proofs.treeSize}, the checkpoint has ${checkpoint.treeSize}`,
      );
    for (const p of proofs.events) {
      const where = `${name}: event at leaf ${p.leafIndex}`;
      let h: Buffer;
      try {
        h = leafHash(leafBytes(p.event));
      } catch {
        report(`${where} cannot be canonicalized`);
        continue;
      }
      if (h.toString('hex') !== String(p.leafHash).toLowerCase()) {
        report(`${where}: the event does not hash to its leaf hash (the event was altered)`);
        continue;
      }
      if (!root || !checkpoint) continue;
      const path = Array.isArray(p.auditPath) ? p.auditPath.map((x) => Buffer.from(String(x), 'hex')) : [];
      if (!verifyInclusion(p.leafIndex, checkpoint.treeSize, h, path, root))
        report(
          `${where}: inclusion proof does not lead to the checkpoint's root at size ${checkpoint.treeSize}`,
        );
      else result.events++;
    }
  }
  result.ok = problems.length === 0;
  return result;
}
