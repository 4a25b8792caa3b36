import { dirname, join } from 'node:path';
import type { LienthongClient } from './client';
import type { DocumentEvent, DocumentView } from './model';

export interface WatchOptions {
  /** Resume after this event's cursor ("" = only new events, "0" = every event kept). */
  cursor?: string;
  /** Event types (`document.incoming`, `document.status` …); empty = all. */
  events?: string[];
  signal?: AbortSignal;
  /** Polling interval when the server has no `Watch` (default 5 s). */
  pollIntervalMs?: number;
  /** Called once when the stream falls back to polling, with the reason. */
  onFallback?: (reason: string) => void;
  /** Called before the stream is opened again after the server ended or lost it, with the cursor resumed from. */
  onReconnect?: (cursor: string) => void;
}

/** gRPC status UNIMPLEMENTED: the server does not offer `Watch` (an older platform). */
const UNIMPLEMENTED = 12;
const UNAVAILABLE = 14;
const UNAUTHENTICATED = 16;
const MAX_RETRIES = 8;

interface GrpcWatchEvent {
  id: string;
  type: string;
  time: string;
  organizationCode: string;
  documentId: string;
  dataJson: string;
  cursor: string;
}

/**
 * The caller's organization's document events: the gRPC `Watch` stream of the documents service, or, when the
 * server answers UNIMPLEMENTED, polling of `GET /api/v1/documents?direction=incoming` (new documents as
 * `document.incoming`, changed statuses as `document.status`; no cursor, no other event types).
 */
export async function* watchEvents(
  client: LienthongClient,
  options: WatchOptions = {},
): AsyncGenerator<DocumentEvent> {
  let cursor = options.cursor;
  let received = false;
  let retries = 0;
  try {
    // A stream the server ends (a replica shutting down) or loses (UNAVAILABLE, once events have flowed) is
    // opened again after the last event received: nothing is missed, nothing repeated.
    while (!options.signal?.aborted) {
      try {
        for await (const e of grpcWatch(client, { ...options, cursor })) {
          received = true;
          retries = 0;
          if (e.cursor) cursor = e.cursor;
          yield e;
        }
      } catch (e) {
        const code = (e as { code?: number }).code;
        // The server ends a stream whose access token expired: refresh it and resume.
        if (code === UNAUTHENTICATED && received && retries < MAX_RETRIES && (await client.renewTokens())) {
          retries++;
          options.onReconnect?.(cursor ?? '');
          continue;
        }
        if (code !== UNAVAILABLE || !received || retries >= MAX_RETRIES) throw e;
      }
      if (options.signal?.aborted || retries >= MAX_RETRIES) return;
      options.onReconnect?.(cursor ?? '');
      await sleep(Math.min(30_000, 250 * 2 ** retries++), options.signal);
    }
    return;
  } catch (e) {
    const err = e as { code?: number; details?: string; message?: string };
    if (err.code !== UNIMPLEMENTED) throw e;
    options.onFallback?.(
      `the server at ${client.grpcAddress} does not implement Watch (UNIMPLEMENTED): polling ` +
        `GET /api/v1/documents?direction=incoming every ${(options.pollIntervalMs ?? 5000) / 1000} s instead`,
    );
  }
  yield* pollIncoming(client, options);
}

async function* grpcWatch(client: LienthongClient, options: WatchOptions): AsyncGenerator<DocumentEvent> {
  // Loaded here so a REST-only user of the client never loads gRPC.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const grpc = require('@grpc/grpc-js') as typeof import('@grpc/grpc-js');
  const protoLoader = require('@grpc/proto-loader') as typeof import('@grpc/proto-loader');
  /* eslint-enable @typescript-eslint/no-require-imports */
  // The .proto file of libs/contracts (its code is not loaded: the client needs only the file).
  const proto = join(
    dirname(require.resolve('@lienthong/contracts/package.json')),
    'proto',
    'documents.proto',
  );
  const def = protoLoader.loadSync(proto, {
    keepCase: false,
    longs: Number,
    enums: String,
    defaults: true,
    arrays: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    lienthong: { documents: { v1: { DocumentExchange: new (...a: unknown[]) => any } } };
  };
  const Service = pkg.lienthong.documents.v1.DocumentExchange;
  const stub = new Service(
    client.grpcAddress,
    client.grpcTls ? grpc.credentials.createSsl() : grpc.credentials.createInsecure(),
  );
  const metadata = new grpc.Metadata();
  if (client.tokens) metadata.set('authorization', `Bearer ${client.tokens.accessToken}`);
  const call = stub.watch({ cursor: options.cursor ?? '', events: options.events ?? [] }, metadata);
  const abort = () => call.cancel();
  options.signal?.addEventListener('abort', abort, { once: true });
  try {
    for await (const e of call as AsyncIterable<GrpcWatchEvent>) {
      let data: DocumentEvent['data'] = { documentId: e.documentId };
      try {
        data = { documentId: e.documentId, ...(JSON.parse(e.dataJson || '{}') as object) };
      } catch {
        /* keep the id */
      }
      yield {
        id: e.id,
        type: e.type,
        time: e.time,
        organizationCode: e.organizationCode,
        data,
        cursor: e.cursor,
      };
    }
  } catch (e) {
    if ((e as { code?: number }).code === grpc.status.CANCELLED && options.signal?.aborted) return;
    throw e;
  } finally {
    options.signal?.removeEventListener('abort', abort);
    stub.close();
  }
}

async function* pollIncoming(client: LienthongClient, options: WatchOptions): AsyncGenerator<DocumentEvent> {
  const seen = new Map<string, string | undefined>();
  const wanted = (type: string) => !options.events?.length || options.events.includes(type);
  let first = options.cursor !== '0';
  const org = (await client.auth.me()).organizationCode;
  while (!options.signal?.aborted) {
    const page = await client.documents.incoming({ limit: 500 });
    for (const d of page.items.slice().reverse()) {
      const known = seen.has(d.id);
      const before = seen.get(d.id);
      seen.set(d.id, d.status);
      if (first || (known && before === d.status)) continue;
      const type = known ? 'document.status' : 'document.incoming';
      if (wanted(type)) yield polledEvent(type, org, d);
    }
    first = false;
    await sleep(options.pollIntervalMs ?? 5000, options.signal);
  }
}

function polledEvent(type: string, org: string, d: DocumentView): DocumentEvent {
  return {
    id: `poll:${d.id}:${d.status ?? ''}`,
    type,
    time: new Date().toISOString(),
    organizationCode: org,
    data: {
      documentId: d.id,
      status: d.status,
      subject: d.subject,
      fromOrganizationCode: d.fromOrganizationCode,
      arrivalNumber: d.arrivalNumber,
    },
  };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
