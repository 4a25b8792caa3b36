import {
  createInbox,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Subscription,
} from '@nats-io/transport-node';

/** What the stream answered to one publish. */
export interface PublishAck {
  stream: string;
  seq: number;
  duplicate: boolean;
}

interface Pending {
  resolve: (ack: PublishAck) => void;
  reject: (e: Error) => void;
  deadline: number;
}

/**
 * JetStream publishes with their acks awaited together, the way the Go client's PublishAsync works: one
 * wildcard subscription on a private inbox receives every ack, each publish carries `reply = <inbox>.<n>`,
 * and one timer sweeps expired publishes. `JetStreamClient.publish` instead builds a request object per
 * message with two or three Error objects (stack traces captured eagerly) and a timer each — in the profile
 * of the outbox relay, more CPU than the publish itself.
 *
 * Same semantics as `js.publish`: resolves with the stream's ack (`duplicate` when `Nats-Msg-Id` was seen
 * within the duplicate window), rejects on a JetStream error answer, on no responders (no stream listens on
 * the subject, or JetStream is down) and on timeout. A rejected publish may still have been stored: callers
 * retry with the same `Nats-Msg-Id`.
 */
export class JsPublisher {
  private sub?: Subscription;
  private prefix = '';
  private next = 0;
  private readonly pending = new Map<string, Pending>();
  private sweeper?: NodeJS.Timeout;

  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs = 5000,
    private readonly inboxPrefix?: string,
  ) {}

  publish(subject: string, data: string | Uint8Array, headers: MsgHdrs): Promise<PublishAck> {
    this.start();
    const token = String(++this.next);
    return new Promise<PublishAck>((resolve, reject) => {
      this.pending.set(token, { resolve, reject, deadline: Date.now() + this.timeoutMs });
      try {
        this.nc.publish(subject, data, { reply: `${this.prefix}.${token}`, headers });
      } catch (e) {
        this.pending.delete(token);
        reject(e as Error);
      }
    });
  }

  /** Rejects whatever is still waiting (on shutdown). */
  close(): void {
    this.sub?.unsubscribe();
    this.sub = undefined;
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
    this.failAll(new Error('publisher closed'));
  }

  private start(): void {
    if (this.sub && !this.sub.isClosed()) return;
    this.prefix = createInbox(this.inboxPrefix);
    this.sub = this.nc.subscribe(`${this.prefix}.*`, { callback: (err, msg) => this.answer(err, msg) });
    this.sweeper ??= setInterval(() => this.sweep(), Math.max(50, Math.min(1000, this.timeoutMs / 5)));
    this.sweeper.unref();
  }

  private answer(err: Error | null, msg: Msg): void {
    if (err) {
      // The subscription itself failed (e.g. a permissions violation): nothing will answer.
      this.failAll(err);
      return;
    }
    const token = msg.subject.slice(this.prefix.length + 1);
    const p = this.pending.get(token);
    if (!p) return; // timed out before the ack came
    this.pending.delete(token);
    const h = msg.headers;
    if (h && h.hasError) {
      p.reject(
        new Error(
          h.code === 503
            ? 'no responders: no stream for the subject, or JetStream unavailable'
            : h.description,
        ),
      );
      return;
    }
    try {
      const v = JSON.parse(msg.string()) as {
        stream?: string;
        seq?: number;
        duplicate?: boolean;
        error?: { code?: number; err_code?: number; description?: string };
      };
      if (v.error) p.reject(new Error(`JetStream publish refused: ${v.error.description ?? v.error.code}`));
      else if (!v.stream) p.reject(new Error('invalid ack response'));
      else p.resolve({ stream: v.stream, seq: v.seq ?? 0, duplicate: v.duplicate === true });
    } catch (e) {
      p.reject(e as Error);
    }
  }

  private sweep(): void {
    if (this.pending.size === 0) return;
    const now = Date.now();
    for (const [token, p] of this.pending) {
      // Inserted in deadline order (one timeout for all): the first one not yet due ends the sweep.
      if (p.deadline > now) break;
      this.pending.delete(token);
      p.reject(new Error(`JetStream publish timed out after ${this.timeoutMs} ms`));
    }
  }

  private failAll(e: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(e);
  }
}
