import { AuditEventBatch, AuditEventPayload } from './audit';
import {
  DocumentDeliveryEvent,
  DocumentSendRequestedEvent,
  DocumentStatusBatchEvent,
  DocumentStatusEvent,
  ExchangeStateEvent,
} from './documents';
import { DirectoryOrganizationEntry, OrganizationChangedEvent, TokenRevokedEvent } from './identity';

/**
 * Event type names (the X-Event-Type header and envelope.type) and their payloads. The subject of
 * each is given by `Subjects`; this map ties a type name to its payload for typed publish/consume.
 */
export interface EventMap {
  'audit.recorded': AuditEventPayload;
  'audit.recorded-batch': AuditEventBatch;
  'organization.changed': OrganizationChangedEvent;
  'directory.organization': DirectoryOrganizationEntry;
  'token.revoked': TokenRevokedEvent;
  'document.send-requested': DocumentSendRequestedEvent;
  'document.recall-requested': DocumentSendRequestedEvent;
  'document.status-changed': DocumentStatusEvent;
  'document.status-changed-batch': DocumentStatusBatchEvent;
  'bus.delivery': DocumentDeliveryEvent;
  'bus.status': DocumentStatusEvent;
  'bus.exchange-state': ExchangeStateEvent;
  'probe.ping': { n: number; note?: string };
}
export type EventType = keyof EventMap;
