import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type RequestListener, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  /** The body exactly as it arrived (what the signature covers). */
  raw: string;
  body: any;
  /** The status this receiver answered. */
  answered: number;
  /** HTTPS: the server name the client asked for (SNI). */
  servername?: string;
}

export interface WebhookReceiverOptions {
  /** Serve HTTPS with this certificate and key (PEM) instead of HTTP. */
  tls?: { cert: string; key: string };
  /** Address to listen on (127.0.0.1). */
  listen?: string;
  /** Host name written in `url` (the listening address by default). */
  host?: string;
}

/**
 * A webhook receiver on 127.0.0.1 for tests: records every request and answers `answer()`'s status
 * (200 unless a test says otherwise). `verify` checks a request the way the README tells receivers to.
 */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  /** The status of the next answers (a test flips it to make the receiver fail or recover); 0 = never answer. */
  status = 200;
  /** Statuses answered first, one per request, before `status`. */
  readonly script: number[] = [];
  /** Extra headers of every answer (e.g. a `Location` with a 3xx). */
  answerHeaders: Record<string, string> = {};
  private server?: Server;
  url = '';

  async start(path = '/hooks/lienthong', options: WebhookReceiverOptions = {}): Promise<this> {
    const handler: RequestListener = (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const answered = this.script.shift() ?? this.status;
        let body: unknown;
        try {
          body = JSON.parse(raw);
        } catch {
          body = undefined;
        }
        const servername = (req.socket as TLSSocket).servername || undefined;
        this.received.push({
          headers: req.headers,
          raw,
          body,
          answered,
          ...(servername ? { servername } : {}),
        });
        if (answered === 0) return; // hangs until the sender gives up
        res
          .writeHead(answered, { 'Content-Type': 'text/plain', ...this.answerHeaders })
          .end(answered < 300 ? 'ok' : 'not now');
      });
    };
    this.server = options.tls ? createTlsServer(options.tls, handler) : createServer(handler);
    const listen = options.listen ?? '127.0.0.1';
    await new Promise<void>((resolve) => this.server!.listen(0, listen, resolve));
    const port = (this.server.address() as AddressInfo).port;
    this.url = `${options.tls ? 'https' : 'http'}://${options.host ?? listen}:${port}${path}`;
    return this;
  }

  /** The requests this receiver acknowledged (2xx), in arrival order. */
  get acknowledged(): ReceivedWebhook[] {
    return this.received.filter((r) => r.answered >= 200 && r.answered < 300);
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/**
 * What a receiver does with `Lienthong-Signature: t=<unix seconds>,v1=<hex>` (written independently of the
 * service's signing code): HMAC-SHA256(secret, "<t>.<raw body>"), constant-time compare, timestamp tolerance.
 */
export function verifyWebhookSignature(
  secret: string,
  header: string | string[] | undefined,
  rawBody: string,
  toleranceSeconds = 300,
  nowSeconds = Math.floor(Date.now() / 1000),
): boolean {
  if (typeof header !== 'string') return false;
  const parts = Object.fromEntries(header.split(',').map((kv) => kv.split('=', 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds || !parts.v1) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${rawBody}`).digest();
  const given = Buffer.from(parts.v1, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
