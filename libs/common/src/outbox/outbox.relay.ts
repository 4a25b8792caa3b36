import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { Counter, Gauge } from 'prom-client';
import { DataSource } from 'typeorm';
import { BaseServiceConfig } from '../config/base-service.config';
import { preparedQuery } from '../database/prepared';
import { deferUntilCommit } from '../database/pipelining-client';
import { JetStreamService } from '../nats/jetstream.service';
import { METRICS_REGISTRY } from '../health/metrics.registry';
import type { Registry } from 'prom-client';
import { NATS_CONNECTION } from '../nats/nats.tokens';
import { OutboxCommitHook } from './outbox-wake';
import { AUDIT_RECORDED_BATCH, outboxWakeSubject, Subjects } from '@lienthong/contracts';
import { derivedUuid } from '../ids/derived-uuid';
import { AUDIT_MESSAGE_BYTES } from './audit-recorder';
import { currentTraceparent, inSpan, SpanKind } from '../tracing/tracing';

interface OutboxRow {
  seq: string;
  id: string;
  subject: string;
  /** The envelope as stored (text): published as it is, not parsed and serialized again. */
  json: string;
  type: string;
  correlationId: string | null;
  traceparent: string | null;
}

/** Batch messages the relay may split (type → the list in `data`), and the size above which it does. */
const SPLITTABLE: Record<string, string> = {
  [AUDIT_RECORDED_BATCH]: 'events',
  'document.status-changed-batch': 'statuses',
};
const SPLIT_ABOVE = 2 * AUDIT_MESSAGE_BYTES;

/**
 * Publishes the outbox to JetStream in `seq` order. One relay at a time per schema holds the batch (a
 * transaction-scoped advisory lock), so replicas do not reorder events. Rows are deleted in the same
 * transaction once JetStream acknowledged them; if NATS is down the transaction rolls back, the rows stay
 * and the relay retries with back-off. A crash between the ack and the commit republishes the same
 * `Nats-Msg-Id`, which the stream's duplicate window drops.
 *
 * Waking: a commit that wrote outbox rows wakes the relay of this process at once (OutboxCommitHook) and
 * publishes a core NATS message that wakes the relays of the other replicas; `OUTBOX_POLL_MS` is only the
 * fallback for a lost wake-up or a write outside an explicit transaction.
 */
@Injectable()
export class OutboxRelay implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OutboxRelay.name);
  private stopped = false;
  private running?: Promise<void>;
  private wake?: () => void;
  private pendingWake = false;
  private wakeSub?: Subscription;
  private wakeQueued = false;
  private failures = 0;
  private readonly published: Counter;
  private readonly failed: Counter;
  private readonly backlog: Gauge;

  constructor(
    private readonly dataSource: DataSource,
    private readonly js: JetStreamService,
    private readonly config: BaseServiceConfig,
    @Inject(METRICS_REGISTRY) registry: Registry,
    @Inject(NATS_CONNECTION) private readonly nc?: NatsConnection,
  ) {
    this.published = new Counter({
      name: 'outbox_published_total',
      help: 'Events published from the outbox',
      registers: [registry],
    });
    this.failed = new Counter({
      name: 'outbox_publish_failures_total',
      help: 'Failed outbox publish batches',
      registers: [registry],
    });
    this.backlog = new Gauge({
      name: 'outbox_batch_size',
      help: 'Rows in the last outbox batch',
      registers: [registry],
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    this.dataSource.subscribers.push(new OutboxCommitHook(() => this.committed()));
    try {
      this.wakeSub = this.nc?.subscribe(outboxWakeSubject(this.config.DB_SCHEMA), {
        callback: () => this.kick(),
      });
    } catch (e) {
      this.logger.warn(`wake-up subscription unavailable, polling only: ${(e as Error).message}`);
    }
    this.running = this.loop();
  }

  /** Wakes the relay now (e.g. after a commit in this process). */
  kick(): void {
    this.pendingWake = true;
    this.wake?.();
  }

  /** A local commit wrote outbox rows: wake here now, and the other replicas once per tick. */
  private committed(): void {
    this.kick();
    if (this.wakeQueued || !this.nc) return;
    this.wakeQueued = true;
    setImmediate(() => {
      this.wakeQueued = false;
      try {
        this.nc?.publish(outboxWakeSubject(this.config.DB_SCHEMA));
      } catch {
        // Closed or reconnecting: the other replicas' poll picks the rows up.
      }
    });
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      let n = 0;
      try {
        n = await this.drainOnce();
        this.failures = 0;
      } catch (e) {
        this.failures++;
        this.failed.inc();
        if (this.failures === 1 || this.failures % 20 === 0) {
          this.logger.warn(`outbox publish failed (${this.failures}x): ${(e as Error).message}`);
        }
      }
      if (this.stopped) break;
      if (n >= this.config.OUTBOX_BATCH_SIZE && this.failures === 0) continue;
      const delay =
        this.failures > 0
          ? Math.min(5000, 100 * 2 ** Math.min(this.failures, 6))
          : this.config.OUTBOX_POLL_MS;
      await this.sleep(delay, this.failures === 0);
    }
  }

  private sleep(ms: number, wakeable: boolean): Promise<void> {
    if (wakeable && this.pendingWake) {
      this.pendingWake = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        if (wakeable) {
          this.pendingWake = false;
          done();
        }
      };
    });
  }

  /** Publishes one batch; returns how many rows were published. */
  async drainOnce(): Promise<number> {
    return this.dataSource.transaction(async (m) => {
      // Named prepared statements. The lock is the SELECT's one-time filter (an InitPlan, evaluated once):
      // without it no row comes back. BEGIN goes on the wire with this SELECT (PipeliningClient).
      const rows = await preparedQuery<OutboxRow>(
        m,
        'lt_outbox_text_batch',
        // The stored text as it is; a row without `type` was written by a replica of the previous version
        // (envelope only) during a rolling upgrade: its three fields come from the envelope.
        `SELECT seq, id, subject, envelope AS json,
                CASE WHEN type IS NULL THEN envelope::jsonb->>'type' ELSE type END AS type,
                CASE WHEN type IS NULL THEN envelope::jsonb->>'correlationId' ELSE correlation_id END AS "correlationId",
                CASE WHEN type IS NULL THEN envelope::jsonb->>'traceparent' ELSE traceparent END AS traceparent
           FROM outbox WHERE (SELECT pg_try_advisory_xact_lock(hashtext($1)))
          ORDER BY seq LIMIT $2`,
        [`${this.config.DB_SCHEMA}.outbox`, this.config.OUTBOX_BATCH_SIZE],
      );
      if (rows.length === 0) return 0;
      this.backlog.set(rows.length);
      // Sent in order on one connection; acks awaited together.
      const results = await Promise.allSettled(rows.map((r) => this.publishRow(r)));
      const firstFailure = results.findIndex((r) => r.status === 'rejected');
      const ok = firstFailure === -1 ? rows.length : firstFailure;
      if (ok > 0) {
        // Exactly the rows published: a `seq <= last` range would also take rows that another transaction
        // committed (with a lower seq) after our SELECT, and they would never be published.
        // Sent with the COMMIT, after every publish was acknowledged (PipeliningClient).
        const del = {
          name: 'lt_outbox_delete',
          text: 'DELETE FROM outbox WHERE seq = ANY($1::bigint[])',
          values: [rows.slice(0, ok).map((r) => r.seq)],
        };
        await deferUntilCommit(m, del, () => preparedQuery(m, del.name, del.text, del.values));
        this.published.inc(ok);
      }
      if (firstFailure !== -1) {
        const reason = (results[firstFailure] as PromiseRejectedResult).reason as Error;
        if (ok === 0) throw reason;
        this.logger.warn(`outbox partially published (${ok}/${rows.length}): ${reason.message}`);
      }
      return ok;
    });
  }

  /**
   * One row, in a producer span (child of the span that wrote it) whose context the NATS header carries, so
   * consumers hang below the publish. A message that leaves the node (federation) goes without the
   * `traceparent` in its body: the trace context crosses, if at all, only as the W3C header.
   */
  private publishRow(r: OutboxRow): Promise<void> {
    const list = SPLITTABLE[r.type];
    if (list && r.json.length > SPLIT_ABOVE) return this.publishSplit(r, list);
    const meta = {
      id: r.id,
      type: r.type,
      correlationId: r.correlationId ?? undefined,
      traceparent: r.traceparent ?? undefined,
    };
    // Written outside any trace (or with tracing off): nothing to continue, the stored text goes as it is.
    if (!r.traceparent) return this.js.publishRaw(r.subject, r.json, meta);
    let json = r.json;
    if (Subjects.crossesNode(r.subject)) {
      const { traceparent: _local, ...rest } = JSON.parse(r.json) as Record<string, unknown>;
      json = JSON.stringify(rest);
    }
    return inSpan(
      `publish ${r.type}`,
      {
        kind: SpanKind.PRODUCER,
        parent: r.traceparent,
        attributes: {
          'messaging.system': 'nats',
          'messaging.operation.type': 'publish',
          'messaging.destination.name': r.subject,
          'messaging.message.id': r.id,
        },
      },
      () => this.js.publishRaw(r.subject, json, meta, currentTraceparent() ?? r.traceparent!),
    );
  }

  /**
   * A batch row too large for one NATS message (written before the writers split them: a 10,000-recipient
   * broadcast made an audit batch of ~8 MB and a status batch of ~3.5 MB, which NATS refused, and every later
   * row of the outbox then waited behind them) goes as several batches of the same items. The parts' ids are
   * derived from the row's, so a republish is dropped by the stream; the consumers apply each item (audit
   * event, status) once by its own id.
   */
  private async publishSplit(r: OutboxRow, list: string): Promise<void> {
    const envelope = JSON.parse(r.json) as { data: Record<string, unknown[]> } & Record<string, unknown>;
    const parts: unknown[][] = [];
    let part: unknown[] = [];
    let bytes = 0;
    for (const e of envelope.data[list]) {
      const size = JSON.stringify(e).length;
      if (part.length > 0 && bytes + size > AUDIT_MESSAGE_BYTES) {
        parts.push(part);
        part = [];
        bytes = 0;
      }
      part.push(e);
      bytes += size + 1;
    }
    if (part.length) parts.push(part);
    this.logger.warn(`outbox row ${r.id}: ${r.type} of ${r.json.length} bytes sent in ${parts.length} parts`);
    await Promise.all(
      parts.map((items, i) => {
        const id = derivedUuid(`${r.id}:part:${i}`);
        const json = JSON.stringify({ ...envelope, id, data: { ...envelope.data, [list]: items } });
        return this.js.publishRaw(r.subject, json, {
          id,
          type: r.type,
          correlationId: r.correlationId ?? undefined,
          traceparent: r.traceparent ?? undefined,
        });
      }),
    );
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    this.pendingWake = true;
    await this.running?.catch(() => undefined);
    this.wakeSub?.unsubscribe();
  }
}
