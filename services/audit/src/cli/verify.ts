#!/usr/bin/env node
/**
 * Verifies an audit log end to end, against a running service or an export file:
 *   npm run audit:verify -- --url http://127.0.0.1:3004 --token <system-admin or auditor token>
 *   npm run audit:verify -- --file export.ndjson [--checkpoints checkpoints.json] [--keys keys.json]
 *   npm run audit:verify -- --bag register-archive.zip [--trusted-key audit-key.pem] [--json]   (a bag or its folder)
 * Exit code 0 when everything verifies, 1 otherwise (2 for usage errors). Progress goes to stderr.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { BagReport, verifyBag } from '../verify/bag-verifier';
import { CheckpointInput, ExportLine, KeyInput, verifyLog, VerifyReport } from '../verify/verifier';

interface Args {
  url?: string;
  token?: string;
  file?: string;
  checkpoints?: string;
  keys?: string;
  bag?: string;
  trustedKeys: string[];
  json?: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { trustedKeys: [] };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    if (k === '--url') a.url = v().replace(/\/+$/, '');
    else if (k === '--token') a.token = v();
    else if (k === '--file') a.file = v();
    else if (k === '--checkpoints') a.checkpoints = v();
    else if (k === '--keys') a.keys = v();
    else if (k === '--bag') a.bag = v();
    else if (k === '--trusted-key') a.trustedKeys.push(v());
    else if (k === '--json') a.json = true;
    else throw new Error(`unknown argument ${k}`);
  }
  if (!a.url && !a.file && !a.bag) throw new Error('give --url (with --token), --file or --bag');
  return a;
}

async function* ndjson(input: NodeJS.ReadableStream): AsyncGenerator<ExportLine> {
  const rl = createInterface({ input, crlfDelay: Infinity });
  for await (const line of rl) {
    if (line.trim() === '') continue;
    yield JSON.parse(line) as ExportLine;
  }
}

/** Accepts `{items:[…]}`, `{checkpoints:[…]}` or a bare array. */
export function checkpointsFrom(json: unknown): CheckpointInput[] {
  if (Array.isArray(json)) return json as CheckpointInput[];
  const o = json as { items?: CheckpointInput[]; checkpoints?: CheckpointInput[] };
  return o.items ?? o.checkpoints ?? [json as CheckpointInput];
}

/** Accepts `{keys:[{keyId, publicKey}]}`, a bare array, or a map keyId → PEM. */
export function keysFrom(json: unknown): KeyInput[] {
  const list = (json as { keys?: unknown }).keys ?? json;
  if (Array.isArray(list)) return list as KeyInput[];
  return Object.entries(list as Record<string, string>).map(([keyId, publicKey]) => ({ keyId, publicKey }));
}

async function fetchJson(url: string, token: string): Promise<unknown> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return res.json();
}

export async function runVerify(
  argv: string[],
  err: (s: string) => void = (s) => process.stderr.write(s),
): Promise<VerifyReport> {
  const args = parseArgs(argv);
  if (args.bag) throw new Error('--bag is checked by runVerifyBag');
  const started = Date.now();
  const progress = (n: number) =>
    err(`… ${n} entries verified (${Math.round(n / ((Date.now() - started) / 1000 || 1))}/s)\n`);
  let checkpoints: CheckpointInput[] = [];
  let keys: KeyInput[] = [];
  let lines: AsyncIterable<ExportLine>;
  if (args.url) {
    const token = args.token ?? process.env.AUDIT_TOKEN ?? '';
    let cursor: string | null = null;
    do {
      const page = (await fetchJson(
        `${args.url}/api/v1/audit/checkpoints?limit=500${cursor ? `&cursor=${cursor}` : ''}`,
        token,
      )) as { items: CheckpointInput[]; nextCursor: string | null };
      checkpoints.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    keys = keysFrom(await fetchJson(`${args.url}/api/v1/audit/keys`, token));
    const res = await fetch(`${args.url}/api/v1/audit/export`, {
      headers: { authorization: `Bearer ${token}` },
    });
    if (!res.ok || !res.body) throw new Error(`GET export: HTTP ${res.status}`);
    lines = ndjson(Readable.fromWeb(res.body as Parameters<typeof Readable.fromWeb>[0]));
  } else {
    if (args.checkpoints) checkpoints = checkpointsFrom(JSON.parse(readFileSync(args.checkpoints, 'utf8')));
    if (args.keys) keys = keysFrom(JSON.parse(readFileSync(args.keys, 'utf8')));
    lines = ndjson(createReadStream(args.file!));
  }
  return verifyLog(lines, checkpoints, keys, { onProgress: progress, progressEvery: 100_000 });
}

/** `--bag`: an archive package (BagIt zip or folder) with the audit proofs of its documents. */
export async function runVerifyBag(argv: string[]): Promise<BagReport> {
  const args = parseArgs(argv);
  if (!args.bag) throw new Error('give --bag');
  return verifyBag(args.bag, { trustedKeys: args.trustedKeys.map((f) => readFileSync(f, 'utf8')) });
}

export function bagSummary(r: BagReport): string {
  const cp = r.checkpoint ? ` against checkpoint ${r.checkpoint.origin} size ${r.checkpoint.treeSize}` : '';
  const head = `${r.files} files, ${r.documents} documents, ${r.events} audit events${cp}`;
  if (r.ok) return `OK: bag verified: ${head}\n`;
  return `FAILED: ${head}\n${r.problems.map((p) => `  - ${p}\n`).join('')}`;
}

if (require.main === module && process.argv.includes('--bag')) {
  runVerifyBag(process.argv.slice(2)).then(
    (r) => {
      process.stdout.write(process.argv.includes('--json') ? `${JSON.stringify(r)}\n` : bagSummary(r));
      process.exitCode = r.ok ? 0 : 1;
    },
    (e: Error) => {
      process.stderr.write(`audit:verify: ${e.message}\n`);
      process.exitCode = 2;
    },
  );
} else if (require.main === module) {
  runVerify(process.argv.slice(2)).then(
    (r) => {
      const out = process.stdout;
      if (r.ok) out.write(`OK: ${r.entries} entries, ${r.checkpoints} checkpoints verified\n`);
      else {
        out.write(`FAILED: ${r.entries} entries, ${r.checkpoints} checkpoints\n`);
        if (r.firstBadLeaf !== null) out.write(`first leaf that does not match: ${r.firstBadLeaf}\n`);
        for (const p of r.problems) out.write(`  - ${p}\n`);
      }
      process.exitCode = r.ok ? 0 : 1;
    },
    (e: Error) => {
      process.stderr.write(`audit:verify: ${e.message}\n`);
      process.exitCode = 2;
    },
  );
}
