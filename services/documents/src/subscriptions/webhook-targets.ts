import { Injectable } from '@nestjs/common';
import { existsSync, readFileSync } from 'node:fs';
import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { rootCertificates } from 'node:tls';
import { DocumentsConfig } from '../config/documents.config';
import { AddressAllowList } from './webhook-address';

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a host name to all of its addresses (the system resolver by default; tests give their own). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** A webhook target refused because the address it is (or resolves to) is not public. */
export class WebhookTargetRefused extends Error {
  readonly code = 'EWEBHOOKTARGET';
}

/** How long a registration waits for DNS before leaving the decision to the connect-time check. */
const REGISTRATION_DNS_MS = 3000;
/** Bytes of a receiver's answer read (and thrown away) before the connection is dropped. */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * Where webhooks may go (SSRF guard): a URL whose host is, or resolves to, a non-public address (loopback,
 * link-local incl. cloud metadata, RFC 1918, ULA, IPv4-mapped forms of those, …) is refused at registration
 * and again at every connection, unless SUBSCRIPTIONS_ALLOW_PRIVATE allows it. At connection time the host is
 * resolved once, every address is checked and the socket goes to a checked address (the `lookup` of the
 * socket is this check), so a DNS answer that changes between the check and the connection (rebinding) cannot
 * slip through; TLS still verifies the certificate for the URL's host name (SNI, Host). Redirects are not
 * followed (a 3xx is a failed attempt).
 */
@Injectable()
export class WebhookTargets {
  readonly allow: AddressAllowList;
  /** Replaceable by tests (a name resolving to a chosen address without touching /etc/hosts). */
  resolver: Resolver = systemResolver;
  private readonly ca?: string[];
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 4 });

  constructor(config: DocumentsConfig) {
    this.allow = AddressAllowList.parse(config.SUBSCRIPTIONS_ALLOW_PRIVATE);
    if (config.SUBSCRIPTIONS_TLS_CA)
      this.ca = [...rootCertificates, readPem(config.SUBSCRIPTIONS_TLS_CA, 'SUBSCRIPTIONS_TLS_CA')];
  }

  /**
   * Resolves `hostname` (an IP literal stands for itself) and checks every address: all must be public or
   * allowed. Throws WebhookTargetRefused naming the kind of address (not the address a name resolved to).
   */
  async resolveChecked(hostname: string): Promise<ResolvedAddress[]> {
    const host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
    const family = isIP(host);
    if (family) {
      const why = this.allow.refusal(host);
      if (why) throw new WebhookTargetRefused(`${host} is a ${why} address`);
      return [{ address: host, family }];
    }
    const addresses = await this.resolver(host);
    if (addresses.length === 0)
      throw Object.assign(new Error(`${host} has no address`), { code: 'ENOTFOUND' });
    for (const a of addresses) {
      const why = this.allow.refusal(a.address);
      if (why) throw new WebhookTargetRefused(`${host} resolves to a ${why} address`);
    }
    return addresses;
  }

  /**
   * The registration check: a problem to report under `url`, or null. A name that does not resolve now (or
   * not within 3 s) is accepted: every connection is checked again anyway.
   */
  async registrationProblem(url: URL): Promise<string | null> {
    let timer: NodeJS.Timeout | undefined;
    const check = this.resolveChecked(url.hostname).then(
      () => null,
      (e: unknown) =>
        e instanceof WebhookTargetRefused
          ? `url must point to a public address: ${e.message} (an operator may allow private networks)`
          : null,
    );
    const late = new Promise<null>(
      (resolve) => (timer = setTimeout(() => resolve(null), REGISTRATION_DNS_MS)),
    );
    try {
      return await Promise.race([check, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The socket's `lookup`: resolve once, check every address, connect only to checked ones. */
  private readonly guardedLookup: LookupFunction = (hostname, options, callback) => {
    this.resolveChecked(hostname).then(
      (all) => {
        const wanted = options.family === 4 || options.family === 6 ? options.family : 0;
        const addresses = wanted ? all.filter((a) => a.family === wanted) : all;
        if (addresses.length === 0) {
          const e = Object.assign(new Error(`${hostname} has no IPv${wanted} address`), {
            code: 'ENOTFOUND',
          });
          callback(e, '', 0);
        } else if (options.all)
          (callback as unknown as (e: null, a: ResolvedAddress[]) => void)(null, addresses);
        else callback(null, addresses[0].address, addresses[0].family);
      },
      (e: NodeJS.ErrnoException) => callback(e, '', 0),
    );
  };

  /**
   * POSTs one webhook; resolves with the HTTP status (the answer's body is read and dropped, at most 64 KiB).
   * Rejects with WebhookTargetRefused, a socket/TLS error (with its `code`), or the signal's reason.
   */
  async post(
    url: string,
    headers: Record<string, string>,
    body: string,
    signal: AbortSignal,
  ): Promise<number> {
    const u = new URL(url);
    const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
    // A literal address never goes through `lookup`: it is checked here.
    if (isIP(host)) await this.resolveChecked(host);
    const secure = u.protocol === 'https:';
    const payload = Buffer.from(body, 'utf8');
    return new Promise<number>((resolve, reject) => {
      const req = (secure ? https : http).request(
        {
          method: 'POST',
          protocol: u.protocol,
          hostname: host,
          port: u.port || (secure ? 443 : 80),
          path: `${u.pathname}${u.search}`,
          headers: { ...headers, 'Content-Length': String(payload.length) },
          agent: secure ? this.httpsAgent : this.httpAgent,
          lookup: this.guardedLookup,
          signal,
          ...(secure && this.ca ? { ca: this.ca } : {}),
        },
        (res) => {
          let read = 0;
          res.on('data', (chunk: Buffer) => {
            read += chunk.length;
            if (read > MAX_ANSWER_BYTES) res.destroy();
          });
          res.on('error', () => undefined);
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}

function readPem(value: string, name: string): string {
  if (value.includes('-----BEGIN')) return value.replace(/\\n/g, '\n');
  if (existsSync(value)) return readFileSync(value, 'utf8');
  throw new Error(`${name} is neither PEM text nor a readable file`);
}
