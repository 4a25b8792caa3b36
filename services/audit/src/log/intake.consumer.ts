import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { JetStreamService, METRICS_REGISTRY, PoisonMessageError } from '@lienthong/common';
import {
  AUDIT_RECORDED,
  auditPayloadsOf,
  AuditEventPayload,
  Headers,
  Streams,
  Subjects,
} from '@lienthong/contracts';
import { AckPolicy, DeliverPolicy, type JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders, nanos } from '@nats-io/transport-node';
import { Counter, type Registry } from 'prom-client';
import { CheckpointService } from '../checkpoint/checkpoint.service';
import { AuditConfig } from '../config/audit.config';
import { parseAuditEvent } from './intake.parse';
import { LogRepository, type PreparedBatch } from './log.repository';

const DURABLE = 'audit-log';
const MAX_DELIVER = 5;
const BACKOFF_MS = [200, 1000, 5000, 15000];
const COMMITS_IN_FLIGHT = 2;

/** A message and the events it carries (one, or several for `audit.recorded-batch`). */
interface IntakeItem {
  msg: JsMsg;
  events: AuditEventPayload[];
}

/**
 * Durable JetStream consumer of every service's audit events. It fetches whole batches (up to
 * AUDIT_BATCH_SIZE) and appends each in one transaction; acks only after the commit. It uses its own fetch
 * loop rather than JetStreamService.consume because that loop can hold the last partial batch of a burst
 * un-acked until ack_wait expires (see the report); dead-lettering follows the same conventions (subject
 * `Subjects.deadLetter(stream, durable)`, the same headers, `term` after the copy is stored).
 */
@Injectable()
export class IntakeConsumer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(IntakeConsumer.name);
  private stopped = false;
  private running?: Promise<void>;
  private readonly taken: Counter<'action' | 'outcome'>;

  constructor(
    private readonly js: JetStreamService,
    private readonly log: LogRepository,
    private readonly checkpoints: CheckpointService,
    private readonly config: AuditConfig,
    @Inject(METRICS_REGISTRY) registry: Registry,
  ) {
    // Every service's security events pass through here: login failure spikes are read off this counter.
    this.taken = new Counter({
      name: 'audit_events_total',
      help: 'Audit events committed to the log, by action and outcome (a redelivered event may count twice)',
      labelNames: ['action', 'outcome'],
      registers: [registry],
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.AUDIT_INTAKE_ENABLED) return;
    const stream = Streams.audit().name;
    await this.js.ensureStream(Streams.deadLetters());
    const jsm = await this.js.manager();
    const batch = this.config.AUDIT_BATCH_SIZE;
    const cfg = {
      ack_wait: nanos(30_000),
      max_deliver: MAX_DELIVER,
      filter_subject: Subjects.auditAll(),
      max_ack_pending: Math.max(1000, batch * 8),
    };
    try {
      await jsm.consumers.info(stream, DURABLE);
      await jsm.consumers.update(stream, DURABLE, cfg);
    } catch {
      try {
        await jsm.consumers.add(stream, {
          durable_name: DURABLE,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.All,
          ...cfg,
        });
      } catch (e) {
        // Another replica created it meanwhile.
        if (!String((e as Error).message).includes('already')) throw e;
      }
    }
    const consumer = await this.js.js.consumers.get(stream, DURABLE);
    this.running = (async () => {
      // Up to COMMITS_IN_FLIGHT appends in flight while the next batch is fetched, validated and prepared
      // (JSON, leaf hashes): the database work, the round trips and the CPU work overlap. The second append
      // is sent behind the first and applies only on top of it (LogRepository.appendAtTip), so batches
      // still commit in stream order unless one fails and is retried.
      const inflight: Promise<void>[] = [];
      while (!this.stopped) {
        try {
          const msgs: JsMsg[] = [];
          const iter = await consumer.fetch({ max_messages: batch, expires: 1000 });
          for await (const m of iter) msgs.push(m);
          if (msgs.length === 0) continue;
          const items = await this.parse(msgs);
          const prepared = this.prepare(items);
          while (inflight.length >= COMMITS_IN_FLIGHT) await inflight.shift();
          inflight.push(
            this.commit(items, prepared).catch((e: Error) =>
              this.logger.error(`audit intake batch failed: ${e.message}`),
            ),
          );
        } catch (e) {
          if (this.stopped) break;
          this.logger.warn(`audit intake interrupted: ${(e as Error).message}; retrying`);
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
      await Promise.all(inflight);
    })();
    this.logger.log('audit intake started');
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  /**
   * Validates a batch; malformed messages go to the dead-letter subject at once. A message carries one event
   * (`audit.recorded`) or several (`audit.recorded-batch`); a malformed event inside a batch is dead-lettered
   * alone (as an `audit.recorded` message) and the others of its message are kept.
   */
  async parse(msgs: JsMsg[]): Promise<IntakeItem[]> {
    const items: IntakeItem[] = [];
    for (const msg of msgs) {
      let envelope: { type?: unknown; data?: unknown; correlationId?: unknown };
      try {
        envelope = JSON.parse(msg.string()) as typeof envelope;
      } catch (e) {
        await this.deadLetter(msg, `unparseable: ${(e as Error).message}`);
        continue;
      }
      const payloads = auditPayloadsOf(envelope);
      if (payloads.length === 1) {
        try {
          items.push({ msg, events: [parseAuditEvent(payloads[0])] });
        } catch (e) {
          await this.deadLetter(
            msg,
            e instanceof PoisonMessageError ? e.message : `unparseable: ${(e as Error).message}`,
          );
        }
        continue;
      }
      const events: AuditEventPayload[] = [];
      let kept = true;
      for (let i = 0; i < payloads.length && kept; i++) {
        try {
          events.push(parseAuditEvent(payloads[i]));
        } catch (e) {
          kept = await this.deadLetterOne(msg, i, envelope, payloads[i], (e as Error).message);
        }
      }
      // A dead letter that could not be stored: the whole message comes back (the log skips what it has).
      if (!kept) msg.nak(5000);
      else if (events.length === 0) msg.ack();
      else items.push({ msg, events });
    }
    return items;
  }

  /** JSON and leaf hashes ahead of the commit; if that throws, commit() meets the error again and handles it. */
  private prepare(items: IntakeItem[]): PreparedBatch | undefined {
    if (items.length === 0) return undefined;
    try {
      return this.log.prepare(items.flatMap((i) => i.events));
    } catch {
      return undefined;
    }
  }

  /** Appends a batch; if the transaction fails, retries message by message so a bad one cannot hold others back. */
  async commit(items: IntakeItem[], prepared?: PreparedBatch): Promise<void> {
    if (items.length === 0) return;
    try {
      await this.append(prepared ?? items.flatMap((i) => i.events));
      // Plain acks: a lost ack only means a redelivery, which the log skips by event id.
      for (const i of items) i.msg.ack();
      this.count(items);
    } catch (e) {
      if (items.length > 1) {
        for (const i of items) await this.commit([i]);
        return;
      }
      const { msg } = items[0];
      const attempt = msg.info.deliveryCount;
      const reason = (e as Error).message;
      if (attempt >= MAX_DELIVER) await this.deadLetter(msg, reason);
      else {
        this.logger.warn(`append failed for ${msg.subject} #${msg.seq} (delivery ${attempt}): ${reason}`);
        msg.nak(BACKOFF_MS[Math.min(attempt - 1, BACKOFF_MS.length - 1)]);
      }
    }
  }

  /** audit_events_total: one increment per (action, outcome) of the batch rather than one per event. */
  private count(items: IntakeItem[]): void {
    const counts = new Map<string, { action: string; outcome: string; n: number }>();
    for (const i of items) {
      for (const { action, outcome } of i.events) {
        const key = `${outcome}\u0000${action}`;
        const c = counts.get(key);
        if (c) c.n++;
        else counts.set(key, { action, outcome, n: 1 });
      }
    }
    for (const { action, outcome, n } of counts.values()) this.taken.inc({ action, outcome }, n);
  }

  private async append(events: AuditEventPayload[] | PreparedBatch): Promise<void> {
    const head = await this.log.append(events);
    if (head.appended > 0) await this.checkpoints.afterAppend(head.size);
  }

  /**
   * One malformed event of a batch message, dead-lettered alone as an `audit.recorded` message (the others of
   * the message are appended). Returns false when the dead letter could not be stored.
   */
  private async deadLetterOne(
    msg: JsMsg,
    index: number,
    envelope: { correlationId?: unknown },
    data: unknown,
    reason: string,
  ): Promise<boolean> {
    this.logger.error(`dead-lettering event ${index} of ${msg.subject} #${msg.seq}: ${reason}`);
    const h = natsHeaders();
    h.set(Headers.deadLetterReason, reason.slice(0, 500).replace(/[\r\n]/g, ' '));
    h.set(Headers.deadLetterSubject, msg.subject);
    h.set(Headers.deadLetterDeliveries, String(msg.info.deliveryCount));
    const cid = msg.headers?.get(Headers.correlationId);
    if (cid) h.set(Headers.correlationId, cid);
    const id = (data as { id?: unknown })?.id;
    const single = {
      id: typeof id === 'string' ? id : `${msg.seq}:${index}`,
      type: AUDIT_RECORDED,
      occurredAt: new Date().toISOString(),
      ...(typeof envelope.correlationId === 'string' ? { correlationId: envelope.correlationId } : {}),
      source: 'audit',
      data,
    };
    try {
      const stream = Streams.audit().name;
      await this.js.js.publish(Subjects.deadLetter(stream, DURABLE), JSON.stringify(single), {
        headers: h,
        msgID: `${stream}:${DURABLE}:${msg.seq}:${index}`,
      });
      return true;
    } catch (e) {
      this.logger.error(`dead-letter publish failed: ${(e as Error).message}`);
      return false;
    }
  }

  private async deadLetter(msg: JsMsg, reason: string): Promise<void> {
    this.logger.error(`dead-lettering ${msg.subject} #${msg.seq}: ${reason}`);
    const h = natsHeaders();
    h.set(Headers.deadLetterReason, reason.slice(0, 500).replace(/[\r\n]/g, ' '));
    h.set(Headers.deadLetterSubject, msg.subject);
    h.set(Headers.deadLetterDeliveries, String(msg.info.deliveryCount));
    const cid = msg.headers?.get(Headers.correlationId);
    if (cid) h.set(Headers.correlationId, cid);
    try {
      const stream = Streams.audit().name;
      await this.js.js.publish(Subjects.deadLetter(stream, DURABLE), msg.data, {
        headers: h,
        msgID: `${stream}:${DURABLE}:${msg.seq}`,
      });
      msg.term(reason.slice(0, 200));
    } catch (e) {
      this.logger.error(`dead-letter publish failed: ${(e as Error).message}`);
      msg.nak(5000);
    }
  }
}
