import type { AuditEventBatch, AuditEventPayload } from './audit';
import type {
  DocumentDeliveryEvent,
  DocumentSendRequestedEvent,
  DocumentStatusBatchEvent,
  DocumentStatusEvent,
  ExchangeStateEvent,
} from './documents';
import type { EventMap, EventType } from './event-map';
import { qualify } from './namespace';
import { Subjects } from './subjects';

/**
 * One contract entry per durable event: its type name, the subject it travels on and a check of its payload,
 * together. Producers emit `Events.x` with a payload; nobody pairs a subject with a type by hand.
 */
export interface EventContract<K extends EventType = EventType, A extends unknown[] = []> {
  readonly type: K;
  subject(...args: A): string;
  /** The payload's problems (empty when valid): checked before the event is written to an outbox. */
  problems(payload: EventMap[K]): string[];
}

type Check = 'string' | 'string?' | 'number' | 'number?' | 'array' | 'array?' | 'object' | 'object?';

/** A shallow shape check: enough to refuse an event a typo or an `undefined` would make unreadable. */
function shape(spec: Record<string, Check>) {
  return (p: unknown): string[] => {
    if (!p || typeof p !== 'object') return ['payload is not an object'];
    const out: string[] = [];
    for (const [key, check] of Object.entries(spec)) {
      const v = (p as Record<string, unknown>)[key];
      const optional = check.endsWith('?');
      if (v === undefined || v === null) {
        if (!optional) out.push(`${key} is missing`);
        continue;
      }
      const kind = check.replace('?', '');
      const ok = kind === 'array' ? Array.isArray(v) : typeof v === kind && !Array.isArray(v);
      if (!ok) out.push(`${key} must be ${kind}`);
    }
    return out;
  };
}

function defineEvent<K extends EventType, A extends unknown[] = []>(
  type: K,
  subject: (...args: A) => string,
  problems: (payload: EventMap[K]) => string[],
): EventContract<K, A> {
  return { type, subject, problems };
}

const statusShape = shape({
  statusId: 'string',
  sourceDocumentId: 'string?',
  edxmlDocumentId: 'string?',
  fromOrganizationCode: 'string',
  toOrganizationCode: 'string',
  status: 'string',
  statusCode: 'string',
  at: 'string',
});

const sendShape = shape({
  documentId: 'string',
  fromOrganizationCode: 'string',
  recipients: 'array',
  businessType: 'number',
  document: 'object',
  attachments: 'array',
});

export const Events = {
  auditRecorded: defineEvent<'audit.recorded', [string]>(
    'audit.recorded',
    (service: string) => Subjects.auditEvent(service),
    (p: AuditEventPayload) =>
      shape({ id: 'string', time: 'string', service: 'string', action: 'string', resource: 'object' })(p),
  ),
  /** Several audit events of one transaction in one message (see AuditEventBatch). */
  auditRecordedBatch: defineEvent<'audit.recorded-batch', [string]>(
    'audit.recorded-batch',
    (service: string) => Subjects.auditEvent(service),
    (p: AuditEventBatch) =>
      Array.isArray(p?.events) && p.events.length > 0 ? [] : ['events must be a non-empty array'],
  ),
  documentSendRequested: defineEvent(
    'document.send-requested',
    Subjects.documentSendRequested,
    (p: DocumentSendRequestedEvent) => sendShape(p),
  ),
  documentRecallRequested: defineEvent(
    'document.recall-requested',
    Subjects.documentRecallRequested,
    (p: DocumentSendRequestedEvent) => sendShape(p),
  ),
  documentStatusChanged: defineEvent(
    'document.status-changed',
    Subjects.documentStatusChanged,
    (p: DocumentStatusEvent) => statusShape(p),
  ),
  /** The senderApplied 01s of one delivery batch in one message (see DocumentStatusBatchEvent). */
  documentStatusChangedBatch: defineEvent(
    'document.status-changed-batch',
    Subjects.documentStatusChanged,
    (p: DocumentStatusBatchEvent) =>
      Array.isArray(p?.statuses) && p.statuses.length > 0
        ? p.statuses.flatMap((x, i) => statusShape(x).map((problem) => `statuses[${i}]: ${problem}`))
        : ['statuses must be a non-empty array'],
  ),
  busDelivery: defineEvent('bus.delivery', Subjects.busDelivery, (p: DocumentDeliveryEvent) => {
    const out = shape({
      deliveryId: 'string',
      sourceDocumentId: 'string',
      edxmlDocumentId: 'string',
      fromOrganizationCode: 'string',
      recipients: 'array',
      document: 'object',
      attachments: 'array',
    })(p);
    if (Array.isArray(p.recipients) && p.recipients.length === 0) out.push('recipients is empty');
    for (const r of p.recipients ?? [])
      if (!r || typeof r.organizationCode !== 'string' || typeof r.deliveryId !== 'string')
        out.push('recipients[] needs organizationCode and deliveryId');
    return out;
  }),
  busStatus: defineEvent('bus.status', Subjects.busStatus, (p: DocumentStatusEvent) => statusShape(p)),
  busExchangeState: defineEvent('bus.exchange-state', Subjects.busExchangeState, (p: ExchangeStateEvent) =>
    shape({ documentId: 'string', organizationCode: 'string', state: 'string', at: 'string' })(p),
  ),
} as const;

/**
 * Core NATS (not JetStream) subject that wakes the outbox relays of one schema after a commit in another
 * replica; losing one only delays publishing until the relay's fallback poll.
 */
export const outboxWakeSubject = (schema: string): string =>
  qualify(`outbox.wake.${schema.replace(/[^a-zA-Z0-9_-]/g, '_')}`);

/** Every schema's outbox wake-up (for NATS permissions: a relay may wake any schema's relays, nothing more). */
export const outboxWakeAll = (): string => qualify('outbox.wake.*');
