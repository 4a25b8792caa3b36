import { qualify, streamName } from './namespace';

/** Durable event subjects (JetStream). Services publish only through these builders. */
export const Subjects = {
  /** Audit events; the token is the emitting service. */
  auditEvent: (service: string) => qualify(`audit.events.${service}`),
  auditAll: () => qualify('audit.events.>'),
  /** Identity: organization created/updated/deleted. */
  organizationChanged: () => qualify('identity.organization.changed'),
  identityAll: () => qualify('identity.>'),
  /**
   * Identity → every service: an access token, or every token of a subject (user or client) issued up to a
   * time, is revoked (`TokenRevokedEvent`). Stream `Streams.revocations()`; every service reads it from the
   * start (its age limit outlives any access token) and keeps listening.
   */
  tokenRevoked: () => qualify('revocations.token'),
  revocationsAll: () => qualify('revocations.>'),
  /** Documents → bus: a document must be delivered to its recipients. */
  documentSendRequested: () => qualify('documents.send-requested'),
  /** Documents → bus: a receiver changed the status of an incoming document (01–06, 15/16). */
  documentStatusChanged: () => qualify('documents.status-changed'),
  /** Documents → bus: the sender recalls a document (business type 1). */
  documentRecallRequested: () => qualify('documents.recall-requested'),
  documentsAll: () => qualify('documents.>'),
  /** Bus → documents: a document arrives for a local organization. */
  busDelivery: () => qualify('bus.delivery'),
  /** Bus → documents: a status answer arrives for the sender of a document. */
  busStatus: () => qualify('bus.status'),
  /** Bus → documents: the exchange state of one recipient changed (sent, failed, expired…). */
  busExchangeState: () => qualify('bus.exchange-state'),
  busAll: () => qualify('bus.>'),
  /** Audit → bus: a checkpoint this node signed, to be witnessed by the central node. */
  witnessCheckpointSigned: () => qualify('witness.checkpoint-signed'),
  /** Bus → audit (central node): another node's checkpoint, authenticated by its node certificate, to witness. */
  witnessSubmitted: () => qualify('witness.submitted'),
  /** Audit → bus (central node): the witness's answer, travelling back to the node that signed the checkpoint. */
  witnessCosigned: () => qualify('witness.cosigned'),
  witnessAll: () => qualify('witness.>'),
  /** Federation: messages from this node to `nodeId` (stream FEDOUT; sourced into the target's FEDIN). */
  federationOut: (nodeId: string) => qualify(`fed.${nodeId}.msg`),
  /** Federation: one part of a large package (raw bytes), read back by subject from the target's FEDIN. */
  /** The subject names the sending node, so a receiver reads only parts published by the node that signed. */
  federationPart: (nodeId: string, fromNodeId: string, transferId: string, part: number) =>
    qualify(`fed.${nodeId}.part.${fromNodeId}.${transferId}.${part}`),
  /** Every part of one transfer (to purge them once the package is applied). */
  federationParts: (nodeId: string, fromNodeId: string, transferId: string) =>
    qualify(`fed.${nodeId}.part.${fromNodeId}.${transferId}.*`),
  federationTo: (nodeId: string) => qualify(`fed.${nodeId}.>`),
  /**
   * The organization directory as a compacted log: the last state of each organization on its own subject
   * (dots of the code become `_`). Written by the authoritative (central) identity, replicated to nodes.
   */
  directoryOrganization: (code: string) => qualify(`directory.org.${code.replace(/\./g, '_')}`),
  directoryAll: () => qualify('directory.>'),
  federationAll: () => qualify('fed.>'),
  /**
   * Core NATS (no stream, nothing stored): "national-axis exchanges were queued", so the sender of every bus
   * replica claims them now instead of at its next poll. Outside `bus.>` so the BUS stream does not keep it.
   */
  busAxisWake: () => qualify('wake.bus.national-axis'),
  /** Test/diagnostic stream subjects. */
  probe: (name: string) => qualify(`probe.${name}`),
  probeAll: () => qualify('probe.>'),
  /** Dead letters: `<stream>.<durable>` of the consumer that gave up. */
  deadLetter: (stream: string, durable: string) => qualify(`dlq.${stream}.${durable}`),
  deadLetterAll: () => qualify('dlq.>'),
} as const;

/** Request/reply methods (core NATS through @nestjs/microservices, queue groups per service). */
export const RpcMethods = {
  organizationGet: 'identity.organization.get',
  organizationResolve: 'identity.organization.resolve',
  organizationSubtree: 'identity.organization.subtree',
  organizationExists: 'identity.organization.exists',
  organizationUpsertState: 'identity.organization.upsert-state',
  /** Documents → audit: the logged events of some resources with inclusion proofs against one signed checkpoint. */
  auditResourceProofs: 'audit.resource-proofs',
} as const;
export type RpcMethod = (typeof RpcMethods)[keyof typeof RpcMethods];

/** The NATS subject of a request/reply method. */
export function rpcSubject(method: string): string {
  return qualify(`rpc.${method}`);
}

/** Subjects for `@MessagePattern` handlers. */
export const RpcSubjects = {
  serviceInfo: (service: string) => rpcSubject(`${service}.info`),
  organizationGet: rpcSubject(RpcMethods.organizationGet),
  organizationResolve: rpcSubject(RpcMethods.organizationResolve),
  organizationSubtree: rpcSubject(RpcMethods.organizationSubtree),
  organizationExists: rpcSubject(RpcMethods.organizationExists),
  organizationUpsertState: rpcSubject(RpcMethods.organizationUpsertState),
  auditResourceProofs: rpcSubject(RpcMethods.auditResourceProofs),
} as const;

export const SERVICE_NAMES = ['identity', 'documents', 'integration-bus', 'audit'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export interface StreamDefinition {
  name: string;
  subjects: string[];
  /** Duplicate-detection window for Nats-Msg-Id, in milliseconds. */
  duplicateWindowMs: number;
  maxAgeMs?: number;
  /** Keep only the last N messages of each subject (a compacted log). */
  maxMsgsPerSubject?: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Streams declared at boot by the services that own them (idempotent). */
export const Streams = {
  audit: (): StreamDefinition => ({
    name: streamName('AUDIT'),
    subjects: [Subjects.auditAll()],
    duplicateWindowMs: HOUR,
    maxAgeMs: 30 * DAY,
  }),
  identity: (): StreamDefinition => ({
    name: streamName('IDENTITY'),
    subjects: [Subjects.identityAll()],
    duplicateWindowMs: HOUR,
    maxAgeMs: 30 * DAY,
  }),
  documents: (): StreamDefinition => ({
    name: streamName('DOCUMENTS'),
    subjects: [Subjects.documentsAll()],
    duplicateWindowMs: HOUR,
    maxAgeMs: 30 * DAY,
  }),
  bus: (): StreamDefinition => ({
    name: streamName('BUS'),
    subjects: [Subjects.busAll()],
    duplicateWindowMs: HOUR,
    maxAgeMs: 30 * DAY,
  }),
  /** Access-token revocations: kept a little longer than the longest access-token lifetime (24 h). */
  revocations: (): StreamDefinition => ({
    name: streamName('REVOCATIONS'),
    subjects: [Subjects.revocationsAll()],
    duplicateWindowMs: HOUR,
    maxAgeMs: 25 * HOUR,
  }),
  /** Last value per organization (max one message per subject, kept forever): see Subjects.directoryOrganization. */
  directory: (): StreamDefinition => ({
    name: streamName('DIRECTORY'),
    subjects: [Subjects.directoryAll()],
    duplicateWindowMs: HOUR,
    maxMsgsPerSubject: 1,
  }),
  witness: (): StreamDefinition => ({
    name: streamName('WITNESS'),
    subjects: [Subjects.witnessAll()],
    duplicateWindowMs: HOUR,
    maxAgeMs: 30 * DAY,
  }),
  deadLetters: (): StreamDefinition => ({
    name: streamName('DLQ'),
    subjects: [Subjects.deadLetterAll()],
    duplicateWindowMs: HOUR,
    maxAgeMs: 90 * DAY,
  }),
  probe: (): StreamDefinition => ({
    name: streamName('PROBE'),
    subjects: [Subjects.probeAll()],
    duplicateWindowMs: HOUR,
    maxAgeMs: DAY,
  }),
} as const;

/** NATS header names shared by every service. */
export const Headers = {
  correlationId: 'X-Correlation-Id',
  eventType: 'X-Event-Type',
  deadLetterReason: 'X-Dead-Letter-Reason',
  deadLetterSubject: 'X-Dead-Letter-Subject',
  deadLetterDeliveries: 'X-Dead-Letter-Deliveries',
} as const;

/**
 * JetStream Object Store buckets. Attachment bytes travel between services through `attachments`
 * (key = lowercase hex SHA-256 of the content), never inside event payloads (NATS messages are ≤ 1 MB).
 */
export const Buckets = {
  attachments: () => streamName('ATTACHMENTS').toLowerCase(),
} as const;
