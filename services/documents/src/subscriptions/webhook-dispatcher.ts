import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { METRICS_REGISTRY } from '@lienthong/common';
import { Counter, Gauge, type Registry } from 'prom-client';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { DocumentsConfig } from '../config/documents.config';
import { FeedWake } from './feed-wake';
import { signatureHeader } from './webhook-signature';
import { SubscriptionsService, type StoredFeedEvent } from './subscriptions.service';
import { WebhookTargetRefused, WebhookTargets } from './webhook-targets';

interface Claimed {
  id: string;
  organization_code: string;
  url: string;
  events: string[];
  secret: string;
  cursor: string;
  failures: number;
}

/** Events fetched per round of one subscription. */
const PAGE = 100;
/** How long a claim holds without progress (renewed by each acknowledged event). */
const leaseMs = (timeoutMs: number) => Math.max(30_000, timeoutMs * 3);
const PRUNE_EVERY_MS = 3_600_000;

/** Exponential back-off with "equal jitter": half fixed, half random, capped. */
export function retryDelayMs(failures: number, baseMs: number, maxMs: number, random = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(failures - 1, 0), 30));
  return Math.round(exp / 2 + (exp / 2) * random());
}

/** The JSON body of one webhook (API.md): `{id, type, time, organizationCode, data:{documentId, …}}`. */
export function webhookBody(e: StoredFeedEvent): string {
  return JSON.stringify({
    id: e.id,
    type: e.type,
    time: e.time,
    organizationCode: e.organizationCode,
    data: { documentId: e.documentId, ...e.data },
  });
}

/**
 * Delivers each subscription's events to its URL, in feed order, one request at a time per subscription;
 * its cursor moves only after a 2xx (at least once, in order). Replicas share the work: a subscription is
 * claimed with a lease (FOR UPDATE SKIP LOCKED), so one process delivers it at a time; an expired lease
 * (a crashed process) lets another take over. A failure stores `lastError` and waits with back-off.
 * Woken by FeedWake at each committed feed write, with SUBSCRIPTIONS_POLL_MS as fallback.
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(WebhookDispatcher.name);
  private readonly owner = randomUUID();
  private readonly active = new Map<string, Promise<void>>();
  private readonly abort = new AbortController();
  private running?: Promise<void>;
  private kicked = false;
  private sleeping?: AbortController;
  private lastPrune = 0;
  private readonly delivered: Counter;
  private readonly failedAttempts: Counter;
  private readonly inFlight: Gauge;

  constructor(
    private readonly ds: DataSource,
    private readonly config: DocumentsConfig,
    private readonly wake: FeedWake,
    private readonly subscriptions: SubscriptionsService,
    private readonly targets: WebhookTargets,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    this.delivered = new Counter({
      name: 'webhook_deliveries_total',
      help: 'Webhook events acknowledged by their receivers (2xx)',
      registers: [registry],
    });
    this.failedAttempts = new Counter({
      name: 'webhook_delivery_failures_total',
      help: 'Webhook attempts that failed (non-2xx, timeout, connection error)',
      registers: [registry],
    });
    this.inFlight = new Gauge({
      name: 'webhook_subscriptions_active',
      help: 'Subscriptions being delivered by this process',
      registers: [registry],
    });
  }

  onApplicationBootstrap(): void {
    if (!this.config.SUBSCRIPTIONS_DISPATCHER) return;
    this.running = this.loop();
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const since = this.wake.generation;
      try {
        await this.claimAndStart();
        await this.pruneIfDue();
      } catch (e) {
        if (!this.stopped) this.logger.warn(`webhook dispatch round failed: ${(e as Error).message}`);
      }
      if (this.stopped) break;
      if (this.kicked) {
        this.kicked = false; // a subscription was released meanwhile: it may have more to deliver
        continue;
      }
      this.sleeping = new AbortController();
      await this.wake.wait(
        this.config.SUBSCRIPTIONS_POLL_MS,
        AbortSignal.any([this.abort.signal, this.sleeping.signal]),
        since,
      );
      this.sleeping = undefined;
    }
  }

  /** Claims due subscriptions with something to deliver, up to the free slots, and starts them. */
  private async claimAndStart(): Promise<number> {
    const free = this.config.SUBSCRIPTIONS_CONCURRENCY - this.active.size;
    if (free <= 0) return 0;
    const rows: Claimed[] = await this.ds.query(
      `WITH claimed AS (
       UPDATE subscriptions s SET lease_owner = $1, lease_until = now() + $2 * interval '1 millisecond'
       WHERE s.id IN (
         SELECT c.id FROM subscriptions c
         JOIN organization_event_counters k ON k.organization_code = c.organization_code
         WHERE k.last_seq > c.cursor AND c.next_attempt_at <= now()
           AND (c.lease_until IS NULL OR c.lease_until < now())
         ORDER BY c.next_attempt_at
         LIMIT $3
         FOR UPDATE OF c SKIP LOCKED)
       RETURNING s.id, s.organization_code, s.url, s.events, s.secret, s.cursor, s.failures)
       SELECT * FROM claimed`,
      [this.owner, leaseMs(this.config.SUBSCRIPTIONS_TIMEOUT_MS), free],
    );
    for (const r of rows) {
      const run = (async () => {
        try {
          await this.deliver(r);
        } catch (e) {
          if (!this.stopped) {
            // Not the receiver's fault (e.g. the database, an unreadable secret): wait like after a failure.
            this.logger.warn(`subscription ${r.id}: ${(e as Error).message}`);
            await this.failed(r.id, r.failures + 1, `not delivered: ${(e as Error).message}`).catch(
              () => undefined,
            );
          }
        } finally {
          await this.release(r.id).catch(() => undefined);
          this.active.delete(r.id);
          this.inFlight.set(this.active.size);
          this.kick();
        }
      })();
      this.active.set(r.id, run);
    }
    this.inFlight.set(this.active.size);
    return rows.length;
  }

  private kick(): void {
    this.kicked = true;
    this.sleeping?.abort();
  }

  private async release(id: string): Promise<void> {
    await this.ds.query(
      'UPDATE subscriptions SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2',
      [id, this.owner],
    );
  }

  /** Delivers one claimed subscription's backlog in order until done, a failure, or the loss of its claim. */
  private async deliver(s: Claimed): Promise<void> {
    const secret = this.subscriptions.secrets.open(s.secret);
    let cursor = Number(s.cursor);
    let failures = s.failures;
    while (!this.stopped) {
      const upTo = await this.subscriptions.lastSeq(this.ds.manager, s.organization_code);
      if (upTo <= cursor) return;
      const events = await this.subscriptions.events(
        this.ds.manager,
        s.organization_code,
        cursor,
        upTo,
        s.events,
        PAGE,
      );
      for (const e of events) {
        if (this.stopped) return;
        const outcome = await this.post(s, secret, e, failures + 1);
        if (outcome.ok) {
          failures = 0;
          cursor = e.seq;
          this.delivered.inc();
          if (!(await this.acknowledged(s.id, cursor))) return; // deleted, or the claim was lost
        } else {
          if (this.stopped) return; // shutting down: not the receiver's failure; the claim is released
          this.failedAttempts.inc();
          await this.failed(s.id, failures + 1, outcome.error);
          return;
        }
      }
      // Everything matching up to `upTo` is acknowledged: skip the events this subscription does not want.
      if (events.length < PAGE) {
        cursor = upTo;
        if (!(await this.acknowledged(s.id, cursor, false))) return;
      }
    }
  }

  private async post(
    s: Claimed,
    secret: string,
    e: StoredFeedEvent,
    attempt: number,
  ): Promise<{ ok: true } | { ok: false; error: string }> {
    const body = webhookBody(e);
    const t = Math.floor(Date.now() / 1000);
    // API.md: `Lienthong-Delivery: <id>` is the body's `id` (the event's), the same on every retry.
    const deliveryId = e.id;
    const started = Date.now();
    let status: number | null = null;
    let error: string | null = null;
    const timeout = AbortSignal.timeout(this.config.SUBSCRIPTIONS_TIMEOUT_MS);
    try {
      // Through the SSRF guard: the host is resolved once, every address checked, no redirect followed.
      status = await this.targets.post(
        s.url,
        {
          'Content-Type': 'application/json',
          'User-Agent': 'Lienthong-Webhooks/1',
          'Lienthong-Event': e.type,
          'Lienthong-Delivery': deliveryId,
          'Lienthong-Signature': signature(secret, body, t),
        },
        body,
        AbortSignal.any([timeout, this.abort.signal]),
      );
      if (status < 200 || status >= 300) error = `HTTP ${status}`;
    } catch (err) {
      error = describeError(err, timeout.aborted, this.config.SUBSCRIPTIONS_TIMEOUT_MS);
    }
    const duration = Date.now() - started;
    await this.ds
      .query(
        `INSERT INTO subscription_deliveries (subscription_id, event_id, seq, attempt, status_code, error, duration_ms)
         SELECT $1, $2, $3, $4, $5, $6, $7 WHERE EXISTS (SELECT 1 FROM subscriptions WHERE id = $1)`,
        [s.id, e.id, e.seq, attempt, status, error, duration],
      )
      .catch(() => undefined); // the attempt log is informative; a failure to write it must not block delivery
    return error === null ? { ok: true } : { ok: false, error };
  }

  /** Moves the cursor (only forward) and renews the claim; false when the subscription is gone or not ours. */
  private async acknowledged(id: string, cursor: number, delivered = true): Promise<boolean> {
    // Wrapped in a SELECT: TypeORM answers a bare UPDATE … RETURNING with [rows, count].
    const rows: unknown[] = await this.ds.query(
      `WITH moved AS (
         UPDATE subscriptions SET cursor = GREATEST(cursor, $3), failures = 0,
           lease_until = now() + $4 * interval '1 millisecond'
           ${delivered ? ', last_delivered_at = now(), last_attempt_at = now(), last_error = NULL' : ''}
         WHERE id = $1 AND lease_owner = $2 RETURNING id)
       SELECT id FROM moved`,
      [id, this.owner, cursor, leaseMs(this.config.SUBSCRIPTIONS_TIMEOUT_MS)],
    );
    return rows.length > 0;
  }

  private async failed(id: string, failures: number, error: string): Promise<void> {
    const delay = retryDelayMs(
      failures,
      this.config.SUBSCRIPTIONS_RETRY_BASE_MS,
      this.config.SUBSCRIPTIONS_RETRY_MAX_MS,
    );
    await this.ds.query(
      `UPDATE subscriptions SET failures = $3, last_error = $4, last_attempt_at = now(),
         next_attempt_at = now() + $5 * interval '1 millisecond', lease_owner = NULL, lease_until = NULL
       WHERE id = $1 AND lease_owner = $2`,
      [id, this.owner, failures, error.slice(0, 500), delay],
    );
  }

  /** Feed rows and delivery attempts older than FEED_RETENTION_DAYS go (one replica at a time). */
  private async pruneIfDue(): Promise<void> {
    if (Date.now() - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = Date.now();
    await this.prune();
  }

  /** Prunes now; returns how many feed rows were removed. */
  async prune(): Promise<number> {
    return this.ds.transaction(async (m) => {
      const [{ locked }] = await m.query(
        'SELECT pg_try_advisory_xact_lock(hashtext(current_schema() || $1)) AS locked',
        ['.feed-prune'],
      );
      if (!locked) return 0;
      const days = this.config.FEED_RETENTION_DAYS;
      const [{ n }] = await m.query(
        `WITH gone AS (DELETE FROM organization_events WHERE time < now() - $1 * interval '1 day' RETURNING 1)
         SELECT count(*)::int AS n FROM gone`,
        [days],
      );
      await m.query(`DELETE FROM subscription_deliveries WHERE at < now() - $1 * interval '1 day'`, [days]);
      return n as number;
    });
  }

  /** Before the database closes: stop claiming, abort requests in flight, release the claims. */
  async beforeApplicationShutdown(): Promise<void> {
    this.abort.abort();
    await this.running;
    await Promise.allSettled([...this.active.values()]);
    this.targets.close();
  }
}

function signature(secret: string, body: string, t: number): string {
  return signatureHeader(secret, body, t);
}

function describeError(err: unknown, timedOut: boolean, timeoutMs: number): string {
  if (err instanceof WebhookTargetRefused) return `refused: ${err.message}`.slice(0, 500);
  if (timedOut) return `timeout after ${timeoutMs} ms`;
  const e = err as { name?: string; message?: string; code?: string };
  if (e?.name === 'AbortError') return 'aborted (shutting down)';
  return `connection error: ${e?.code ?? e?.message ?? 'unknown'}`.slice(0, 500);
}
