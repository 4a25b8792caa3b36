import type { DocumentStatusEvent } from './documents';

/**
 * Federation: what one integration bus publishes to another on `Subjects.nodeInbound(nodeId)`. The signed
 * edXML package itself is in the `Buckets.attachments()` object store under `packageKey` (its SHA-256),
 * because packages can exceed a NATS message.
 */
export interface NodeInboundEvent {
  kind: 'package' | 'status';
  fromNodeId: string;
  /** package: the sender's document id and the exchange it belongs to. */
  sourceDocumentId?: string;
  exchangeId?: string;
  packageKey?: string;
  packageSize?: number;
  /** status: the receiver's answer travelling back to the sender's node. */
  status?: DocumentStatusEvent;
}

declare module './event-map' {
  interface EventMap {
    'bus.node-inbound': NodeInboundEvent;
  }
}
