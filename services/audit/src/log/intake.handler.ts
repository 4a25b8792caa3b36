import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConsumedMessage, JetStreamService, PoisonMessageError } from '@lienthong/common';
import { AuditEventPayload, Streams, Subjects } from '@lienthong/contracts';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { CheckpointService } from '../checkpoint/checkpoint.service';
import { AuditConfig } from '../config/audit.config';
import { LogRepository } from './log.repository';

/** The event as stored and hashed: only the contract's fields, in a fixed shape. */
export function storedEvent(p: AuditEventPayload): AuditEventPayload {
  const e: AuditEventPayload = {
    id: p.id.toLowerCase(),
    time: p.time,
    service: p.service,
    action: p.action,
    actor: { sub: p.actor.sub, organizationCode: p.actor.organizationCode ?? null, type: p.actor.type },
    resource: { type: p.resource.type, id: p.resource.id },
    outcome: p.outcome,
  };
  if (p.correlationId !== undefined) e.correlationId = p.correlationId;
  if (p.details !== undefined) e.details = p.details;
  // Normalize through JSON so what is hashed is exactly what jsonb gives back.
  return JSON.parse(JSON.stringify(e)) as AuditEventPayload;
}

/** Validates one payload; anything malformed is poison (dead-lettered, never retried). */
export function parseAuditEvent(data: unknown): AuditEventPayload {
  if (!data || typeof data !== 'object') throw new PoisonMessageError('audit event payload is not an object');
  const instance = plainToInstance(AuditEventPayload, data);
  const errors = validateSync(instance, { forbidUnknownValues: false });
  if (errors.length > 0) {
    throw new PoisonMessageError(`invalid audit event: ${errors.map((e) => e.property).join(', ')}`);
  }
  const event = storedEvent(data as AuditEventPayload);
  // PostgreSQL jsonb cannot hold NUL characters; refuse rather than retry forever.
  if (JSON.stringify(event).includes('\\u0000')) throw new PoisonMessageError('audit event contains a NUL character');
  return event;
}

/** Durable JetStream consumer of every service's audit events, one transaction per batch. */
@Injectable()
export class IntakeHandler implements OnApplicationBootstrap {
  private readonly logger = new Logger(IntakeHandler.name);

  constructor(
    private readonly js: JetStreamService,
    private readonly log: LogRepository,
    private readonly checkpoints: CheckpointService,
    private readonly config: AuditConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.AUDIT_INTAKE_ENABLED) return;
    await this.js.consume<unknown>(
      {
        stream: Streams.audit().name,
        durable: 'audit-log',
        filterSubject: Subjects.auditAll(),
        batchSize: this.config.AUDIT_BATCH_SIZE,
      },
      (batch) => this.handle(batch),
    );
    this.logger.log('audit intake started');
  }

  async handle(batch: ConsumedMessage<unknown>[]): Promise<void> {
    // One bad payload fails the batch; the consumer then retries one by one and dead-letters the bad one.
    const events = batch.map((m) => parseAuditEvent(m.envelope.data));
    const head = await this.log.append(events);
    if (head.appended > 0) await this.checkpoints.afterAppend(head.size);
  }
}
