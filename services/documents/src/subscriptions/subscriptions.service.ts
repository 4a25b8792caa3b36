import { Injectable } from '@nestjs/common';
import { badRequest, notFound, UnitOfWork, type Principal } from '@lienthong/common';
import { AuditActions } from '@lienthong/contracts';
import { randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import { DocumentsConfig } from '../config/documents.config';
import { isUuid } from '../documents/documents.repository';
import type { FeedEventType } from './organization-feed';
import type { CreateSubscriptionDto, ListSubscriptionsQuery } from './subscriptions.dto';
import { newWebhookSecret, SecretBox } from './webhook-signature';
import { WebhookTargets } from './webhook-targets';

interface SubscriptionRow {
  id: string;
  organization_code: string;
  url: string;
  events: FeedEventType[];
  cursor: string;
  created_at: Date;
  failures: number;
  next_attempt_at: Date;
  last_attempt_at: Date | null;
  last_delivered_at: Date | null;
  last_error: string | null;
}

/** One stored feed event, as webhooks and `Watch` tell it. */
export interface StoredFeedEvent {
  id: string;
  seq: number;
  type: FeedEventType;
  time: string;
  organizationCode: string;
  documentId: string;
  data: Record<string, unknown>;
}

const notFoundError = () => notFound('SUBSCRIPTION_NOT_FOUND', 'No such subscription');
const resource = (id: string) => ({ type: 'subscription', id });

/** Webhook subscriptions of an organization (API.md, additions of 2026-11-30) and reads of its feed. */
@Injectable()
export class SubscriptionsService {
  readonly secrets: SecretBox;

  constructor(
    private readonly ds: DataSource,
    private readonly uow: UnitOfWork,
    private readonly config: DocumentsConfig,
    private readonly targets: WebhookTargets,
  ) {
    this.secrets = new SecretBox(config.SUBSCRIPTIONS_SECRET_KEY);
  }

  /**
   * An absolute http(s) URL without credentials; https only in production unless SUBSCRIPTIONS_ALLOW_HTTP; a
   * host that is, or resolves to, a public address unless SUBSCRIPTIONS_ALLOW_PRIVATE allows it (SSRF guard,
   * checked again at every connection).
   */
  private async checkUrl(raw: string, p: Principal, id: string): Promise<void> {
    let problem: string | undefined;
    let url: URL | undefined;
    try {
      url = new URL(raw);
    } catch {
      problem = 'url must be an absolute http(s) URL';
    }
    if (url && url.protocol !== 'https:' && url.protocol !== 'http:')
      problem = 'url must be an absolute http(s) URL';
    else if (
      url?.protocol === 'http:' &&
      this.config.NODE_ENV === 'production' &&
      !this.config.SUBSCRIPTIONS_ALLOW_HTTP
    )
      problem = 'url must use https';
    else if (url && url.hash) problem = 'url must not have a fragment';
    else if (url && (url.username || url.password)) problem = 'url must not contain a user name or password';
    else if (url) {
      const origin = url.origin;
      problem = (await this.targets.registrationProblem(url)) ?? undefined;
      // A try at an internal target is worth an audit record (who, which origin), unlike a malformed URL.
      if (problem)
        await this.uow.run(async (tx) =>
          tx.audit({
            action: AuditActions.subscriptionCreated,
            actor: p,
            resource: resource(id),
            outcome: 'denied',
            details: { origin, reason: 'WEBHOOK_TARGET_NOT_PUBLIC' },
          }),
        );
    }
    if (problem)
      throw badRequest('VALIDATION_FAILED', `Invalid input: url`, [{ field: 'url', errors: [problem] }]);
  }

  async create(p: Principal, dto: CreateSubscriptionDto) {
    const id = randomUUID();
    await this.checkUrl(dto.url, p, id);
    const secret = newWebhookSecret();
    const events = [...dto.events];
    const row = await this.uow.run(async (tx) => {
      // Only events after the registration are delivered.
      const [r]: SubscriptionRow[] = await tx.manager.query(
        `INSERT INTO subscriptions (id, organization_code, url, events, secret, cursor, created_by)
         VALUES ($1, $2, $3, $4, $5,
           COALESCE((SELECT last_seq FROM organization_event_counters WHERE organization_code = $2), 0), $6)
         RETURNING *`,
        [id, p.organizationCode, dto.url, events, this.secrets.seal(secret), p.sub],
      );
      tx.audit({
        action: AuditActions.subscriptionCreated,
        actor: p,
        resource: resource(id),
        details: { events, origin: new URL(dto.url).origin },
      });
      return r;
    });
    return { ...view(row), secret };
  }

  async list(p: Principal, q: ListSubscriptionsQuery) {
    const limit = q.limit ?? 50;
    const after = q.cursor ? decodeCursor(q.cursor) : null;
    const rows: SubscriptionRow[] = await this.ds.query(
      `SELECT * FROM subscriptions WHERE organization_code = $1 AND ($2::uuid IS NULL OR id > $2::uuid)
       ORDER BY id LIMIT $3`,
      [p.organizationCode, after, limit + 1],
    );
    const page = rows.slice(0, limit);
    return {
      items: page.map(view),
      nextCursor: rows.length > limit ? Buffer.from(page[page.length - 1].id).toString('base64url') : null,
    };
  }

  private async find(m: EntityManager, p: Principal, id: string): Promise<SubscriptionRow> {
    if (!isUuid(id)) throw notFoundError();
    const [r]: SubscriptionRow[] = await m.query(
      'SELECT * FROM subscriptions WHERE id = $1 AND organization_code = $2',
      [id, p.organizationCode],
    );
    if (!r) throw notFoundError();
    return r;
  }

  async get(p: Principal, id: string) {
    const r = await this.find(this.ds.manager, p, id);
    const [{ n }] = await this.ds.query(
      `SELECT count(*)::int AS n FROM organization_events
       WHERE organization_code = $1 AND seq > $2 AND type = ANY($3::text[])`,
      [r.organization_code, r.cursor, r.events],
    );
    return {
      ...view(r),
      backlog: n as number,
      ...(r.last_delivered_at ? { lastDeliveredAt: r.last_delivered_at.toISOString() } : {}),
      ...(r.last_error ? { lastError: r.last_error } : {}),
      ...(r.last_attempt_at ? { lastAttemptAt: r.last_attempt_at.toISOString() } : {}),
      ...(r.failures > 0 ? { failures: r.failures, nextAttemptAt: r.next_attempt_at.toISOString() } : {}),
    };
  }

  async delete(p: Principal, id: string): Promise<void> {
    await this.uow.run(async (tx) => {
      const r = await this.find(tx.manager, p, id);
      await tx.manager.query('DELETE FROM subscriptions WHERE id = $1', [r.id]);
      tx.audit({
        action: AuditActions.subscriptionDeleted,
        actor: p,
        resource: resource(r.id),
        details: { events: r.events, origin: safeOrigin(r.url) },
      });
    });
  }

  get manager(): EntityManager {
    return this.ds.manager;
  }

  /** The last committed seq of an organization's feed (every event up to it is visible). */
  async lastSeq(m: EntityManager, organizationCode: string): Promise<number> {
    const [r] = await m.query(
      'SELECT last_seq FROM organization_event_counters WHERE organization_code = $1',
      [organizationCode],
    );
    return r ? Number(r.last_seq) : 0;
  }

  /** Events of an organization after `after` up to `upTo`, oldest first. */
  async events(
    m: EntityManager,
    organizationCode: string,
    after: number,
    upTo: number,
    types: readonly string[] | null,
    limit: number,
  ): Promise<StoredFeedEvent[]> {
    const rows: {
      id: string;
      seq: string;
      type: FeedEventType;
      time: Date;
      organization_code: string;
      document_id: string;
      data: Record<string, unknown>;
    }[] = await m.query(
      `SELECT id, seq, type, time, organization_code, document_id, data FROM organization_events
       WHERE organization_code = $1 AND seq > $2 AND seq <= $3 AND ($4::text[] IS NULL OR type = ANY($4::text[]))
       ORDER BY seq LIMIT $5`,
      [organizationCode, after, upTo, types && types.length ? types : null, limit],
    );
    return rows.map((r) => ({
      id: r.id,
      seq: Number(r.seq),
      type: r.type,
      time: r.time.toISOString(),
      organizationCode: r.organization_code,
      documentId: r.document_id,
      data: r.data,
    }));
  }
}

function view(r: SubscriptionRow) {
  return { id: r.id, url: r.url, events: r.events, createdAt: r.created_at.toISOString() };
}

function safeOrigin(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!isUuid(id))
    throw badRequest('VALIDATION_FAILED', 'Invalid input: cursor', [
      { field: 'cursor', errors: ['cursor is not one this API issued'] },
    ]);
  return id;
}
