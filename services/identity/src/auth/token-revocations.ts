import { Injectable, Logger } from '@nestjs/common';
import { JetStreamService, OutboxService, RevocationList } from '@lienthong/common';
import { Subjects, type EventEnvelope, type TokenRevokedEvent } from '@lienthong/contracts';
import type { EntityManager } from 'typeorm';
import { IdentityConfig } from '../config/identity.config';
import type { SessionAccessToken } from './refresh-tokens.repository';

/** A subject revocation must outlive every token issued before it: the token lifetime plus clock slack. */
const SUBJECT_SLACK_MS = 5 * 60_000;

/** Revocations written in one transaction, to announce once it has committed. */
export class PendingRevocations {
  readonly envelopes: EventEnvelope[] = [];
}

/**
 * Publishes access-token revocations (one token, or every token of a user or client) to every service.
 * Durable: the event is written to the outbox in the caller's transaction, so a crash loses nothing and a
 * service that starts later reads it from the revocations stream. Fast: once the transaction commits it is
 * also published directly with the same message id (the outbox's later copy is dropped as a duplicate), so
 * a backlog of audit events in the outbox never delays it, and applied to this replica at once.
 */
@Injectable()
export class TokenRevocations {
  private readonly logger = new Logger(TokenRevocations.name);

  constructor(
    private readonly outbox: OutboxService,
    private readonly js: JetStreamService,
    private readonly list: RevocationList,
    private readonly config: IdentityConfig,
  ) {}

  /** Access tokens of ended sessions (refresh-token families). */
  async tokens(
    m: EntityManager,
    pending: PendingRevocations,
    tokens: SessionAccessToken[],
    reason: TokenRevokedEvent['reason'],
  ): Promise<void> {
    const revokedAt = new Date().toISOString();
    for (const t of tokens) {
      await this.add(m, pending, { jti: t.jti, revokedAt, expiresAt: t.expiresAt.toISOString(), reason });
    }
  }

  /** Every token of a user or client issued up to now. */
  async subject(
    m: EntityManager,
    pending: PendingRevocations,
    subject: string,
    subjectType: 'user' | 'client',
    reason: TokenRevokedEvent['reason'],
  ): Promise<void> {
    const now = Date.now();
    await this.add(m, pending, {
      subject,
      subjectType,
      revokedAt: new Date(now).toISOString(),
      expiresAt: new Date(now + this.config.ACCESS_TOKEN_TTL_SECONDS * 1000 + SUBJECT_SLACK_MS).toISOString(),
      reason,
    });
  }

  private async add(m: EntityManager, pending: PendingRevocations, ev: TokenRevokedEvent): Promise<void> {
    const [envelope] = await this.outbox.add(m, {
      subject: Subjects.tokenRevoked(),
      type: 'token.revoked',
      data: ev,
    });
    pending.envelopes.push(envelope);
  }

  /** After the commit: this replica refuses them now; every other service within the publish round trip. */
  async announce(pending: PendingRevocations): Promise<void> {
    for (const e of pending.envelopes) this.list.apply(e.data as TokenRevokedEvent);
    // Best effort, all at once: if NATS is down the outbox relay publishes the same messages later.
    await Promise.all(
      pending.envelopes.map((e) =>
        this.js
          .publish(Subjects.tokenRevoked(), e)
          .catch((err) =>
            this.logger.warn(`revocation publish deferred to the outbox: ${(err as Error).message}`),
          ),
      ),
    );
  }
}
