import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { NATS_CONNECTION } from '@lienthong/common';
import { Subjects } from '@lienthong/contracts';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { randomUUID } from 'node:crypto';

/**
 * Wakes the national-axis sender when exchanges were queued: in this process directly, in the other
 * replicas by a core NATS message. Losing a wake-up costs only latency (the sender also polls), so the
 * message is fire-and-forget; bursts are coalesced to one message per event-loop turn.
 */
@Injectable()
export class AxisWakeup implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(AxisWakeup.name);
  private readonly self = randomUUID();
  private readonly listeners = new Set<() => void>();
  private sub?: Subscription;
  private publishPending = false;

  constructor(@Inject(NATS_CONNECTION) private readonly nc: NatsConnection) {}

  onApplicationBootstrap(): void {
    this.sub = this.nc.subscribe(Subjects.busAxisWake(), {
      // Our own wake-ups already ran locally.
      callback: (err, msg) => {
        if (!err && msg.string() !== this.self) this.fire();
      },
    });
  }

  onApplicationShutdown(): void {
    this.sub?.unsubscribe();
    this.listeners.clear();
  }

  /** Called after a commit that queued national-axis exchanges. */
  notify(): void {
    this.fire();
    if (this.publishPending) return;
    this.publishPending = true;
    setImmediate(() => {
      this.publishPending = false;
      try {
        if (!this.nc.isClosed()) this.nc.publish(Subjects.busAxisWake(), this.self);
      } catch (e) {
        this.logger.debug(`wake-up not published: ${(e as Error).message}`);
      }
    });
  }

  onWake(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private fire(): void {
    for (const l of this.listeners) l();
  }
}
