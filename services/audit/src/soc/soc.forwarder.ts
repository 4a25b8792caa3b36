import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
} from '@nestjs/common';
import { JetStreamService, METRICS_REGISTRY } from '@lienthong/common';
import { auditPayloadsOf, Streams, Subjects, type AuditEventPayload } from '@lienthong/contracts';
import { AckPolicy, DeliverPolicy, type JsMsg } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { hostname } from 'node:os';
import { Counter, Gauge, type Registry } from 'prom-client';
import { AuditConfig } from '../config/audit.config';
import { socSeverity } from './soc.policy';
import { formatSyslog, frame } from './syslog.format';
import { parseSyslogUrl, SyslogTransport } from './syslog.transport';

/** Durable consumer of the feed: its unacked messages are the backlog while the collector is down. */
export const SOC_DURABLE = 'soc-feed';
const BATCH = 200;

/**
 * Forwards security-relevant audit events (soc.policy) to the SOC's syslog collector, at least once. It reads
 * the audit stream through its own durable consumer and acks an event only after its frame was written to the
 * collector's socket; while the collector is down nothing is acked, so the stream keeps the backlog (bounded by
 * the stream's limits, 30 days) and the consumer resumes where it stopped. Events are in the SOC once or more
 * (a lost ack resends): each carries its eventId. Off when SOC_SYSLOG_URL is unset.
 */
@Injectable()
export class SocForwarder implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(SocForwarder.name);
  private stopped = false;
  private running?: Promise<void>;
  private transport?: SyslogTransport;
  private failures = 0;
  private wakeSleep?: () => void;
  private forwarded!: Counter<'action'>;
  private sendFailures!: Counter;

  constructor(
    private readonly js: JetStreamService,
    private readonly config: AuditConfig,
    @Inject(METRICS_REGISTRY) private readonly registry: Registry,
  ) {}

  get enabled(): boolean {
    return Boolean(this.config.SOC_SYSLOG_URL);
  }

  get connected(): boolean {
    return this.transport?.connected ?? false;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.SOC_SYSLOG_URL) return;
    const target = parseSyslogUrl(this.config.SOC_SYSLOG_URL);
    const connectedGauge = this.metrics();
    this.transport = new SyslogTransport(target, this.config.SOC_SYSLOG_CA_FILE, (up) => {
      connectedGauge.set(up ? 1 : 0);
      if (up) this.logger.log(`SOC collector ${target.host}:${target.port} connected`);
    });
    await this.ensureConsumer();
    const consumer = await this.js.js.consumers.get(Streams.audit().name, SOC_DURABLE);
    this.running = (async () => {
      while (!this.stopped) {
        try {
          const msgs: JsMsg[] = [];
          const iter = await consumer.fetch({ max_messages: BATCH, expires: 1000 });
          for await (const m of iter) msgs.push(m);
          await this.forward(msgs);
        } catch (e) {
          if (this.stopped) break;
          this.logger.warn(`SOC feed interrupted: ${(e as Error).message}; retrying`);
          await this.sleep(1000);
        }
      }
    })();
    this.logger.log(`SOC feed to ${target.protocol}://${target.host}:${target.port} started`);
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.wakeSleep?.();
    await this.running;
    this.transport?.close();
  }

  /**
   * Handles a fetched batch in stream order. When the collector cannot be written to, the rest of the batch is
   * handed back (nak) and the loop waits, doubling the wait up to SOC_SYSLOG_RETRY_MAX_MS.
   */
  private async forward(msgs: JsMsg[]): Promise<void> {
    for (let i = 0; i < msgs.length; i++) {
      const msg = msgs[i];
      // A message carries one event, or several (`audit.recorded-batch`): forwarded in order, acked together.
      for (const event of this.parse(msg)) {
        const severity = socSeverity(event);
        if (severity === null) continue;
        const bytes = frame(
          formatSyslog(event, {
            facility: this.config.SOC_SYSLOG_FACILITY,
            severity,
            hostname: this.config.SOC_SYSLOG_HOSTNAME ?? hostname(),
            nodeId: this.config.NODE_ID,
          }),
        );
        try {
          await this.transport!.write(bytes);
        } catch (e) {
          // The message comes back whole: events of it already written are sent again (at least once).
          for (const rest of msgs.slice(i)) rest.nak();
          this.failures++;
          this.sendFailures.inc();
          if (this.failures === 1 || this.failures % 20 === 0)
            this.logger.warn(`SOC collector unreachable (${this.failures}x): ${(e as Error).message}`);
          await this.sleep(
            Math.min(this.config.SOC_SYSLOG_RETRY_MAX_MS, 100 * 2 ** Math.min(this.failures, 12)),
          );
          return;
        }
        this.failures = 0;
        this.forwarded.inc({ action: event.action });
      }
      msg.ack();
    }
  }

  /** Malformed messages and events are the intake's to dead-letter; the feed only skips them. */
  private parse(msg: JsMsg): AuditEventPayload[] {
    try {
      return auditPayloadsOf(JSON.parse(msg.string()) as { type?: unknown; data?: unknown }).filter(
        (data): data is AuditEventPayload => {
          const d = data as AuditEventPayload | undefined;
          return !!d && typeof d.action === 'string' && typeof d.id === 'string';
        },
      );
    } catch {
      return [];
    }
  }

  private async ensureConsumer(): Promise<void> {
    const stream = Streams.audit().name;
    const jsm = await this.js.manager();
    // max_deliver -1: an event is retried for as long as the collector is down, never given up on.
    const cfg = { ack_wait: nanos(60_000), max_deliver: -1, filter_subject: Subjects.auditAll() };
    try {
      await jsm.consumers.info(stream, SOC_DURABLE);
      await jsm.consumers.update(stream, SOC_DURABLE, cfg);
    } catch {
      try {
        await jsm.consumers.add(stream, {
          durable_name: SOC_DURABLE,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.All,
          max_ack_pending: BATCH * 4,
          ...cfg,
        });
      } catch (e) {
        // Another replica created it meanwhile.
        if (!String((e as Error).message).includes('already')) throw e;
      }
    }
  }

  private metrics(): Gauge {
    this.forwarded = new Counter({
      name: 'soc_feed_forwarded_total',
      help: 'Security audit events written to the SOC syslog collector',
      labelNames: ['action'],
      registers: [this.registry],
    });
    this.sendFailures = new Counter({
      name: 'soc_feed_send_failures_total',
      help: 'Failed writes or connections to the SOC syslog collector',
      registers: [this.registry],
    });
    const js = this.js;
    new Gauge({
      name: 'soc_feed_backlog_messages',
      help: 'Audit events the SOC feed has not yet handled (pending + unacked on its durable consumer)',
      registers: [this.registry],
      async collect() {
        try {
          const info = await (await js.manager()).consumers.info(Streams.audit().name, SOC_DURABLE);
          this.set(info.num_pending + info.num_ack_pending);
        } catch {
          // NATS unreachable: keep the last value rather than report an empty backlog.
        }
      },
    });
    return new Gauge({
      name: 'soc_feed_connected',
      help: '1 while the SOC syslog collector connection is open',
      registers: [this.registry],
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wakeSleep = done;
    });
  }
}
