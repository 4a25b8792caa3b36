import { PoisonMessageError } from '@lienthong/common';
import { AuditEventPayload } from '@lienthong/contracts';
import { isISO8601, isUUID } from 'class-validator';

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

/**
 * The JSON text of each event parseAuditEvent returned (it writes it anyway, to look for what PostgreSQL
 * refuses): LogRepository.prepare stores it rather than writing it a second time. The events are not changed
 * after parsing.
 */
const jsonOfParsed = new WeakMap<AuditEventPayload, string>();

/** JSON.stringify(event), from parseAuditEvent's copy when it has one. */
export function eventJson(event: AuditEventPayload): string {
  return jsonOfParsed.get(event) ?? JSON.stringify(event);
}

const OUTCOMES: readonly unknown[] = ['success', 'failure', 'denied'];
const ACTOR_TYPES: readonly unknown[] = ['user', 'client', 'system', 'anonymous'];

/**
 * Column limits of `leaves` (varchar(n) counts characters, i.e. code points). An oversized field is cut to its
 * column with TRUNCATION_MARKER at the end (and named in `details.truncated`) rather than dead-lettered: the
 * event happened, and losing it from the log is worse than shortening a name (issue 13.11).
 */
const MAX = {
  service: 64,
  action: 100,
  actorSub: 200,
  organizationCode: 35,
  resourceType: 64,
  resourceId: 200,
} as const;

/** Ends a field cut to its column; a real value never ends this way by chance. */
export const TRUNCATION_MARKER = '…[truncated]';

/** `s` cut to `max` code points, the last ones being the marker; a pair is never split. */
export function truncateTo(s: string, max: number): string {
  const keep = max - [...TRUNCATION_MARKER].length;
  return [...s].slice(0, Math.max(keep, 0)).join('') + TRUNCATION_MARKER.slice(0, max);
}

const NUL_ESCAPE = /(?:^|[^\\])(?:\\\\)*\\u0000/;
const SURROGATE_ESCAPE = /(?:^|[^\\])(?:\\\\)*\\ud[89a-f][0-9a-f]{2}/;

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Code points, as PostgreSQL's varchar(n) counts them (a surrogate pair is one character). */
function codePoints(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/**
 * Validates one payload against `AuditEventPayload` (the same rules as its class-validator decorators, plus
 * the column limits and what PostgreSQL cannot store) and returns the stored event. Hand-written because the
 * intake runs it for every event: class-transformer + class-validator cost more than the whole append.
 * Anything malformed is poison (dead-lettered, never retried); the reason names every bad field.
 */
export function parseAuditEvent(data: unknown): AuditEventPayload {
  if (!isObject(data)) throw new PoisonMessageError('audit event payload is not an object');
  const bad: string[] = [];
  const truncated = new Map<string, string>();
  const str = (v: unknown, field: string, max?: number): v is string => {
    if (typeof v !== 'string') {
      bad.push(`${field} must be a string`);
      return false;
    }
    // A string never has more code points than UTF-16 units: count only when it might be too long.
    if (max !== undefined && v.length > max && codePoints(v) > max) truncated.set(field, truncateTo(v, max));
    return true;
  };
  const fit = (v: string, field: string) => truncated.get(field) ?? v;

  const { id, time, service, action, actor, resource, outcome, correlationId, details } = data;
  if (typeof id !== 'string' || !isUUID(id)) bad.push('id must be a UUID');
  if (typeof time !== 'string' || !isISO8601(time) || Number.isNaN(Date.parse(time)))
    bad.push('time must be an ISO 8601 instant');
  str(service, 'service', MAX.service);
  str(action, 'action', MAX.action);
  if (!isObject(actor)) bad.push('actor must be an object');
  else {
    str(actor.sub, 'actor.sub', MAX.actorSub);
    if (actor.organizationCode !== undefined && actor.organizationCode !== null) {
      str(actor.organizationCode, 'actor.organizationCode', MAX.organizationCode);
    }
    if (!ACTOR_TYPES.includes(actor.type)) bad.push(`actor.type must be one of ${ACTOR_TYPES.join(', ')}`);
  }
  if (!isObject(resource)) bad.push('resource must be an object');
  else {
    str(resource.type, 'resource.type', MAX.resourceType);
    str(resource.id, 'resource.id', MAX.resourceId);
  }
  if (!OUTCOMES.includes(outcome)) bad.push(`outcome must be one of ${OUTCOMES.join(', ')}`);
  // As @IsOptional: null counts as absent for validation, and is kept as null.
  if (correlationId !== undefined && correlationId !== null) str(correlationId, 'correlationId');
  if (details !== undefined && details !== null && !isObject(details)) bad.push('details must be an object');
  if (bad.length > 0) throw new PoisonMessageError(`invalid audit event: ${bad.join('; ')}`);

  const a = actor as Record<string, unknown>;
  const r = resource as Record<string, unknown>;
  const org = a.organizationCode as string | null | undefined;
  const event: AuditEventPayload = {
    id: (id as string).toLowerCase(),
    time: time as string,
    service: fit(service as string, 'service'),
    action: fit(action as string, 'action'),
    actor: {
      sub: fit(a.sub as string, 'actor.sub'),
      organizationCode: org == null ? null : fit(org, 'actor.organizationCode'),
      type: a.type as AuditEventPayload['actor']['type'],
    },
    resource: { type: fit(r.type as string, 'resource.type'), id: fit(r.id as string, 'resource.id') },
    outcome: outcome as AuditEventPayload['outcome'],
  };
  if (correlationId !== undefined) event.correlationId = correlationId as string;
  // Normalize details through JSON so what is hashed is exactly what jsonb gives back (the rest are strings).
  if (details !== undefined)
    (event as { details?: unknown }).details = details === null ? null : JSON.parse(JSON.stringify(details));
  if (truncated.size > 0) {
    // Named so an auditor knows the stored value is not the whole one.
    event.details = { ...(event.details ?? {}), truncated: [...truncated.keys()] };
  }
  // PostgreSQL stores neither NUL characters (jsonb nor text) nor unpaired UTF-16 surrogates (jsonb): refuse
  // them here rather than fail the insert until the message is dead-lettered anyway. JSON.stringify writes
  // both, and nothing else in that range, as \u escapes; an escape is real when its backslash is not itself
  // escaped (an even number of backslashes before it).
  const text = JSON.stringify(event);
  if (text.includes('\\u') && NUL_ESCAPE.test(text))
    throw new PoisonMessageError('audit event contains a NUL character');
  if (text.includes('\\ud') && SURROGATE_ESCAPE.test(text)) {
    throw new PoisonMessageError('audit event contains an unpaired UTF-16 surrogate');
  }
  jsonOfParsed.set(event, text);
  return event;
}
