import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import {
  DomainError,
  JwtVerifier,
  runWithCorrelationId,
  sanitizeCorrelationId,
  toFieldErrors,
  type Principal,
} from '@lienthong/common';
import { ProtoFiles, type Role } from '@lienthong/contracts';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { DocumentsConfig } from '../config/documents.config';
import {
  CreateDocumentDto,
  ListDocumentsQuery,
  RecallDto,
  StatusChangeDto,
  UpdateDocumentDto,
} from '../documents/documents.dto';
import { DocumentsService } from '../documents/documents.service';
import { FeedWake } from '../subscriptions/feed-wake';
import { FEED_EVENT_TYPES } from '../subscriptions/organization-feed';
import { SubscriptionsService } from '../subscriptions/subscriptions.service';

const GRPC_STATUS: Record<number, grpc.status> = {
  400: grpc.status.INVALID_ARGUMENT,
  401: grpc.status.UNAUTHENTICATED,
  403: grpc.status.PERMISSION_DENIED,
  404: grpc.status.NOT_FOUND,
  409: grpc.status.ABORTED,
  413: grpc.status.RESOURCE_EXHAUSTED,
  422: grpc.status.FAILED_PRECONDITION,
  429: grpc.status.RESOURCE_EXHAUSTED,
  503: grpc.status.UNAVAILABLE,
};

interface WatchRequest {
  cursor?: string;
  events?: string[];
}
const WATCH_ROLES: Role[] = ['clerk', 'exchange'];
const WATCH_PAGE = 500;
/** A Watch stream re-verifies its token this often (expiry, revocation). */
const TOKEN_RECHECK_MS = 2000;

type Handler<Req, Res> = (p: Principal, req: Req) => Promise<Res>;

/**
 * `lienthong.documents.v1.DocumentExchange` on GRPC_PORT: the REST rules through the same services, the
 * same bearer tokens (metadata `authorization`) and the same error codes (metadata `error-code`).
 */
@Injectable()
export class DocumentsGrpcServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(DocumentsGrpcServer.name);
  private server?: grpc.Server;
  /** Ends the live `Watch` streams at shutdown. */
  private readonly shutdown = new AbortController();
  /** The bound port (differs from GRPC_PORT when that is 0). */
  port = 0;

  constructor(
    private readonly config: DocumentsConfig,
    private readonly verifier: JwtVerifier,
    private readonly documents: DocumentsService,
    private readonly subscriptions: SubscriptionsService,
    private readonly wake: FeedWake,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const def = protoLoader.loadSync(ProtoFiles.documents(), {
      keepCase: false,
      longs: Number,
      enums: String,
      defaults: false,
      arrays: true,
      oneofs: true,
    });
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      lienthong: { documents: { v1: { DocumentExchange: grpc.ServiceClientConstructor } } };
    };
    const server = new grpc.Server();
    server.addService(pkg.lienthong.documents.v1.DocumentExchange.service, {
      createDocument: this.unary(['clerk'], async (p, req: Record<string, unknown>) => {
        const dto = await this.validated(CreateDocumentDto, { recipients: [], ...withRules(req) });
        return this.documents.create(p, dto);
      }),
      sendDocument: this.unary(['clerk'], (p, req: { id?: string }) => this.documents.send(p, req.id ?? '')),
      getDocument: this.unary([], (p, req: { id?: string }) => this.documents.read(p, req.id ?? '')),
      listIncoming: this.unary([], async (p, req: Record<string, unknown>) => {
        const q = await this.validated(ListDocumentsQuery, { ...req, direction: 'incoming' });
        const page = await this.documents.list(p, q);
        return { items: page.items, nextCursor: page.nextCursor ?? '' };
      }),
      updateStatus: this.unary(
        ['clerk', 'leader', 'specialist'],
        async (p, req: { id?: string } & Record<string, unknown>) => {
          const { id, ...body } = req;
          const dto = await this.validated(StatusChangeDto, body);
          return this.documents.changeStatus(p, id ?? '', dto);
        },
      ),
      updateDocument: this.unary(
        ['clerk'],
        async (p, req: { id?: string; reason?: string; changes?: Record<string, unknown> }) => {
          const dto = await this.validated(UpdateDocumentDto, {
            reason: req.reason,
            changes: req.changes ? withoutEmpty(req.changes) : req.changes,
          });
          return this.documents.update(p, req.id ?? '', dto);
        },
      ),
      recallDocument: this.unary(['clerk', 'leader'], async (p, req: { id?: string; reason?: string }) => {
        const dto = await this.validated(RecallDto, { reason: req.reason });
        return this.documents.recall(p, req.id ?? '', dto);
      }),
      watch: (call: grpc.ServerWritableStream<WatchRequest, unknown>) => void this.watch(call),
    });
    this.port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${this.config.HOST}:${this.config.GRPC_PORT}`, this.credentials(), (err, port) =>
        err ? reject(err) : resolve(port),
      ),
    );
    this.server = server;
    this.logger.log(`gRPC DocumentExchange on port ${this.port}`);
  }

  /** TLS when GRPC_TLS_CERT/GRPC_TLS_KEY are set (the config requires them in production), else plaintext. */
  private credentials(): grpc.ServerCredentials {
    const { GRPC_TLS_CERT: cert, GRPC_TLS_KEY: key } = this.config;
    if (!cert || !key) {
      this.logger.warn('gRPC without TLS (set GRPC_TLS_CERT and GRPC_TLS_KEY)');
      return grpc.ServerCredentials.createInsecure();
    }
    return grpc.ServerCredentials.createSsl(
      null,
      [{ cert_chain: pem(cert, 'GRPC_TLS_CERT'), private_key: pem(key, 'GRPC_TLS_KEY') }],
      false,
    );
  }

  private async authenticate(metadata: grpc.Metadata, roles: Role[]): Promise<Principal> {
    const auth = String(metadata.get('authorization')[0] ?? '');
    const m = /^Bearer\s+(\S+)$/i.exec(auth);
    if (!m) throw new DomainError(401, 'UNAUTHORIZED', 'A bearer token is required');
    const p = await this.verifier.verify(m[1]);
    if (roles.length > 0 && !roles.some((r) => p.roles.includes(r))) {
      throw new DomainError(403, 'FORBIDDEN', 'Your roles do not allow this action');
    }
    return p;
  }

  /**
   * `Watch`: the caller's organization's feed from `cursor` ("" = only new events, "0" = all kept), then live
   * (woken by each committed feed write). The token is checked again while the stream lasts: an expired or
   * revoked token ends it with UNAUTHENTICATED (resume with a new token and the last cursor).
   */
  private async watch(call: grpc.ServerWritableStream<WatchRequest, unknown>): Promise<void> {
    const cid = sanitizeCorrelationId(call.metadata.get('x-correlation-id')[0]) ?? randomUUID();
    const ended = new AbortController();
    call.on('cancelled', () => ended.abort());
    call.on('close', () => ended.abort());
    // At shutdown the stream ends normally; the client resumes from its last cursor on another replica.
    const stop = () => {
      if (ended.signal.aborted) return;
      ended.abort();
      call.end();
    };
    this.shutdown.signal.addEventListener('abort', stop, { once: true });
    ended.signal.addEventListener('abort', () => this.shutdown.signal.removeEventListener('abort', stop), {
      once: true,
    });
    try {
      const p = await this.authenticate(call.metadata, WATCH_ROLES);
      const { cursor = '', events = [] } = call.request ?? {};
      const fields = [];
      if (!/^\d{0,18}$/.test(cursor))
        fields.push({ field: 'cursor', errors: ['cursor must be "" or one a WatchEvent gave'] });
      const unknown = events.filter((e) => !(FEED_EVENT_TYPES as readonly string[]).includes(e));
      if (unknown.length) fields.push({ field: 'events', errors: [`unknown events: ${unknown.join(', ')}`] });
      if (fields.length)
        throw new DomainError(
          400,
          'VALIDATION_FAILED',
          `Invalid input: ${fields.map((f) => f.field).join(', ')}`,
          fields,
        );
      const m = this.subscriptions;
      const manager = this.documentsManager();
      let after = cursor === '' ? await m.lastSeq(manager, p.organizationCode) : Number(cursor);
      let checked = Date.now();
      while (!ended.signal.aborted) {
        if (Date.now() - checked >= TOKEN_RECHECK_MS) {
          await this.authenticate(call.metadata, WATCH_ROLES);
          checked = Date.now();
        }
        const since = this.wake.generation;
        const upTo = await m.lastSeq(manager, p.organizationCode);
        if (upTo > after) {
          const page = await m.events(manager, p.organizationCode, after, upTo, events, WATCH_PAGE);
          for (const e of page) {
            if (ended.signal.aborted) return;
            const more = call.write({
              id: e.id,
              type: e.type,
              time: e.time,
              organizationCode: e.organizationCode,
              documentId: e.documentId,
              dataJson: JSON.stringify({ documentId: e.documentId, ...e.data }),
              cursor: String(e.seq),
            });
            if (!more) await Promise.race([once(call, 'drain'), once(ended.signal, 'abort')]);
          }
          after = page.length < WATCH_PAGE ? upTo : page[page.length - 1].seq;
          continue;
        }
        await this.wake.wait(
          Math.min(this.config.SUBSCRIPTIONS_POLL_MS, TOKEN_RECHECK_MS),
          ended.signal,
          since,
        );
      }
    } catch (e) {
      if (!ended.signal.aborted) call.emit('error', this.toGrpcError(e, cid));
    }
  }

  private documentsManager() {
    return this.subscriptions.manager;
  }

  private unary<Req, Res>(roles: Role[], fn: Handler<Req, Res>): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      const cid = sanitizeCorrelationId(call.metadata.get('x-correlation-id')[0]) ?? randomUUID();
      void runWithCorrelationId(cid, async () => {
        try {
          const p = await this.authenticate(call.metadata, roles);
          callback(null, await fn(p, call.request));
        } catch (e) {
          callback(this.toGrpcError(e, cid));
        }
      });
    };
  }

  private async validated<T extends object>(cls: new () => T, plain: Record<string, unknown>): Promise<T> {
    const dto = plainToInstance(cls, withoutEmpty(plain));
    const errors = await validate(dto, { whitelist: true, forbidNonWhitelisted: true });
    if (errors.length > 0) {
      const fields = toFieldErrors(errors);
      throw new DomainError(
        400,
        'VALIDATION_FAILED',
        `Invalid input: ${fields.map((f) => f.field).join(', ')}`,
        fields,
      );
    }
    return dto;
  }

  private toGrpcError(e: unknown, correlationId: string): Partial<grpc.StatusObject> {
    const metadata = new grpc.Metadata();
    metadata.set('x-correlation-id', correlationId);
    if (e instanceof DomainError) {
      metadata.set('error-code', e.code);
      if (e.fields) metadata.set('error-fields', e.fields.map((f) => f.field).join(','));
      return { code: GRPC_STATUS[e.status] ?? grpc.status.UNKNOWN, details: e.message, metadata };
    }
    this.logger.error(`gRPC handler failed: ${(e as Error)?.message}`);
    metadata.set('error-code', 'INTERNAL');
    return { code: grpc.status.INTERNAL, details: 'Internal error', metadata };
  }

  async onApplicationShutdown(): Promise<void> {
    this.shutdown.abort();
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 2000);
      server.tryShutdown(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}

/** proto3 cannot tell an empty string from an absent one: empty optional strings count as absent. */
function withoutEmpty(plain: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(plain).filter(([, v]) => v !== '' && v !== undefined && v !== null),
  );
}

/** PEM given as text (with `\n` escapes allowed in env files) or as a file path. */
function pem(value: string, name: string): Buffer {
  if (value.includes('-----BEGIN')) return Buffer.from(value.replace(/\\n/g, '\n'), 'utf8');
  if (existsSync(value)) return readFileSync(value);
  throw new Error(`${name} is neither PEM text nor a readable file`);
}

/** proto3 cannot tell an empty string from an absent one: a rule's empty `level`/`sector` means any. */
function withRules(req: Record<string, unknown>): Record<string, unknown> {
  const rules = req.recipientRules;
  if (!Array.isArray(rules)) return req;
  return {
    ...req,
    recipientRules: rules.map((r: unknown) =>
      r && typeof r === 'object'
        ? Object.fromEntries(Object.entries(r).filter(([, v]) => v !== '' && v !== undefined && v !== null))
        : r,
    ),
  };
}
