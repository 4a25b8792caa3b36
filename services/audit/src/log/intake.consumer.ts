import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { JetStreamService, METRICS_REGISTRY, PoisonMessageError } from '@lienthong/common';
import { AuditEventPayload, Headers, Streams, Subjects } from '@lienthong/contracts';
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

  /** Validates a batch; malformed messages go to the dead-letter subject at once. */
  async parse(msgs: JsMsg[]): Promise<{ msg: JsMsg; event: AuditEventPayload }[]> {
    const items: { msg: JsMsg; event: AuditEventPayload }[] = [];
    for (const msg of msgs) {
      try {
        const envelope = JSON.parse(msg.string()) as { data?: unknown };
        items.push({ msg, event: parseAuditEvent(envelope?.data) });
      } catch (e) {
        await this.deadLetter(
          msg,
          e instanceof PoisonMessageError ? e.message : `unparseable: ${(e as Error).message}`,
        );
      }
    }
    return items;
  }

  /** JSON and leaf hashes ahead of the commit; if that throws, commit() meets the error again and handles it. */
  private prepare(items: { event: AuditEventPayload }[]): PreparedBatch | undefined {
    if (items.length === 0) return undefined;
    try {
      return this.log.prepare(items.map((i) => i.event));
    } catch {
      return undefined;
    }
  }

  /** Appends a batch; if the transaction fails, retries one by one so a bad event cannot hold others back. */
  async commit(items: { msg: JsMsg; event: AuditEventPayload }[], prepared?: PreparedBatch): Promise<void> {
    if (items.length === 0) return;
    try {
      await this.append(prepared ?? items.map((i) => i.event));
      // Plain acks: a lost ack only means a redelivery, which the log skips by event id.
      for (const i of items) {
        i.msg.ack();
        this.taken.inc({ action: i.event.action, outcome: i.event.outcome });
      }
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

  private async append(events: AuditEventPayload[] | PreparedBatch): Promise<void> {
    const head = await this.log.append(events);
    if (head.appended > 0) await this.checkpoints.afterAppend(head.size);
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
