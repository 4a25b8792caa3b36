import { Injectable } from '@nestjs/common';
import type {
  AuditEventPayload,
  EventContract,
  EventEnvelope,
  EventMap,
  EventType,
} from '@lienthong/contracts';
import { DataSource, type EntityManager } from 'typeorm';
import { AuditRecorder, type AuditInput } from './audit-recorder';
import { OutboxService } from './outbox.service';
import { ProcessedMessages } from './processed-messages';

export class InvalidEventError extends Error {
  constructor(
    readonly type: string,
    readonly problems: string[],
  ) {
    super(`event ${type} refused: ${problems.join('; ')}`);
  }
}

export interface EmitOptions<A extends unknown[]> {
  /** A deterministic id makes the event itself idempotent (the stream drops a second publish). */
  id?: string;
  /** Arguments of the contract's subject, when it has any. */
  subjectArgs?: A;
}

/** What a unit of work hands to its function: the transaction and the three things every handler does. */
export interface UnitOfWorkContext {
  readonly manager: EntityManager;
  /** Claims an incoming message for a consumer; false when it was applied before (do nothing then). */
  claim(consumer: string, messageId: string): Promise<boolean>;
  /** Claims many; returns the ids that were new. */
  claimMany(consumer: string, messageIds: string[]): Promise<Set<string>>;
  /** Queues an event for the outbox; written with every other event of the transaction in one INSERT. */
  emit<K extends EventType, A extends unknown[]>(
    event: EventContract<K, A>,
    payload: EventMap[K],
    opts?: EmitOptions<A>,
  ): EventEnvelope<EventMap[K]>;
  /** Queues audit events (same outbox INSERT). */
  audit(...inputs: AuditInput[]): void;
}

/**
 * One way to run a transaction: `run(fn)` opens it, gives `claim`, `emit` and `audit`, and before commit
 * writes all outbox rows of the transaction in one multi-row INSERT (events first, in emit order, then the
 * transaction's audit events as one message, so the relay publishes what moves documents before what records it). The commit wakes the relay.
 */
@Injectable()
export class UnitOfWork {
  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxService,
    private readonly auditRecorder: AuditRecorder,
    private readonly processed: ProcessedMessages,
  ) {}

  run<T>(fn: (ctx: UnitOfWorkContext) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(async (manager) => {
      const events: { subject: string; envelope: EventEnvelope }[] = [];
      const audits: AuditEventPayload[] = [];
      const ctx: UnitOfWorkContext = {
        manager,
        claim: (consumer, id) => this.processed.claim(manager, consumer, id),
        claimMany: (consumer, ids) => this.processed.claimMany(manager, consumer, ids),
        emit: (event, payload, opts) => {
          const problems = event.problems(payload);
          if (problems.length) throw new InvalidEventError(event.type, problems);
          const envelope = this.outbox.envelope({
            subject: '',
            type: event.type,
            data: payload,
            id: opts?.id,
          });
          const subject = (event.subject as (...a: unknown[]) => string)(...(opts?.subjectArgs ?? []));
          events.push({ subject, envelope });
          return envelope;
        },
        audit: (...inputs) => {
          for (const input of inputs) audits.push(this.auditRecorder.build(input));
        },
      };
      const result = await fn(ctx);
      // The transaction's audit events in as few messages as fit (AuditRecorder.rows), after the events.
      if (audits.length) events.push(...this.auditRecorder.rows(audits));
      if (events.length) await this.outbox.insert(manager, events);
      return result;
    });
  }
}
