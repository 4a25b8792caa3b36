import { Logger } from '@nestjs/common';
import { Streams } from '@lienthong/contracts';
import { Gauge, type Registry } from 'prom-client';
import type { DataSource } from 'typeorm';
import type { JetStreamService } from '../nats/jetstream.service';

/**
 * One load shared by the gauges of a scrape: prom-client runs each gauge's collect() in turn, so gauges fed by
 * the same query each ask for it, and within `ttlMs` they get the same answer.
 */
export function sharedLoad<T>(load: () => Promise<T>, ttlMs = 1000): () => Promise<T> {
  let at = 0;
  let pending: Promise<T> | undefined;
  return () => {
    if (!pending || Date.now() - at > ttlMs) {
      at = Date.now();
      pending = load();
    }
    return pending;
  };
}

/**
 * Gauges every service exports about its reliable messaging, read when Prometheus scrapes (collect()), so the
 * outbox relay and the consumers need no counters of their own: the outbox table's depth and oldest row, the
 * pending and unacked messages of every durable consumer on the streams this service owns, and the
 * dead-letter stream's messages per subject (`<ns>.dlq.<stream>.<consumer>`; every service reports the same
 * stream, so dashboards take max by subject).
 */
export class PlatformMetrics {
  private readonly logger = new Logger(PlatformMetrics.name);

  constructor(
    registry: Registry,
    private readonly ds: DataSource,
    private readonly js: JetStreamService,
    private readonly streams: string[],
  ) {
    const outbox = sharedLoad(() => this.outboxState());
    const consumers = sharedLoad(() => this.consumerInfos());
    const deadLetters = () => this.deadLetters();
    new Gauge({
      name: 'outbox_pending_events',
      help: 'Events written to the outbox and not yet published to JetStream',
      registers: [registry],
      async collect() {
        const row = await outbox();
        if (row) this.set(row.pending);
      },
    });
    new Gauge({
      name: 'outbox_oldest_event_age_seconds',
      help: 'Age of the oldest unpublished outbox event (0 when empty): the relay lag',
      registers: [registry],
      async collect() {
        const row = await outbox();
        if (row) this.set(row.age);
      },
    });
    new Gauge({
      name: 'jetstream_consumer_pending_messages',
      help: 'Messages of the stream not yet delivered to the durable consumer (consumer lag)',
      labelNames: ['stream', 'consumer'],
      registers: [registry],
      async collect() {
        const infos = await consumers();
        if (!infos) return;
        this.reset();
        for (const c of infos) this.set({ stream: c.stream, consumer: c.consumer }, c.pending);
      },
    });
    new Gauge({
      name: 'jetstream_consumer_ack_pending_messages',
      help: 'Messages delivered to the durable consumer and not yet acknowledged',
      labelNames: ['stream', 'consumer'],
      registers: [registry],
      async collect() {
        const infos = await consumers();
        if (!infos) return;
        this.reset();
        for (const c of infos) this.set({ stream: c.stream, consumer: c.consumer }, c.ackPending);
      },
    });
    new Gauge({
      name: 'jetstream_dead_letter_messages',
      help: 'Messages kept on the dead-letter stream, by dead-letter subject',
      labelNames: ['subject'],
      registers: [registry],
      async collect() {
        const subjects = await deadLetters();
        if (!subjects) return;
        this.reset();
        for (const [subject, n] of Object.entries(subjects)) this.set({ subject }, n);
      },
    });
  }

  private async outboxState(): Promise<{ pending: number; age: number } | null> {
    try {
      const [row] = (await this.ds.query(
        `SELECT count(*)::bigint AS n,
                COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8 AS age
           FROM outbox`,
      )) as { n: string; age: number }[];
      return { pending: Number(row.n), age: Number(row.age) };
    } catch (e) {
      this.logger.debug(`outbox metrics unavailable: ${(e as Error).message}`);
      return null;
    }
  }

  private async consumerInfos() {
    try {
      const jsm = await this.js.manager();
      const out: { stream: string; consumer: string; pending: number; ackPending: number }[] = [];
      for (const stream of this.streams) {
        for (const c of await jsm.consumers.list(stream).next())
          out.push({ stream, consumer: c.name, pending: c.num_pending, ackPending: c.num_ack_pending });
      }
      return out;
    } catch (e) {
      this.logger.debug(`consumer metrics unavailable: ${(e as Error).message}`);
      return null;
    }
  }

  private async deadLetters(): Promise<Record<string, number> | null> {
    try {
      const jsm = await this.js.manager();
      const info = await jsm.streams.info(Streams.deadLetters().name, { subjects_filter: '>' });
      return info.state.subjects ?? {};
    } catch (e) {
      // No dead-letter stream yet: nothing was ever dead-lettered.
      if (/not found/i.test(String((e as Error).message))) return {};
      this.logger.debug(`dead-letter metrics unavailable: ${(e as Error).message}`);
      return null;
    }
  }
}
