import { createReadStream } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { pipeline } from 'node:stream/promises';
import { Base64Blocks, StreamingJsonScanner } from './axis-json';
import { signedAxisHeaders, type AxisOperation } from './axis-signing';

/** A body sent from a file, streamed (never read whole). */
export interface FileBody {
  path: string;
  size: number;
}

/**
 * Extra time a call gets per MB of a streamed body on top of NATIONAL_AXIS_TIMEOUT_MS (a 280 MB package at
 * 1 MB/s must not time out after 15 s).
 */
export const AXIS_MS_PER_MB = 1_000;

export interface AxisAnswer {
  status: 'OK' | 'FAIL';
  ErrorCode?: string;
  ErrorDesc?: string;
  [k: string]: unknown;
}

export interface ReceivedItem {
  docId: string;
  serviceType?: string;
  messageType?: string;
  from: string;
  to?: string;
  status?: string;
  status_desc?: string;
  created_time?: string;
}

export interface Agency {
  code: string;
  code102?: string;
  name: string;
  pid?: string;
}

/** The axis answered FAIL: a refusal, not to be retried blindly. */
export class AxisRefusal extends Error {
  constructor(
    readonly errorCode: string,
    readonly errorDesc: string,
  ) {
    super(`national axis refused: ${errorCode} ${errorDesc}`.trim());
    this.name = 'AxisRefusal';
  }
}

/** 5xx, timeout, network error or an open circuit: transient, retried with back-off. */
export class AxisUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AxisUnavailable';
  }
}

/** No call was made because the circuit is open: nothing was attempted. */
export class AxisCircuitOpen extends AxisUnavailable {
  constructor() {
    super('national axis circuit is open');
    this.name = 'AxisCircuitOpen';
  }
}

/** Opens after `threshold` consecutive failures; lets one probe through after `coolDownMs`. */
export class CircuitBreaker {
  private failures = 0;
  private openedAt = 0;

  constructor(
    private readonly threshold = 3,
    private readonly coolDownMs = 5_000,
  ) {}

  get state(): 'closed' | 'open' | 'half-open' {
    if (this.failures < this.threshold) return 'closed';
    return Date.now() - this.openedAt >= this.coolDownMs ? 'half-open' : 'open';
  }

  allow(): boolean {
    const s = this.state;
    if (s === 'half-open') this.openedAt = Date.now(); // one probe per cool-down
    return s !== 'open';
  }

  success(): void {
    this.failures = 0;
  }

  failure(): void {
    this.failures++;
    if (this.failures >= this.threshold) this.openedAt = Date.now();
  }
}

export interface NationalAxisClientOptions {
  url: string;
  systemId: string;
  secret: string;
  timeoutMs: number;
  breaker?: CircuitBreaker;
}

/** What this process last saw of the axis (GET /api/v1/exchanges/links). */
export interface AxisActivity {
  lastCallAt?: string;
  lastSuccessAt?: string;
  lastError?: { at: string; message: string };
}

/** Largest answer read to an upload (answers to sendEdoc are small JSON). */
const MAX_ANSWER_BYTES = 1024 * 1024;

/**
 * Kept-alive connections to the axis: a call reuses a socket instead of connecting (and without fetch's
 * per-call work). Idle sockets are dropped after 4 s, before a server's usual 5 s keep-alive timeout closes
 * one under a call.
 */
const agents = {
  http: new HttpAgent({ keepAlive: true, timeout: 4_000 }),
  https: new HttpsAgent({ keepAlive: true, timeout: 4_000 }),
};

/**
 * One POST with node:http over a kept-alive connection. A file body is piped from disk with the socket's
 * back-pressure (only the stream's buffers are in memory; fetch with a ReadableStream body read a 280 MB
 * package into memory ahead of the socket); a Buffer is written as it is. The answer is read whole, at most
 * `maxAnswer` bytes.
 */
function post(
  url: string,
  headers: Record<string, string>,
  body: Buffer | FileBody | undefined,
  signal: AbortSignal,
  maxAnswer: number,
): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const https = u.protocol === 'https:';
    const size = body === undefined ? 0 : Buffer.isBuffer(body) ? body.length : body.size;
    const req = (https ? httpsRequest : httpRequest)(u, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(size) },
      agent: https ? agents.https : agents.http,
      signal,
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let got = 0;
      res.on('data', (c: Buffer) => {
        got += c.length;
        if (got > maxAnswer) res.destroy(new Error('answer too large'));
        else chunks.push(c);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 502, body: Buffer.concat(chunks, got) }));
      res.on('error', reject);
      res.on('aborted', () => reject(new Error('answer aborted')));
    });
    if (body === undefined) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else pipeline(createReadStream(body.path, { highWaterMark: 256 * 1024 }), req).catch(reject);
  });
}

/** Client of the national axis HTTP interface (NATIONAL-AXIS.md); field names live here only. */
export class NationalAxisClient {
  readonly breaker: CircuitBreaker;
  readonly activity: AxisActivity = {};

  constructor(private readonly opts: NationalAxisClientOptions) {
    this.breaker = opts.breaker ?? new CircuitBreaker();
  }

  get systemId(): string {
    return this.opts.systemId;
  }

  async call(
    op: AxisOperation,
    params: Record<string, string>,
    body?: Buffer | FileBody,
  ): Promise<AxisAnswer> {
    if (!this.breaker.allow()) throw new AxisCircuitOpen();
    this.activity.lastCallAt = new Date().toISOString();
    try {
      const answer = await this.callOnce(op, params, body);
      this.activity.lastSuccessAt = new Date().toISOString();
      return answer;
    } catch (e) {
      this.activity.lastError = { at: new Date().toISOString(), message: (e as Error).message.slice(0, 300) };
      throw e;
    }
  }

  private async callOnce(
    op: AxisOperation,
    params: Record<string, string>,
    body?: Buffer | FileBody,
  ): Promise<AxisAnswer> {
    const headers = signedAxisHeaders(this.opts.systemId, this.opts.secret, params);
    let res: { status: number; body: Buffer };
    try {
      const file = body && !Buffer.isBuffer(body) ? body : undefined;
      const timeout = this.opts.timeoutMs + (file ? Math.ceil(file.size / 1e6) * AXIS_MS_PER_MB : 0);
      const url = `${this.opts.url.replace(/\/+$/, '')}/${op}`;
      const contentType: Record<string, string> = body ? { 'content-type': 'application/octet-stream' } : {};
      res = await post(
        url,
        { ...headers, ...contentType },
        body,
        AbortSignal.timeout(timeout),
        // getEdoc answers carry a package (base64 in JSON); the others are small.
        op === 'getEdoc' || op === 'getReceivedEdocList' || op === 'getAgenciesList'
          ? Number.MAX_SAFE_INTEGER
          : MAX_ANSWER_BYTES,
      );
    } catch (e) {
      this.breaker.failure();
      throw new AxisUnavailable(`national axis unreachable: ${(e as Error).message}`);
    }
    if (res.status >= 500) {
      this.breaker.failure();
      throw new AxisUnavailable(`national axis answered HTTP ${res.status}`);
    }
    let answer: AxisAnswer;
    try {
      answer = JSON.parse(res.body.toString('utf8')) as AxisAnswer;
    } catch {
      this.breaker.failure();
      throw new AxisUnavailable(`national axis answered HTTP ${res.status} without JSON`);
    }
    this.breaker.success();
    if (answer?.status !== 'OK')
      throw new AxisRefusal(
        String(answer?.ErrorCode ?? `HTTP${res.status}`),
        String(answer?.ErrorDesc ?? ''),
      );
    return answer;
  }

  async sendEdoc(
    messageType: 'edoc' | 'status',
    from: string,
    to: string[],
    content: Buffer | FileBody,
  ): Promise<string> {
    const a = await this.call(
      'sendEdoc',
      { servicetype: 'eDoc', messagetype: messageType, from, to: to.join(';') },
      content,
    );
    return String(a.DocId ?? '');
  }

  async getReceivedEdocList(messageType: 'edoc' | 'status'): Promise<ReceivedItem[]> {
    const a = await this.call('getReceivedEdocList', { servicetype: 'eDoc', messagetype: messageType });
    return Array.isArray(a.data) ? (a.data as ReceivedItem[]) : [];
  }

  async getEdoc(docId: string): Promise<Buffer> {
    const a = await this.call('getEdoc', { docid: docId });
    const content = (a.data as { content?: string } | undefined)?.content;
    if (typeof content !== 'string')
      throw new AxisRefusal('NO_CONTENT', `getEdoc ${docId} returned no content`);
    return Buffer.from(content, 'base64');
  }

  /**
   * `getEdoc` read as it arrives: the package's bytes, base64-decoded in blocks from the JSON answer's
   * `data.content` without holding the answer (a 200 MB package is a 270 MB JSON string). The iteration
   * throws AxisRefusal when the axis answered FAIL (or no content), AxisUnavailable when the answer is not
   * JSON or the connection broke; a reader must treat what it got as unusable until the iteration ends.
   */
  async *getEdocStream(docId: string): AsyncGenerator<Buffer> {
    if (!this.breaker.allow()) throw new AxisCircuitOpen();
    this.activity.lastCallAt = new Date().toISOString();
    const params = { docid: docId };
    const headers = signedAxisHeaders(this.opts.systemId, this.opts.secret, params);
    const fail = (e: Error): Error => {
      this.activity.lastError = { at: new Date().toISOString(), message: e.message.slice(0, 300) };
      return e;
    };
    let res: Response;
    try {
      res = await fetch(`${this.opts.url.replace(/\/+$/, '')}/getEdoc`, {
        method: 'POST',
        headers,
        // The answer's size is unknown before it starts: the timeout covers the call up to the headers, and
        // then each chunk must come within it (below).
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
    } catch (e) {
      this.breaker.failure();
      throw fail(new AxisUnavailable(`national axis unreachable: ${(e as Error).message}`));
    }
    if (res.status >= 500 || !res.body) {
      this.breaker.failure();
      await res.arrayBuffer().catch(() => undefined);
      throw fail(new AxisUnavailable(`national axis answered HTTP ${res.status}`));
    }
    const pieces: string[] = [];
    const scanner = new StreamingJsonScanner(['data', 'content'], (t) => pieces.push(t));
    const blocks = new Base64Blocks();
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        scanner.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
        for (const p of pieces.splice(0)) {
          const b = blocks.push(p);
          if (b) yield b;
        }
      }
      scanner.end();
      for (const p of pieces.splice(0)) {
        const b = blocks.push(p);
        if (b) yield b;
      }
      const last = blocks.end();
      if (last) yield last;
    } catch (e) {
      if (e instanceof AxisRefusal) throw e;
      this.breaker.failure();
      throw fail(new AxisUnavailable(`getEdoc ${docId}: ${(e as Error).message}`));
    }
    this.breaker.success();
    this.activity.lastSuccessAt = new Date().toISOString();
    const top = scanner.top;
    if (top.status !== 'OK')
      throw fail(new AxisRefusal(String(top.ErrorCode ?? `HTTP${res.status}`), String(top.ErrorDesc ?? '')));
    if (!scanner.sawTarget) throw fail(new AxisRefusal('NO_CONTENT', `getEdoc ${docId} returned no content`));
  }

  async updateStatus(docId: string, status: 'done' | 'fail' | 'processing'): Promise<void> {
    await this.call('updateStatus', { docid: docId, status });
  }

  async getAgenciesList(): Promise<Agency[]> {
    const a = await this.call('getAgenciesList', {});
    return Array.isArray(a.data) ? (a.data as Agency[]) : [];
  }
}
