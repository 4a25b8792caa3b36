import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { DeliverPolicy, type ConsumerMessages } from '@nats-io/jetstream';
import { Streams, Subjects, type EventEnvelope, type TokenRevokedEvent } from '@lienthong/contracts';
import { isNotFound, JetStreamService } from '../nats/jetstream.service';
import type { Principal } from './principal';

/** How long a service waits for the revocations published before it started before it accepts tokens anyway. */
const CATCH_UP_LIMIT_MS = 5_000;
const SWEEP_EVERY = 1_000;

const subjectKey = (type: string, sub: string) => `${type}:${sub}`;

/**
 * Revocations this process knows of (API.md, Identity: a revoked token, a disabled user's tokens and a deleted
 * client's tokens are refused by every service). One access token by `jti`, or every token of a subject issued
 * at or before a time. Entries are forgotten once no matching token can still be valid.
 */
@Injectable()
export class RevocationList {
  private readonly jtis = new Map<string, number>();
  private readonly subjects = new Map<string, { revokedAt: number; expiresAt: number }>();
  private applied = 0;
  private readyResolve!: () => void;
  private readonly readyPromise = new Promise<void>((r) => (this.readyResolve = r));
  private isReady = false;

  apply(ev: TokenRevokedEvent): void {
    const expiresAt = Date.parse(ev.expiresAt);
    const revokedAt = Date.parse(ev.revokedAt);
    if (!Number.isFinite(expiresAt) || expiresAt <= Date.now()) return;
    if (typeof ev.jti === 'string' && ev.jti) {
      this.jtis.set(ev.jti, Math.max(expiresAt, this.jtis.get(ev.jti) ?? 0));
    }
    if (typeof ev.subject === 'string' && ev.subject && Number.isFinite(revokedAt)) {
      const key = subjectKey(ev.subjectType ?? 'user', ev.subject);
      const cur = this.subjects.get(key);
      this.subjects.set(key, {
        revokedAt: Math.max(revokedAt, cur?.revokedAt ?? 0),
        expiresAt: Math.max(expiresAt, cur?.expiresAt ?? 0),
      });
    }
    if (++this.applied % SWEEP_EVERY === 0) this.sweep();
  }

  /**
   * A token is refused when its jti was revoked, or when its subject was revoked at or after it was issued.
   * `iat` has a one-second resolution, so a token issued in the same second as the revocation is refused too
   * (a user re-enabled within that second signs in again).
   */
  isRevoked(p: Pick<Principal, 'jti' | 'sub' | 'type' | 'issuedAt'>): boolean {
    const now = Date.now();
    const j = this.jtis.get(p.jti);
    if (j !== undefined && j > now) return true;
    const s = this.subjects.get(subjectKey(p.type, p.sub));
    if (s && s.expiresAt > now) {
      const issuedMs = (p.issuedAt ?? 0) * 1000;
      if (issuedMs <= s.revokedAt) return true;
    }
    return false;
  }

  /** Resolves once the revocations published before this process started are loaded (or the wait gave up). */
  whenReady(): Promise<void> {
    return this.readyPromise;
  }

  get ready(): boolean {
    return this.isReady;
  }

  markReady(): void {
    if (this.isReady) return;
    this.isReady = true;
    this.readyResolve();
  }

  get size(): number {
    return this.jtis.size + this.subjects.size;
  }

  private sweep(): void {
    const now = Date.now();
    for (const [k, until] of this.jtis) if (until <= now) this.jtis.delete(k);
    for (const [k, v] of this.subjects) if (v.expiresAt <= now) this.subjects.delete(k);
  }
}

/**
 * Feeds the RevocationList from the revocations stream: an ordered consumer reads it from the start (the
 * stream's age limit outlives any access token, so a restarted service catches up) and then receives new
 * revocations as JetStream stores them. Identity publishes them through its outbox and, right after the
 * commit, directly (same message id), so a backlog in identity's outbox does not delay them.
 */
@Injectable()
export class RevocationFeed implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RevocationFeed.name);
  private stopped = false;
  private messages?: ConsumerMessages;
  private running?: Promise<void>;
  private giveUp?: NodeJS.Timeout;

  constructor(
    private readonly js: JetStreamService,
    private readonly list: RevocationList,
  ) {}

  onApplicationBootstrap(): void {
    this.giveUp = setTimeout(() => {
      if (this.list.ready) return;
      this.logger.warn(
        'revocations not loaded yet; accepting tokens meanwhile (catching up in the background)',
      );
      this.list.markReady();
    }, CATCH_UP_LIMIT_MS);
    this.giveUp.unref();
    this.running = this.run();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.giveUp);
    this.messages?.stop();
    await this.running?.catch(() => undefined);
  }

  private async run(): Promise<void> {
    const stream = Streams.revocations().name;
    while (!this.stopped) {
      try {
        const jsm = await this.js.manager();
        let target = 0;
        try {
          const info = await jsm.streams.info(stream);
          target = info.state.messages === 0 ? 0 : info.state.last_seq;
        } catch (e) {
          if (!isNotFound(e)) throw e;
          // Identity has not declared the stream yet: nothing was ever revoked.
          this.list.markReady();
          await sleep(1000);
          continue;
        }
        if (target === 0) this.list.markReady();
        const consumer = await this.js.js.consumers.get(stream, {
          // A string, not an array: filter_subjects (plural) needs nats-server 2.10.
          filter_subjects: Subjects.tokenRevoked(),
          deliver_policy: DeliverPolicy.All,
        });
        this.messages = await consumer.consume({ max_messages: 512 });
        for await (const m of this.messages) {
          try {
            this.list.apply(m.json<EventEnvelope<TokenRevokedEvent>>().data);
          } catch (e) {
            this.logger.warn(`unreadable revocation #${m.seq}: ${(e as Error).message}`);
          }
          if (m.seq >= target) this.list.markReady();
        }
      } catch (e) {
        if (this.stopped) break;
        this.logger.warn(`revocation feed interrupted: ${(e as Error).message}; retrying`);
        await sleep(1000);
      }
    }
  }
}

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}
