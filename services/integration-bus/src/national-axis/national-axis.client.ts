import { createReadStream } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { pipeline } from 'node:stream/promises';
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

/** Largest answer read to a streamed upload (answers are small JSON). */
const MAX_ANSWER_BYTES = 1024 * 1024;

/**
 * POSTs a file with node:http, piped from disk with the socket's back-pressure: only the stream's buffers are
 * in memory. (fetch with a ReadableStream body read a 280 MB package into memory ahead of the socket.)
 */
function postFile(
  url: string,
  headers: Record<string, string>,
  file: FileBody,
  signal: AbortSignal,
): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(file.size) },
      signal,
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_ANSWER_BYTES) res.destroy(new Error('answer too large'));
        else chunks.push(c);
      });
      res.on('end', () => resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 502 })));
      res.on('error', reject);
    });
    pipeline(createReadStream(file.path, { highWaterMark: 256 * 1024 }), req).catch(reject);
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
    let res: Response;
    try {
      const file = body && !Buffer.isBuffer(body) ? body : undefined;
      const timeout = this.opts.timeoutMs + (file ? Math.ceil(file.size / 1e6) * AXIS_MS_PER_MB : 0);
      const url = `${this.opts.url.replace(/\/+$/, '')}/${op}`;
      const contentType: Record<string, string> = body ? { 'content-type': 'application/octet-stream' } : {};
      const signal = AbortSignal.timeout(timeout);
      // A file is piped from disk (never in memory); small bodies go with fetch.
      res = file
        ? await postFile(url, { ...headers, ...contentType }, file, signal)
        : await fetch(url, {
            method: 'POST',
            headers: { ...headers, ...contentType },
            body: Buffer.isBuffer(body)
              ? new Uint8Array(body.buffer, body.byteOffset, body.length)
              : undefined,
            signal,
          });
    } catch (e) {
      this.breaker.failure();
      throw new AxisUnavailable(`national axis unreachable: ${(e as Error).message}`);
    }
    if (res.status >= 500) {
      this.breaker.failure();
      await res.arrayBuffer().catch(() => undefined);
      throw new AxisUnavailable(`national axis answered HTTP ${res.status}`);
    }
    let answer: AxisAnswer;
    try {
      answer = (await res.json()) as AxisAnswer;
    } catch {
      this.breaker.failure();
      throw new AxisUnavailable(`national axis answered HTTP ${res.status} without JSON`);
    }
    this.breaker.success();
    if (answer.status !== 'OK')
      throw new AxisRefusal(String(answer.ErrorCode ?? `HTTP${res.status}`), String(answer.ErrorDesc ?? ''));
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

  async updateStatus(docId: string, status: 'done' | 'fail' | 'processing'): Promise<void> {
    await this.call('updateStatus', { docid: docId, status });
  }

  async getAgenciesList(): Promise<Agency[]> {
    const a = await this.call('getAgenciesList', {});
    return Array.isArray(a.data) ? (a.data as Agency[]) : [];
  }
}
