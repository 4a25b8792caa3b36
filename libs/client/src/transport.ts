import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';

export const SERVICES = ['identity', 'documents', 'integration-bus', 'audit'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** The one origin of `npm start` (console-server routes /api/v1/* by path, API.md "Additions"). */
export const DEFAULT_BASE_URL = 'http://127.0.0.1:3000';

export interface HttpResponse<T = unknown> {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Parsed JSON when the answer is JSON, else the text. */
  body: T;
}

export interface HttpRequest {
  method: string;
  url: string;
  headers: Record<string, string | number>;
  /** A JSON/text body, or a stream with its length given in the headers. */
  body?: Buffer | string | Readable | (() => AsyncIterable<Buffer>);
  /** Called after each chunk of a streamed body is handed to the socket. */
  onBodyProgress?: (sent: number) => void;
  signal?: AbortSignal;
}

/** Anything that cannot be answered by the API: a refused connection, a reset, a timeout. */
export class LienthongNetworkError extends Error {
  constructor(
    readonly url: string,
    override readonly cause: Error & { code?: string },
  ) {
    super(`cannot reach ${new URL(url).origin}: ${cause.code ?? cause.message}`);
    this.name = 'LienthongNetworkError';
  }
}

/**
 * node:http with keep-alive: one request, the whole answer, no retries except one: a kept-alive socket the
 * server had just closed as idle never reached a handler, so it is sent again on a fresh socket (for
 * replayable bodies only).
 */
export class HttpTransport {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;

  constructor(agent?: http.Agent) {
    // Idle sockets close after 4 s, before the services' 5 s keep-alive timeout closes them under us.
    this.httpAgent = agent ?? new http.Agent({ keepAlive: true, maxSockets: 64, timeout: 4000 });
    this.httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 64, timeout: 4000 });
  }

  request<T = unknown>(req: HttpRequest, retried = false): Promise<HttpResponse<T>> {
    const url = new URL(req.url);
    const lib = url.protocol === 'https:' ? https : http;
    const agent = url.protocol === 'https:' ? this.httpsAgent : this.httpAgent;
    return new Promise<HttpResponse<T>>((resolve, reject) => {
      const replayable = req.body === undefined || typeof req.body === 'string' || Buffer.isBuffer(req.body);
      const out = lib.request(
        url,
        { method: req.method, agent, headers: req.headers, signal: req.signal },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (e) => reject(new LienthongNetworkError(req.url, e)));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown = text;
            if (text && /json/i.test(String(res.headers['content-type'] ?? ''))) {
              try {
                body = JSON.parse(text);
              } catch {
                /* keep the text */
              }
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: body as T });
          });
        },
      );
      out.on('error', (e: Error & { code?: string }) => {
        if (out.reusedSocket && !retried && replayable && (e.code === 'ECONNRESET' || e.code === 'EPIPE')) {
          this.request<T>(req, true).then(resolve, reject);
        } else reject(e.name === 'AbortError' ? e : new LienthongNetworkError(req.url, e));
      });
      if (req.body === undefined || typeof req.body === 'string' || Buffer.isBuffer(req.body)) {
        out.end(req.body);
        return;
      }
      void pump(out, typeof req.body === 'function' ? req.body() : req.body, req.onBodyProgress).catch((e) =>
        out.destroy(e as Error),
      );
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

/** Writes a stream into the request, waiting on 'drain' (so progress follows the socket, not the disk). */
async function pump(
  out: http.ClientRequest,
  source: AsyncIterable<Buffer>,
  onProgress?: (sent: number) => void,
): Promise<void> {
  let sent = 0;
  for await (const chunk of source) {
    if (out.destroyed) return;
    if (!out.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          out.off('drain', done);
          out.off('close', done);
          resolve();
        };
        out.on('drain', done);
        out.on('close', done);
      });
    }
    sent += chunk.length;
    onProgress?.(sent);
  }
  out.end();
}
