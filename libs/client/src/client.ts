import { randomBytes } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import type http from 'node:http';
import { basename } from 'node:path';
import { LienthongApiError } from './errors';
import {
  auditOperations,
  documentsOperations,
  identityOperations,
  integrationBusOperations,
  type AuditOperations,
  type DocumentsOperations,
  type IdentityOperations,
  type IntegrationBusOperations,
} from './generated';
import type { CreateDocumentDto, StatusChangeDto } from './generated/documents';
import type {
  Attachment,
  Checkpoint,
  DocumentView,
  EdxmlAccepted,
  Exchange,
  Me,
  Page,
  SendResult,
  TokenResponse,
  Tokens,
} from './model';
import { DEFAULT_BASE_URL, HttpTransport, type HttpResponse, type ServiceName } from './transport';

export type Operations = IdentityOperations &
  DocumentsOperations &
  IntegrationBusOperations &
  AuditOperations;
export type OperationId = keyof Operations;

/** The path parameters, query and JSON body of one operation, as its service's OpenAPI document says. */
export interface OperationInput<K extends OperationId> {
  params?: Operations[K]['params'];
  query?: Operations[K]['query'];
  body?: Operations[K]['body'];
}

const OPERATIONS: Record<string, { service: ServiceName; method: string; path: string }> = {};
for (const [service, table] of [
  ['identity', identityOperations],
  ['documents', documentsOperations],
  ['integration-bus', integrationBusOperations],
  ['audit', auditOperations],
] as const) {
  for (const [id, op] of Object.entries(table)) OPERATIONS[id] = { service, ...op };
}

export interface ClientOptions {
  /** The one origin (default http://127.0.0.1:3000); each service is reached under it by path. */
  baseUrl?: string;
  /** Per-service base URLs (e.g. `{ documents: 'http://127.0.0.1:3002' }`); the others use baseUrl. */
  urls?: Partial<Record<ServiceName, string>>;
  /** gRPC address of the documents service for `watch` (default: baseUrl's host, port 50052). */
  grpcAddress?: string;
  /** TLS for gRPC (required by production servers). */
  grpcTls?: boolean;
  tokens?: Tokens;
  /** Called whenever the client obtains new tokens (login, refresh) or drops them (logout). */
  onTokens?: (tokens: Tokens | undefined) => void;
  /** A keep-alive agent to share (e.g. with bounded sockets for a load generator). */
  agent?: http.Agent;
  /** Internal: clients made by `withTokens` share one transport. */
  transport?: HttpTransport;
}

export interface UploadProgress {
  /** File bytes handed to the socket so far. */
  sent: number;
  total: number;
}

export interface UploadOptions {
  /** File name sent (default: the path's base name). */
  name?: string;
  contentType?: string;
  onProgress?: (p: UploadProgress) => void;
  signal?: AbortSignal;
}

export type UploadSource = string | { data: Buffer; name: string };

interface SendOptions {
  query?: Record<string, unknown>;
  body?: unknown;
  /** A prepared body with its own content type (form, XML); `body` is JSON. */
  raw?: { contentType: string; data: Buffer | string };
  /** false: no Authorization header (the token endpoint). */
  auth?: boolean;
  headers?: Record<string, string>;
}

/**
 * The Liên thông API for integrators: typed on the services' OpenAPI documents (`call`), with the usual
 * operations as methods. Thin on purpose (one HTTP request per call, JSON in and out, no per-request work
 * beyond that): the benchmark drives the platform through it.
 */
export class LienthongClient {
  readonly baseUrl: string;
  readonly urls: Record<ServiceName, string>;
  readonly grpcAddress: string;
  readonly grpcTls: boolean;
  private currentTokens?: Tokens;
  private refreshing?: Promise<void>;
  private credentials?: Record<string, string>;
  private readonly transport: HttpTransport;

  constructor(private readonly options: ClientOptions = {}) {
    this.baseUrl = trimSlash(options.baseUrl ?? DEFAULT_BASE_URL);
    const base = this.baseUrl;
    const u = options.urls ?? {};
    this.urls = {
      identity: trimSlash(u.identity ?? base),
      documents: trimSlash(u.documents ?? base),
      'integration-bus': trimSlash(u['integration-bus'] ?? base),
      audit: trimSlash(u.audit ?? base),
    };
    this.grpcAddress = options.grpcAddress ?? `${new URL(this.urls.documents).hostname}:50052`;
    this.grpcTls = options.grpcTls ?? false;
    this.currentTokens = options.tokens;
    this.transport = options.transport ?? new HttpTransport(options.agent);
  }

  get tokens(): Tokens | undefined {
    return this.currentTokens;
  }

  /** Another client for other tokens sharing this one's sockets (cheap: one per user of a load test). */
  withTokens(tokens: Tokens | string | undefined): LienthongClient {
    return new LienthongClient({
      ...this.options,
      tokens: typeof tokens === 'string' ? { accessToken: tokens } : tokens,
      onTokens: undefined,
      transport: this.transport,
    });
  }

  /** Closes the kept-alive sockets (a CLI or script exits at once afterwards). */
  close(): void {
    this.transport.close();
  }

  // ── generic ─────────────────────────────────────────────────────────────────────────────────────────
  /** Any operation of the four OpenAPI documents by its id; throws LienthongApiError on a non-2xx answer. */
  async call<K extends OperationId>(operation: K, input: OperationInput<K> = {}): Promise<unknown> {
    const op = OPERATIONS[operation as string];
    if (!op) throw new Error(`unknown operation ${String(operation)}`);
    const params = (input.params ?? {}) as Record<string, string>;
    const path = op.path.replace(/\{(\w+)\}/g, (_, k: string) => {
      if (params[k] === undefined) throw new Error(`${String(operation)}: missing path parameter ${k}`);
      return encodeURIComponent(params[k]);
    });
    const r = await this.send(op.service, op.method, path, {
      query: input.query as Record<string, unknown> | undefined,
      body: input.body,
    });
    return ok(r, String(operation));
  }

  /** One request with this client's token (refreshed once on a 401); never throws on an HTTP status. */
  async send<T = any>(
    service: ServiceName,
    method: string,
    path: string,
    opts: SendOptions = {},
  ): Promise<HttpResponse<T>> {
    const url = this.urls[service] + path + queryString(opts.query);
    const body =
      opts.raw?.data ?? (opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body)));
    const headers: Record<string, string | number> = { Accept: 'application/json', ...opts.headers };
    if (body !== undefined) {
      headers['Content-Type'] = opts.raw?.contentType ?? 'application/json';
      headers['Content-Length'] = Buffer.byteLength(body);
    }
    const attempt = async () => {
      if (opts.auth !== false && this.currentTokens) {
        headers.Authorization = `Bearer ${this.currentTokens.accessToken}`;
      }
      return this.transport.request<T>({ method, url, headers, body });
    };
    let r = await attempt();
    if (r.status === 401 && opts.auth !== false && (await this.renew())) r = await attempt();
    return r;
  }

  // ── identity ────────────────────────────────────────────────────────────────────────────────────────
  readonly auth = {
    /** Password grant (with a TOTP code when the account has one). */
    login: (username: string, password: string, otp?: string) =>
      this.grant({ grant_type: 'password', username, password, ...(otp ? { otp } : {}) }),
    /** Client-credentials grant of a connected system; the secret stays in memory to grant again on expiry. */
    loginClient: async (clientId: string, clientSecret: string) => {
      const t = await this.grant({
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: clientSecret,
      });
      this.credentials = {
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: clientSecret,
      };
      return t;
    },
    refresh: async () => {
      const refreshToken = this.currentTokens?.refreshToken;
      if (!refreshToken) throw new Error('no refresh token: log in again');
      return this.grant({ grant_type: 'refresh_token', refresh_token: refreshToken });
    },
    /** Revokes the refresh and access tokens and forgets them. */
    logout: async () => {
      const t = this.currentTokens;
      if (t) {
        for (const token of [t.refreshToken, t.accessToken]) {
          if (token) await this.send('identity', 'POST', '/api/v1/auth/revoke', { body: { token } });
        }
      }
      this.setTokens(undefined);
    },
    me: async () => ok<Me>(await this.send('identity', 'GET', '/api/v1/auth/me'), 'Auth_me'),
  };

  readonly directory = {
    createOrganization: (body: Operations['Organizations_create']['body']) =>
      this.call('Organizations_create', { body }),
    createUser: (body: Operations['Users_create']['body']) => this.call('Users_create', { body }),
    createClient: (body: Operations['Clients_create']['body']) =>
      this.call('Clients_create', { body }) as Promise<{ clientId: string; clientSecret: string }>,
  };

  // ── documents ───────────────────────────────────────────────────────────────────────────────────────
  readonly documents = {
    create: (body: CreateDocumentDto & Record<string, unknown>) =>
      this.call('Documents_create', { body }) as Promise<DocumentView>,
    get: (id: string) => this.call('Documents_get', { params: { id } }) as Promise<DocumentView>,
    list: (query: Operations['Documents_list']['query'] = {}) =>
      this.call('Documents_list', { query }) as Promise<Page<DocumentView>>,
    incoming: (query: Omit<Operations['Documents_list']['query'], 'direction'> = {}) =>
      this.call('Documents_list', { query: { ...query, direction: 'incoming' } }) as Promise<
        Page<DocumentView>
      >,
    /** Every page of a listing, one document at a time. */
    all: (query: Operations['Documents_list']['query'] = {}) => this.pages(query),
    send: (id: string) => this.call('Documents_send', { params: { id } }) as Promise<SendResult>,
    status: (id: string, body: StatusChangeDto) =>
      this.call('Documents_status', { params: { id }, body }) as Promise<DocumentView>,
    accept: (id: string) =>
      this.call('Documents_status', {
        params: { id },
        body: { status: 'accepted' },
      }) as Promise<DocumentView>,
    recall: (id: string, reason: string) =>
      this.call('Documents_recall', { params: { id }, body: { reason } }),
    /** Business type 2: the sender corrects metadata of a sent document, with a reason. */
    update: (id: string, body: Operations['Documents_update']['body']) =>
      this.call('Documents_update', { params: { id }, body }),
    recipients: (id: string, query: Operations['Documents_recipients']['query'] = {}) =>
      this.call('Documents_recipients', { params: { id }, query }) as Promise<Page<unknown>>,
    /** Streams a file (a path, read in chunks, or bytes) as multipart field `file`, reporting progress. */
    upload: (id: string, source: UploadSource, options: UploadOptions = {}) =>
      this.upload(id, source, options),
  };

  /** Named recipient lists of the caller's organization. */
  readonly recipientGroups = {
    create: (body: Operations['RecipientGroups_create']['body']) =>
      this.call('RecipientGroups_create', { body }),
    list: () => this.call('RecipientGroups_list'),
    get: (id: string) => this.call('RecipientGroups_get', { params: { id } }),
    replace: (id: string, body: Operations['RecipientGroups_replace']['body']) =>
      this.call('RecipientGroups_replace', { params: { id }, body }),
    remove: (id: string) => this.call('RecipientGroups_remove', { params: { id } }),
  };

  /** Webhooks of the caller's organization (the secret is in the answer of `create` only). */
  readonly subscriptions = {
    create: (body: Operations['Subscriptions_create']['body']) =>
      this.call('Subscriptions_create', { body }) as Promise<{
        id: string;
        url: string;
        events: string[];
        secret: string;
      }>,
    list: () => this.call('Subscriptions_list'),
    get: (id: string) => this.call('Subscriptions_get', { params: { id } }),
    delete: (id: string) => this.call('Subscriptions_delete', { params: { id } }),
  };

  // ── integration bus ─────────────────────────────────────────────────────────────────────────────────
  readonly edxml = {
    /** An edXML package (role `exchange`): 202, or 200 with the first answer when already received. */
    post: async (xml: string | Buffer) =>
      ok<EdxmlAccepted>(
        await this.send('integration-bus', 'POST', '/api/v1/edxml', {
          raw: { contentType: 'application/xml', data: xml },
        }),
        'Edxml_receive',
      ),
    postStatus: async (xml: string | Buffer) =>
      ok(
        await this.send('integration-bus', 'POST', '/api/v1/edxml/status', {
          raw: { contentType: 'application/xml', data: xml },
        }),
        'Edxml_status',
      ),
  };

  readonly exchanges = {
    list: (query: Operations['Exchanges_list']['query'] = {}) =>
      this.call('Exchanges_list', { query }) as Promise<Page<Exchange>>,
    get: (id: string) => this.call('Exchanges_get', { params: { id } }) as Promise<Exchange>,
    retry: (id: string) => this.call('Exchanges_retry', { params: { id } }),
  };

  // ── audit ───────────────────────────────────────────────────────────────────────────────────────────
  readonly audit = {
    checkpoint: () => this.call('Audit_checkpoint') as Promise<Checkpoint>,
    keys: () => this.call('Audit_listKeys'),
    events: (query: Operations['Audit_list']['query'] = {}) =>
      this.call('Audit_list', { query }) as Promise<Page<unknown>>,
    inclusionProof: (query: Operations['Audit_inclusion']['query']) =>
      this.call('Audit_inclusion', { query }),
  };

  /** A refresh (or a new client-credentials grant) now; false when neither is possible or it was refused. */
  renewTokens(): Promise<boolean> {
    return this.renew();
  }

  // ── internals ───────────────────────────────────────────────────────────────────────────────────────
  setTokens(tokens: Tokens | undefined): void {
    this.currentTokens = tokens;
    this.options.onTokens?.(tokens);
  }

  private async grant(form: Record<string, string>): Promise<Tokens> {
    const r = await this.send<TokenResponse>('identity', 'POST', '/api/v1/auth/token', {
      body: form,
      auth: false,
    });
    const t = ok<TokenResponse>(r, `token (${form.grant_type})`);
    const tokens: Tokens = {
      accessToken: t.access_token,
      refreshToken: t.refresh_token ?? (form.grant_type === 'refresh_token' ? form.refresh_token : undefined),
      expiresAt: Date.now() + t.expires_in * 1000,
    };
    this.setTokens(tokens);
    return tokens;
  }

  /** After a 401: a refresh (or a new client-credentials grant), once for concurrent callers. */
  private async renew(): Promise<boolean> {
    if (!this.currentTokens?.refreshToken && !this.credentials) return false;
    this.refreshing ??= (
      this.currentTokens?.refreshToken ? this.auth.refresh() : this.grant(this.credentials!)
    ).then(
      () => undefined,
      () => this.setTokens(undefined),
    );
    const p = this.refreshing;
    await p;
    if (this.refreshing === p) this.refreshing = undefined;
    return !!this.currentTokens;
  }

  private async *pages(query: Operations['Documents_list']['query']): AsyncGenerator<DocumentView> {
    let cursor: string | undefined;
    do {
      const page = (await this.call('Documents_list', { query: { ...query, cursor } })) as Page<DocumentView>;
      yield* page.items;
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
  }

  private async upload(id: string, source: UploadSource, options: UploadOptions): Promise<Attachment> {
    const name = options.name ?? (typeof source === 'string' ? basename(source) : source.name);
    const total = typeof source === 'string' ? statSync(source).size : source.data.length;
    const boundary = `----lienthong${randomBytes(12).toString('hex')}`;
    const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${ascii}"; ` +
        `filename*=UTF-8''${encodeURIComponent(name)}\r\n` +
        `Content-Type: ${options.contentType ?? contentTypeOf(name)}\r\n\r\n`,
    );
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const body = async function* () {
      yield head;
      if (typeof source === 'string') yield* createReadStream(source, { highWaterMark: 256 * 1024 });
      else
        for (let i = 0; i < source.data.length; i += 256 * 1024)
          yield source.data.subarray(i, i + 256 * 1024);
      yield tail;
    };
    const url = `${this.urls.documents}/api/v1/documents/${encodeURIComponent(id)}/attachments`;
    const attempt = () =>
      this.transport.request<Attachment>({
        method: 'POST',
        url,
        headers: {
          Accept: 'application/json',
          'Content-Type': `multipart/form-data; boundary=${boundary}`,
          'Content-Length': head.length + total + tail.length,
          ...(this.currentTokens ? { Authorization: `Bearer ${this.currentTokens.accessToken}` } : {}),
        },
        body,
        signal: options.signal,
        onBodyProgress: (sent) =>
          options.onProgress?.({ sent: Math.max(0, Math.min(total, sent - head.length)), total }),
      });
    let r = await attempt();
    if (r.status === 401 && (await this.renew())) r = await attempt();
    return ok(r, 'Attachments_upload');
  }
}

function ok<T>(r: HttpResponse<unknown>, operation: string): T {
  if (r.status >= 200 && r.status < 300) return r.body as T;
  throw new LienthongApiError(r.status, r.body, operation);
}

function queryString(query?: Record<string, unknown>): string {
  if (!query) return '';
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    for (const item of Array.isArray(v) ? v : [v]) q.append(k, String(item));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

const trimSlash = (u: string) => u.replace(/\/+$/, '');

function contentTypeOf(name: string): string {
  const ext = name.toLowerCase().split('.').pop();
  return (
    { pdf: 'application/pdf', xml: 'application/xml', zip: 'application/zip', txt: 'text/plain' }[
      ext ?? ''
    ] ?? 'application/octet-stream'
  );
}
