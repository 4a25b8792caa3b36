import { Inject, Injectable } from '@nestjs/common';
import { AuditEventPayload, AuditOutcome, Events, type EventEnvelope } from '@lienthong/contracts';
import type { EntityManager } from 'typeorm';
import type { Principal } from '../auth/principal';
import { timeOrderedUuid } from '../ids/time-ordered-uuid';
import { currentCorrelationId } from '../logging/correlation';
import { SERVICE_IDENTITY, ServiceIdentity } from '../nats/nats.tokens';
import { OutboxService } from './outbox.service';

export interface AuditInput {
  action: string;
  actor?:
    | Principal
    | { sub: string; organizationCode?: string | null; type: 'user' | 'client' | 'system' | 'anonymous' };
  resource: { type: string; id: string };
  outcome?: AuditOutcome;
  details?: Record<string, unknown>;
}

/**
 * Bytes of events per `audit.recorded-batch` message (JSON length; the envelope adds a few hundred bytes):
 * well under NATS's 1 MB `max_payload` even when non-ASCII text doubles in UTF-8.
 */
export const AUDIT_MESSAGE_BYTES = 256 * 1024;

/** Audit events go through the outbox, in the same transaction as the change they describe. */
@Injectable()
export class AuditRecorder {
  constructor(
    private readonly outbox: OutboxService,
    @Inject(SERVICE_IDENTITY) private readonly id: ServiceIdentity,
  ) {}

  build(input: AuditInput): AuditEventPayload {
    const actor = input.actor ?? { sub: this.id.service, organizationCode: null, type: 'system' as const };
    // Time-ordered ids: the audit log's unique index on event_id (and the outbox's on id) grows at its
    // right edge (issue 12: a random id dirtied a random index page per event, most of the log's WAL).
    const now = Date.now();
    return {
      id: timeOrderedUuid(now),
      time: new Date(now).toISOString(),
      service: this.id.service,
      action: input.action,
      actor: { sub: actor.sub, organizationCode: actor.organizationCode ?? null, type: actor.type },
      resource: input.resource,
      outcome: input.outcome ?? 'success',
      correlationId: currentCorrelationId(),
      ...(input.details ? { details: input.details } : {}),
    };
  }

  async record(manager: EntityManager, ...inputs: AuditInput[]): Promise<void> {
    if (inputs.length === 0) return;
    await this.outbox.insert(manager, this.rows(inputs.map((i) => this.build(i))));
  }

  /**
   * The outbox rows of a transaction's audit events: one `audit.recorded` for a single event, otherwise
   * `audit.recorded-batch` messages of at most AUDIT_MESSAGE_BYTES of events each. A broadcast to 10,000
   * organizations records 20,000 events in one transaction (~8 MB): as one message it exceeded NATS's
   * `max_payload` (1 MB), the relay could never publish it and every later outbox row waited behind it.
   */
  rows(events: AuditEventPayload[]): { subject: string; envelope: EventEnvelope }[] {
    if (events.length <= 1) return events.map((e) => this.row([e]));
    const out: { subject: string; envelope: EventEnvelope }[] = [];
    let chunk: AuditEventPayload[] = [];
    let bytes = 0;
    for (const e of events) {
      const size = JSON.stringify(e).length;
      if (chunk.length > 0 && bytes + size > AUDIT_MESSAGE_BYTES) {
        out.push(this.row(chunk));
        chunk = [];
        bytes = 0;
      }
      chunk.push(e);
      bytes += size + 1;
    }
    if (chunk.length) out.push(this.row(chunk));
    return out;
  }

  /**
   * The outbox row of a transaction's audit events: `audit.recorded` for one (its id = the event's id),
   * `audit.recorded-batch` for several (one message; the audit service appends each event as its own leaf).
   */
  row(events: AuditEventPayload[]): { subject: string; envelope: EventEnvelope } {
    const subject = Events.auditRecorded.subject(this.id.service);
    if (events.length === 1) {
      const data = events[0];
      return {
        subject,
        envelope: this.outbox.envelope({ subject, type: 'audit.recorded', data, id: data.id }),
      };
    }
    return {
      subject,
      envelope: this.outbox.envelope({ subject, type: 'audit.recorded-batch', data: { events } }),
    };
  }
}
