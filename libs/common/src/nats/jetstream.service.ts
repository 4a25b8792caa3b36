import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
  type ConsumerMessages,
  type StreamSource,
} from '@nats-io/jetstream';
import { headers as natsHeaders, nanos, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { EventEnvelope, Headers, StreamDefinition, Streams, Subjects } from '@lienthong/contracts';
import { randomUUID } from 'node:crypto';
import { currentCorrelationId, runWithCorrelationId, sanitizeCorrelationId } from '../logging/correlation';
import {
  currentTraceparent,
  inSpan,
  linkFromTraceparent,
  SpanKind,
  tracingEnabled,
  TRACEPARENT_HEADER,
} from '../tracing/tracing';
import { JsPublisher } from './js-publisher';
import { NATS_CONNECTION, SERVICE_IDENTITY, ServiceIdentity } from './nats.tokens';

export interface ConsumerOptions {
  stream: string;
  durable: string;
  filterSubject: string;
  /** Deliveries before a message goes to the dead-letter subject. */
  maxDeliver?: number;
  /** Delays (ms) before redelivery after a failure, by attempt; the last repeats. */
  backoffMs?: number[];
  ackWaitMs?: number;
  /** Messages handed to a batch handler at most (1 = one at a time). */
  batchSize?: number;
  /**
   * How long (ms) a partial batch waits for more messages before it is handled (default 2 for batches,
   * 0 for one at a time). Short: a lone message must not wait for company.
   */
  fillMs?: number;
  /** Pull request expiry (ms); short so that no message waits on a stale pull (default 1000). */
  expiresMs?: number;
  /**
   * Batches handled at once (default 1). With 2, the next batch's CPU work (a federation batch's signature
   * checks) overlaps the previous one's transaction; each batch is still acknowledged after its own commit.
   * Only for handlers whose batches are independent, or that keep their own order across batches.
   */
  concurrentBatches?: number;
}

export interface SourcedStreamDefinition {
  name: string;
  sources: StreamSource[];
  maxAgeMs?: number;
  maxMsgsPerSubject?: number;
  duplicateWindowMs?: number;
}

export interface ConsumedMessage<T = unknown> {
  envelope: EventEnvelope<T>;
  subject: string;
  deliveryCount: number;
  streamSequence: number;
}

export type BatchHandler<T = unknown> = (batch: ConsumedMessage<T>[]) => Promise<void>;

export interface ConsumerHandle {
  stop(): Promise<void>;
}

export class PoisonMessageError extends Error {}

/**
 * Awaits every promise of a concurrently handled batch, then throws the first failure: the batch is retried
 * one message at a time only once nothing of it is still running.
 */
export async function settleAll(work: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(work);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

const DEFAULT_BACKOFF = [200, 1000, 5000, 15000];
/** The header JetStream deduplicates on (what `msgID` of `js.publish` sets). */
const MSG_ID_HEADER = 'Nats-Msg-Id';

/**
 * JetStream through @nats-io v3: streams declared at boot, durable pull consumers, ack only after the
 * handler resolved (the handler commits its transaction before resolving), nak with back-off, and a
 * dead-letter subject once the last delivery failed.
 */
@Injectable()
export class JetStreamService implements OnApplicationShutdown {
  private readonly logger = new Logger(JetStreamService.name);
  readonly js: JetStreamClient;
  private jsmPromise?: Promise<JetStreamManager>;
  private readonly consumers = new Set<ConsumerHandle>();
  private readonly publisher: JsPublisher;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SERVICE_IDENTITY) private readonly id: ServiceIdentity,
  ) {
    this.js = jetstream(nc, { timeout: 5000 });
    const inboxPrefix = (nc as unknown as { options?: { inboxPrefix?: string } }).options?.inboxPrefix;
    this.publisher = new JsPublisher(nc, 5000, inboxPrefix);
  }

  manager(): Promise<JetStreamManager> {
    this.jsmPromise ??= jetstreamManager(this.nc, { timeout: 5000 }).catch((e) => {
      this.jsmPromise = undefined;
      throw e;
    });
    return this.jsmPromise;
  }

  /**
   * A manager whose requests give up after `timeoutMs` (no API check on creation): for a watch that looks
   * often and must not wait out the 5 s of a request sent while the server was away.
   */
  quickManager(timeoutMs: number): Promise<JetStreamManager> {
    return jetstreamManager(this.nc, { timeout: timeoutMs, checkAPI: false });
  }

  async ensureStream(def: StreamDefinition): Promise<void> {
    const jsm = await this.manager();
    const config = {
      name: def.name,
      subjects: def.subjects,
      duplicate_window: nanos(def.duplicateWindowMs),
      max_age: def.maxAgeMs ? nanos(def.maxAgeMs) : 0,
      ...(def.maxMsgsPerSubject ? { max_msgs_per_subject: def.maxMsgsPerSubject } : {}),
      storage: StorageType.File,
      retention: RetentionPolicy.Limits,
    };
    try {
      const info = await jsm.streams.info(def.name);
      const same =
        info.config.subjects?.length === def.subjects.length &&
        def.subjects.every((s) => info.config.subjects?.includes(s));
      if (!same) await jsm.streams.update(def.name, { ...info.config, subjects: def.subjects });
    } catch (e) {
      if (!isNotFound(e)) throw e;
      try {
        await jsm.streams.add(config);
      } catch (err) {
        // Another replica created it meanwhile.
        if (!String((err as Error).message).includes('already in use')) throw err;
      }
    }
  }

  /**
   * Declares a stream with no subjects of its own that *sources* other streams — in this JetStream or, with
   * `external.api = $JS.<domain>.API`, in another domain across a leaf-node link. Existing streams get their
   * sources and limits updated when they differ. Returns whether anything was created or changed.
   */
  async ensureSourcedStream(def: SourcedStreamDefinition): Promise<boolean> {
    const jsm = await this.manager();
    const key = (s: StreamSource[]) =>
      JSON.stringify(
        s
          .map((x) => [x.name, x.filter_subject ?? '', x.external?.api ?? '', x.external?.deliver ?? ''])
          .sort(),
      );
    const limits = {
      ...(def.maxAgeMs ? { max_age: nanos(def.maxAgeMs) } : {}),
      ...(def.maxMsgsPerSubject ? { max_msgs_per_subject: def.maxMsgsPerSubject } : {}),
    };
    try {
      const info = await jsm.streams.info(def.name);
      const sameLimits = Object.entries(limits).every(
        ([k, v]) => (info.config as unknown as Record<string, unknown>)[k] === v,
      );
      if (key(info.config.sources ?? []) === key(def.sources) && sameLimits) return false;
      await jsm.streams.update(def.name, { ...info.config, ...limits, sources: def.sources });
      return true;
    } catch (e) {
      if (!isNotFound(e)) throw e;
      try {
        await jsm.streams.add({
          name: def.name,
          sources: def.sources,
          duplicate_window: nanos(def.duplicateWindowMs ?? 3_600_000),
          storage: StorageType.File,
          retention: RetentionPolicy.Limits,
          ...limits,
        });
      } catch (err) {
        // Another replica created it meanwhile.
        if (!String((err as Error).message).includes('already in use')) throw err;
      }
      return true;
    }
  }

  /** `traceparent`: the header's trace context when it differs from the envelope's (the relay's producer span). */
  buildHeaders(
    envelope: Pick<EventEnvelope, 'type' | 'correlationId' | 'traceparent'>,
    traceparent = envelope.traceparent,
  ): MsgHdrs {
    const h = natsHeaders();
    h.set(Headers.eventType, envelope.type);
    if (envelope.correlationId) h.set(Headers.correlationId, envelope.correlationId);
    if (traceparent) h.set(TRACEPARENT_HEADER, traceparent);
    return h;
  }

  envelope<T>(type: string, data: T, id: string = randomUUID()): EventEnvelope<T> {
    const traceparent = currentTraceparent();
    return {
      id,
      type,
      occurredAt: new Date().toISOString(),
      correlationId: currentCorrelationId(),
      source: `${this.id.service}@${this.id.nodeId}`,
      data,
      ...(traceparent ? { traceparent } : {}),
    };
  }

  /** Publishes with `Nats-Msg-Id` = envelope id, so a republish after a crash is dropped by the stream. */
  async publish(subject: string, envelope: EventEnvelope, traceparent?: string): Promise<void> {
    await this.publishRaw(subject, JSON.stringify(envelope), envelope, traceparent);
  }

  /**
   * Publishes an envelope already serialized (`json`, e.g. as the outbox stores it) with `Nats-Msg-Id` =
   * its id and the headers of `meta`; acks of concurrent publishes are awaited together (JsPublisher).
   */
  async publishRaw(
    subject: string,
    json: string,
    meta: Pick<EventEnvelope, 'id' | 'type' | 'correlationId' | 'traceparent'>,
    traceparent = meta.traceparent,
  ): Promise<void> {
    const h = this.buildHeaders(meta, traceparent);
    h.set(MSG_ID_HEADER, meta.id);
    await this.publisher.publish(subject, json, h);
  }

  async consume<T>(opts: ConsumerOptions, handler: BatchHandler<T>): Promise<ConsumerHandle> {
    const maxDeliver = opts.maxDeliver ?? 5;
    const backoff = opts.backoffMs ?? DEFAULT_BACKOFF;
    const batchSize = opts.batchSize ?? 1;
    const jsm = await this.manager();
    await this.ensureStream(Streams.deadLetters());
    const consumerConfig = {
      durable_name: opts.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: opts.filterSubject,
      max_deliver: maxDeliver,
      ack_wait: nanos(opts.ackWaitMs ?? 30_000),
      max_ack_pending: Math.max(1000, batchSize * 4),
    };
    // A stream made only of sources has the sources' subjects as its interest: while one of them is being
    // restarted (the bus's FederationSourceWatch removes it and adds it back, two updates) a consumer filtered
    // on it is refused for a moment; that refusal is retried rather than failing the boot.
    for (let attempt = 0; ; attempt++) {
      try {
        try {
          await jsm.consumers.info(opts.stream, opts.durable);
          await jsm.consumers.update(opts.stream, opts.durable, {
            max_deliver: maxDeliver,
            ack_wait: consumerConfig.ack_wait,
            filter_subject: opts.filterSubject,
            max_ack_pending: consumerConfig.max_ack_pending,
          });
        } catch (e) {
          if (!isNotFound(e)) throw e;
          await jsm.consumers.add(opts.stream, consumerConfig);
        }
        break;
      } catch (e) {
        if (!isFilterOutsideInterest(e) || attempt >= 40) throw e;
        await sleep(250);
      }
    }
    const consumer = await this.js.consumers.get(opts.stream, opts.durable);
    const fillMs = opts.fillMs ?? (batchSize > 1 ? 2 : 0);
    let stopped = false;
    let messages: ConsumerMessages | undefined;
    const concurrent = Math.max(1, opts.concurrentBatches ?? 1);
    const inflight = new Set<Promise<void>>();
    // The pump moves messages from the pull subscription into `queue` as they arrive; the worker takes up to
    // `batchSize` of them at a time. JetStream's max_ack_pending bounds the queue.
    const queue: JsMsg[] = [];
    let signal: (() => void) | undefined;
    const notify = () => {
      const s = signal;
      signal = undefined;
      s?.();
    };
    const arrival = (timeoutMs?: number) =>
      new Promise<void>((resolve) => {
        const t = timeoutMs === undefined ? undefined : setTimeout(resolve, timeoutMs);
        signal = () => {
          if (t) clearTimeout(t);
          resolve();
        };
      });
    const pump = async () => {
      while (!stopped) {
        try {
          messages = await consumer.consume({
            max_messages: Math.max(batchSize * (concurrent + 1), 64),
            expires: opts.expiresMs ?? 1000,
          });
          for await (const m of messages) {
            queue.push(m);
            notify();
            if (stopped) break;
          }
        } catch (e) {
          if (stopped) break;
          this.logger.warn(`consumer ${opts.durable} interrupted: ${(e as Error).message}; retrying`);
          await sleep(1000);
        }
      }
      notify();
    };
    const work = async () => {
      while (!stopped) {
        if (queue.length === 0) {
          await arrival();
          continue;
        }
        if (queue.length < batchSize && fillMs > 0) {
          const until = Date.now() + fillMs;
          while (queue.length < batchSize && !stopped && Date.now() < until)
            await arrival(Math.max(0, until - Date.now()));
        }
        if (stopped) break;
        const batch = queue.splice(0, batchSize);
        const handled: Promise<void> = this.handleBatch(opts, batch, handler, maxDeliver, backoff)
          .catch((e) => this.logger.error(`consumer ${opts.durable} batch failed: ${(e as Error).message}`))
          .finally(() => inflight.delete(handled));
        inflight.add(handled);
        // One batch at a time by default; with concurrentBatches, wait only when that many are in flight.
        while (inflight.size >= concurrent) await Promise.race(inflight);
      }
    };
    const running = Promise.all([pump(), work()]);
    const handle: ConsumerHandle = {
      stop: async () => {
        stopped = true;
        messages?.stop();
        notify();
        await Promise.all([...inflight]).catch(() => undefined);
        await running.catch(() => undefined);
        this.consumers.delete(handle);
      },
    };
    this.consumers.add(handle);
    return handle;
  }

  private async handleBatch<T>(
    opts: ConsumerOptions,
    msgs: JsMsg[],
    handler: BatchHandler<T>,
    maxDeliver: number,
    backoff: number[],
  ): Promise<void> {
    const parsed: { msg: JsMsg; item: ConsumedMessage<T> }[] = [];
    for (const msg of msgs) {
      try {
        const envelope = JSON.parse(msg.string()) as EventEnvelope<T>;
        if (!envelope || typeof envelope.id !== 'string' || typeof envelope.type !== 'string') {
          throw new PoisonMessageError('not an event envelope');
        }
        parsed.push({
          msg,
          item: {
            envelope,
            subject: msg.subject,
            deliveryCount: msg.info.deliveryCount,
            streamSequence: msg.seq,
          },
        });
      } catch (e) {
        await this.deadLetter(opts, msg, `unparseable: ${(e as Error).message}`);
      }
    }
    if (parsed.length === 0) return;
    const correlationId = sanitizeCorrelationId(parsed[0].msg.headers?.get(Headers.correlationId));
    // A long handler (a send request to 20,000 organizations is routed in 20 transactions) tells JetStream it
    // is still working, so the batch is not redelivered to another replica meanwhile; if this process dies
    // the keep-alives stop and ack_wait redelivers as before.
    const keepAlive = setInterval(
      () => {
        for (const p of parsed) p.msg.working();
      },
      Math.max(500, (opts.ackWaitMs ?? 30_000) / 3),
    );
    try {
      await runWithCorrelationId(correlationId, () => this.traced(opts, parsed, handler));
      // The handler committed: acknowledge. A lost ack only redelivers, and consumers claim message ids.
      clearInterval(keepAlive);
      for (const p of parsed) p.msg.ack();
    } catch (e) {
      clearInterval(keepAlive);
      // A batch failed: split it in halves (and those again) so one poison message cannot hold back the
      // others; only a batch of one is nak'ed with back-off or dead-lettered.
      if (parsed.length > 1) {
        const half = Math.ceil(parsed.length / 2);
        const msgs = parsed.map((p) => p.msg);
        await this.handleBatch(opts, msgs.slice(0, half), handler, maxDeliver, backoff);
        await this.handleBatch(opts, msgs.slice(half), handler, maxDeliver, backoff);
        return;
      }
      const { msg } = parsed[0];
      const attempt = msg.info.deliveryCount;
      const reason = e instanceof Error ? e.message : String(e);
      if (e instanceof PoisonMessageError || attempt >= maxDeliver) {
        this.logger.error(`giving up on ${msg.subject} #${msg.seq} after ${attempt} deliveries: ${reason}`);
        await this.deadLetter(opts, msg, reason);
      } else {
        this.logger.warn(`handler failed for ${msg.subject} #${msg.seq} (delivery ${attempt}): ${reason}`);
        msg.nak(backoff[Math.min(attempt - 1, backoff.length - 1)]);
      }
    }
  }

  /**
   * The handler in a consumer span: child of the (first) message's `traceparent`, linked to the others of
   * the batch, so each producer's trace reaches the consumer. Nothing when tracing is off.
   */
  private traced<T>(
    opts: ConsumerOptions,
    parsed: { msg: JsMsg; item: ConsumedMessage<T> }[],
    handler: BatchHandler<T>,
  ): Promise<void> {
    const items = parsed.map((p) => p.item);
    if (!tracingEnabled()) return handler(items);
    const parents = parsed.map((p) => p.msg.headers?.get(TRACEPARENT_HEADER) || p.item.envelope.traceparent);
    const links = parents
      .slice(1)
      .map((tp) => linkFromTraceparent(tp))
      .filter((l) => l !== undefined);
    return inSpan(
      `${opts.durable} process`,
      {
        kind: SpanKind.CONSUMER,
        parent: parents[0] ?? null,
        links,
        attributes: {
          'messaging.system': 'nats',
          'messaging.destination.name': parsed[0].item.subject,
          'messaging.consumer.group.name': opts.durable,
          'messaging.batch.message_count': parsed.length,
        },
      },
      () => handler(items),
    );
  }

  private async deadLetter(opts: ConsumerOptions, msg: JsMsg, reason: string): Promise<void> {
    const h = natsHeaders();
    h.set(Headers.deadLetterReason, reason.slice(0, 500).replace(/[\r\n]/g, ' '));
    h.set(Headers.deadLetterSubject, msg.subject);
    h.set(Headers.deadLetterDeliveries, String(msg.info.deliveryCount));
    const cid = msg.headers?.get(Headers.correlationId);
    if (cid) h.set(Headers.correlationId, cid);
    try {
      await this.js.publish(Subjects.deadLetter(opts.stream, opts.durable), msg.data, {
        headers: h,
        msgID: `${opts.stream}:${opts.durable}:${msg.seq}`,
      });
      // No reason on the TERM: nats-server before 2.10 ignores a `+TERM <reason>` and keeps the message
      // ack-pending until ack_wait; the reason travels in the dead letter's headers anyway.
      msg.term();
    } catch (e) {
      this.logger.error(`dead-letter publish failed: ${(e as Error).message}`);
      msg.nak(5000);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.consumers].map((c) => c.stop()));
    this.publisher.close();
  }
}

export function isNotFound(e: unknown): boolean {
  const err = e as { code?: number | string; api_error?: { code?: number }; message?: string };
  return (
    err?.api_error?.code === 404 ||
    err?.code === 404 ||
    err?.code === '404' ||
    /not found/i.test(String(err?.message ?? ''))
  );
}

/** JetStream's 10093: the consumer's filter is not among the subjects the stream holds (or sources) right now. */
export function isFilterOutsideInterest(e: unknown): boolean {
  const err = e as { api_error?: { err_code?: number }; message?: string };
  return (
    err?.api_error?.err_code === 10093 ||
    /filter subject is not a valid subset of the interest subjects/i.test(String(err?.message ?? ''))
  );
}

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}
