import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import type { AddressInfo } from 'node:net';
import { AxisHeaders, verifyAxisHeaders, type AxisOperation } from '../national-axis/axis-signing';
import type { Agency } from '../national-axis/national-axis.client';

/**
 * SIMULATED national document exchange axis: the HTTP interface of NATIONAL-AXIS.md with HMAC header
 * checking and an in-memory store, for tests and for development when NATIONAL_AXIS_URL is unset. It is
 * not the real axis and says so.
 */
export interface SimulatedItem {
  docId: string;
  serviceType: 'eDoc';
  messageType: 'edoc' | 'status';
  from: string;
  to: string[];
  /** The body, or empty when it was spooled to `contentFile`. */
  content: Buffer;
  /** A sendEdoc body above `spoolAboveBytes`, kept in a file (never held whole). */
  contentFile?: { path: string; size: number };
  createdAt: string;
  /** Transport state per recipient (`updateStatus`). */
  acks: Record<string, 'pending' | 'done' | 'fail' | 'processing'>;
  /** Signed headers as received (sendEdoc only). */
  headers?: Record<string, string>;
}

export interface SimulatorOptions {
  /** systemId → shared secret. */
  systems: Record<string, string>;
  agencies?: Agency[];
  /** Largest body accepted (100 MiB by default). */
  maxBodyBytes?: number;
  /** sendEdoc bodies larger than this go to a temporary file instead of memory (8 MiB by default). */
  spoolAboveBytes?: number;
  /**
   * `/_sim/inject` may name a file (`contentPath`) in this directory as the item's content, served by getEdoc
   * from disk (the large-file benchmark injects a 280 MB package this way). Unset: no file is ever read.
   */
  injectFilesFrom?: string;
}

const OPERATIONS: AxisOperation[] = [
  'sendEdoc',
  'getReceivedEdocList',
  'getEdoc',
  'updateStatus',
  'getAgenciesList',
];

export class NationalAxisSimulator {
  readonly items = new Map<string, SimulatedItem>();
  /**
   * Per system and message type, the items not yet acknowledged `done` by it, in arrival order: what
   * getReceivedEdocList answers, without scanning every item the axis ever carried.
   */
  private readonly waiting = new Map<string, Map<string, SimulatedItem>>();
  /** Accepted calls in order (operation and its docid, if any), for tests counting what a client asked. */
  readonly calls: { operation: AxisOperation; docId?: string }[] = [];
  /** Refused calls, for tests asserting the signature checks. */
  readonly refusals: { operation: string; code: string; reason: string }[] = [];
  private server?: Server;
  private down = false;
  private readonly maxBody: number;
  private readonly spoolAbove: number;
  private spoolDir?: string;

  constructor(private readonly opts: SimulatorOptions) {
    this.maxBody = opts.maxBodyBytes ?? 100 * 1024 * 1024;
    this.spoolAbove = opts.spoolAboveBytes ?? 8 * 1024 * 1024;
  }

  private spoolPath(): string {
    this.spoolDir ??= mkdtempSync(join(tmpdir(), 'lienthong-axis-sim-'));
    return join(this.spoolDir, randomUUID());
  }

  async start(port = 0, host = '127.0.0.1'): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e) =>
        this.json(res, 500, { status: 'FAIL', ErrorCode: 'INTERNAL', ErrorDesc: (e as Error).message }),
      );
    });
    await new Promise<void>((resolve) => this.server!.listen(port, host, resolve));
    return this.url;
  }

  get url(): string {
    const a = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${a.port}`;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections?.();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
    if (this.spoolDir) rmSync(this.spoolDir, { recursive: true, force: true });
    this.spoolDir = undefined;
  }

  setDown(down: boolean): void {
    this.down = down;
  }

  /** Queues an incoming edoc or status for `to` as if another system had sent it. */
  inject(item: {
    from: string;
    to: string[];
    messageType: 'edoc' | 'status';
    content: Buffer;
    contentFile?: { path: string; size: number };
  }): SimulatedItem {
    const stored: SimulatedItem = {
      docId: randomUUID(),
      serviceType: 'eDoc',
      messageType: item.messageType,
      from: item.from,
      to: item.to,
      content: item.content,
      ...(item.contentFile ? { contentFile: item.contentFile } : {}),
      createdAt: new Date().toISOString(),
      acks: Object.fromEntries(item.to.map((t) => [t, 'pending' as const])),
    };
    this.items.set(stored.docId, stored);
    for (const t of stored.to) this.waitingFor(t, stored.messageType).set(stored.docId, stored);
    return stored;
  }

  /** A file `/_sim/inject` may serve: only inside `injectFilesFrom`. */
  private injectableFile(path?: string): { path: string; size: number } | undefined {
    const dir = this.opts.injectFilesFrom;
    if (!path || !dir) return undefined;
    const full = resolve(path);
    if (!full.startsWith(resolve(dir) + sep)) return undefined;
    try {
      return { path: full, size: statSync(full).size };
    } catch {
      return undefined;
    }
  }

  private waitingFor(system: string, messageType: string): Map<string, SimulatedItem> {
    const key = `${system}\u0000${messageType}`;
    let m = this.waiting.get(key);
    if (!m) this.waiting.set(key, (m = new Map()));
    return m;
  }

  /** What systems sent through the axis (sendEdoc), optionally to one recipient. */
  received(to?: string): SimulatedItem[] {
    return [...this.items.values()].filter((i) => i.headers && (!to || i.to.includes(to)));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    const path = url.pathname.replace(/\/+$/, '');
    if (path.startsWith('/_sim/')) return this.hook(path, url, req, res);
    if (req.method !== 'POST')
      return this.json(res, 405, { status: 'FAIL', ErrorCode: 'METHOD', ErrorDesc: 'POST only' });
    const op = path.split('/').pop() as AxisOperation;
    if (!OPERATIONS.includes(op))
      return this.json(res, 404, { status: 'FAIL', ErrorCode: 'UNKNOWN_OPERATION', ErrorDesc: op });
    const received =
      op === 'sendEdoc'
        ? await readBodyOrSpool(req, this.maxBody, this.spoolAbove, () => this.spoolPath())
        : { body: await readBody(req, this.maxBody) };
    const body = received.body;
    const discard = () => received.file && rmSync(received.file.path, { force: true });
    if (this.down) {
      discard();
      return this.json(res, 503, { status: 'FAIL', ErrorCode: 'UNAVAILABLE', ErrorDesc: 'simulated outage' });
    }
    const get = (n: string) => {
      const v = req.headers[n.toLowerCase()];
      return Array.isArray(v) ? v[0] : v;
    };
    const check = verifyAxisHeaders(get, (id) => this.opts.systems[id], op);
    if (!check.ok) {
      discard();
      this.refusals.push({ operation: op, code: check.code, reason: check.reason });
      return this.json(res, 401, { status: 'FAIL', ErrorCode: check.code, ErrorDesc: check.reason });
    }
    const me = check.systemId;
    const p = check.params;
    this.calls.push({ operation: op, ...(p.docid ? { docId: p.docid } : {}) });
    switch (op) {
      case 'sendEdoc': {
        const refuse = (code: string, desc: string) => {
          discard();
          this.fail(res, code, desc);
        };
        if (p.servicetype !== 'eDoc' || !['edoc', 'status'].includes(p.messagetype))
          return refuse('BAD_PARAMETER', 'servicetype/messagetype');
        if (p.from !== me) return refuse('FROM_MISMATCH', 'from must be the calling system');
        const to = p.to
          .split(';')
          .map((s) => s.trim())
          .filter(Boolean);
        if (to.length === 0) return refuse('NO_RECIPIENT', 'to is empty');
        if (!received.file && body.length === 0) return refuse('EMPTY_BODY', 'no package');
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers))
          if (k.startsWith('xroadvnpt-') && typeof v === 'string') headers[k] = v;
        const item = this.inject({
          from: me,
          to,
          messageType: p.messagetype as 'edoc' | 'status',
          content: body,
          ...(received.file ? { contentFile: received.file } : {}),
        });
        item.headers = headers;
        return this.json(res, 200, { status: 'OK', ErrorCode: '0', ErrorDesc: '', DocId: item.docId });
      }
      case 'getReceivedEdocList': {
        const data = [...this.waitingFor(me, p.messagetype).values()].map((i) => ({
          docId: i.docId,
          serviceType: i.serviceType,
          messageType: i.messageType,
          from: i.from,
          to: me,
          status: i.acks[me],
          status_desc: '',
          created_time: i.createdAt,
        }));
        return this.json(res, 200, { status: 'OK', ErrorCode: '0', ErrorDesc: '', data });
      }
      case 'getEdoc': {
        const item = this.items.get(p.docid);
        if (!item || (!item.to.includes(me) && item.from !== me))
          return this.fail(res, 'NOT_FOUND', `docid ${p.docid}`);
        if (item.contentFile) return streamEdoc(res, item.contentFile.path);
        return this.json(res, 200, {
          status: 'OK',
          ErrorCode: '0',
          ErrorDesc: '',
          data: { content: item.content.toString('base64') },
        });
      }
      case 'updateStatus': {
        const item = this.items.get(p.docid);
        if (!item || !item.to.includes(me)) return this.fail(res, 'NOT_FOUND', `docid ${p.docid}`);
        if (!['done', 'fail', 'processing'].includes(p.status))
          return this.fail(res, 'BAD_PARAMETER', 'status');
        item.acks[me] = p.status as 'done' | 'fail' | 'processing';
        if (p.status === 'done') this.waitingFor(me, item.messageType).delete(item.docId);
        return this.json(res, 200, { status: 'OK', ErrorCode: '0', ErrorDesc: '' });
      }
      case 'getAgenciesList':
        return this.json(res, 200, {
          status: 'OK',
          ErrorCode: '0',
          ErrorDesc: '',
          data: this.opts.agencies ?? [],
        });
    }
  }

  private async hook(path: string, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (path === '/_sim/received' && req.method === 'GET') {
      const to = url.searchParams.get('to') ?? undefined;
      return this.json(res, 200, { simulated: true, items: this.received(to).map(view) });
    }
    if (path === '/_sim/inject' && req.method === 'POST') {
      const body = JSON.parse((await readBody(req, this.maxBody)).toString('utf8') || '{}') as {
        from?: string;
        to?: string | string[];
        messageType?: 'edoc' | 'status';
        content?: string;
        contentBase64?: string;
        contentPath?: string;
      };
      const file = this.injectableFile(body.contentPath);
      if (!body.from || !body.to || !(body.content || body.contentBase64 || file))
        return this.json(res, 400, { error: 'from, to and content are required' });
      const item = this.inject({
        from: body.from,
        to: Array.isArray(body.to) ? body.to : [body.to],
        messageType: body.messageType === 'status' ? 'status' : 'edoc',
        content: body.contentBase64
          ? Buffer.from(body.contentBase64, 'base64')
          : Buffer.from(body.content ?? '', 'utf8'),
        ...(file ? { contentFile: file } : {}),
      });
      return this.json(res, 201, { simulated: true, docId: item.docId });
    }
    if ((path === '/_sim/down' || path === '/_sim/up') && req.method === 'POST') {
      this.setDown(path === '/_sim/down');
      return this.json(res, 200, { simulated: true, down: this.down });
    }
    if (path === '/_sim/items' && req.method === 'GET') {
      return this.json(res, 200, { simulated: true, items: [...this.items.values()].map(view) });
    }
    return this.json(res, 404, { error: 'unknown simulator hook' });
  }

  private fail(res: ServerResponse, code: string, desc: string): void {
    this.json(res, 200, { status: 'FAIL', ErrorCode: code, ErrorDesc: desc });
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    if (res.headersSent) return;
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'x-simulated': 'national-axis',
    });
    res.end(text);
  }
}

function view(i: SimulatedItem) {
  // A spooled package is not read back into memory: its file is named instead.
  return { ...i, content: i.content.toString('base64') };
}

/** The body in memory up to `spoolAbove` bytes; beyond, everything goes to a file written as it arrives. */
async function readBodyOrSpool(
  req: IncomingMessage,
  max: number,
  spoolAbove: number,
  spoolPath: () => string,
): Promise<{ body: Buffer; file?: { path: string; size: number } }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let file: { path: string; handle: Awaited<ReturnType<typeof open>> } | undefined;
  try {
    for await (const c of req) {
      const chunk = c as Buffer;
      size += chunk.length;
      if (size > max) throw new Error('body too large');
      if (!file && size > spoolAbove) {
        const path = spoolPath();
        file = { path, handle: await open(path, 'w', 0o600) };
        for (const b of chunks.splice(0)) await file.handle.write(b);
      }
      if (file) await file.handle.write(chunk);
      else chunks.push(chunk);
    }
  } catch (e) {
    if (file) {
      await file.handle.close().catch(() => undefined);
      rmSync(file.path, { force: true });
    }
    throw e;
  }
  if (!file) return { body: Buffer.concat(chunks) };
  await file.handle.close();
  return { body: Buffer.alloc(0), file: { path: file.path, size } };
}

/** getEdoc of a spooled package: the JSON answer written with the base64 content streamed from the file. */
async function streamEdoc(res: ServerResponse, path: string): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'x-simulated': 'national-axis' });
  res.write('{"status":"OK","ErrorCode":"0","ErrorDesc":"","data":{"content":"');
  let carry = Buffer.alloc(0);
  for await (const c of createReadStream(path, { highWaterMark: 3 * 256 * 1024 })) {
    const data = carry.length ? Buffer.concat([carry, c as Buffer]) : (c as Buffer);
    const whole = data.length - (data.length % 3);
    if (!res.write(data.subarray(0, whole).toString('base64')))
      await new Promise((resolve) => res.once('drain', resolve));
    carry = Buffer.from(data.subarray(whole));
  }
  res.end(`${carry.toString('base64')}"}}`);
}

async function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > max) throw new Error('body too large');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

export { AxisHeaders };
