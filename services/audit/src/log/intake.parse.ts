import { PoisonMessageError } from '@lienthong/common';
import { AuditEventPayload } from '@lienthong/contracts';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';

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
  if (instance.service.length > 64) throw new PoisonMessageError('invalid audit event: service');
  if (Number.isNaN(Date.parse(instance.time))) throw new PoisonMessageError('invalid audit event: time');
  const event = storedEvent(data as AuditEventPayload);
  // PostgreSQL jsonb cannot hold NUL characters; refuse rather than retry forever.
  if (JSON.stringify(event).includes('\\u0000')) throw new PoisonMessageError('audit event contains a NUL character');
  return event;
}
