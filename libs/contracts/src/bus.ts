import type { SignedCheckpointMessage, WitnessCosignedEvent } from './audit';
import type { DocumentStatusEvent } from './documents';

/**
 * Federation: one message from a node's bus to another node's bus. It is published on
 * `Subjects.federationOut(toNodeId)` into the sender's FEDOUT stream; the receiver's FEDIN stream sources it
 * (across JetStream domains over the leaf-node link), so a link that drops loses nothing.
 * Every message carries `proof`: the sender's node certificate and its signature over the canonical JSON
 * (RFC 8785) of the message without `proof`. A package travels inline (base64) when small, otherwise as raw
 * parts on `Subjects.federationPart(...)` published before this message; `transfer` names them and their hash.
 */
export interface NodeInboundEvent {
  kind: 'package' | 'status' | 'statuses' | 'checkpoint' | 'cosigned';
  fromNodeId: string;
  toNodeId: string;
  /** package: the signed edXML package. */
  sourceDocumentId?: string;
  packageBase64?: string;
  transfer?: { id: string; parts: number; size: number; sha256: string };
  /** status: the receiver's answer travelling back to the sender's node. */
  status?: DocumentStatusEvent;
  /**
   * statuses: several receivers' answers travelling back to the sender's node in one signed message, in
   * order (a federation backlog's 01s; a node before this version refuses the kind, audited).
   */
  statuses?: DocumentStatusEvent[];
  /** checkpoint: this node's signed audit checkpoint for the central witness. */
  checkpoint?: SignedCheckpointMessage;
  /** cosigned: the central witness's answer to a checkpoint. */
  cosigned?: WitnessCosignedEvent;
  proof?: { certificate: string; signature: string };
}

declare module './event-map' {
  interface EventMap {
    'bus.node-inbound': NodeInboundEvent;
  }
}
