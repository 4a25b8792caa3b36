import { Type } from 'class-transformer';
import {
  IsIn,
  IsISO8601,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  MaxLength,
  ValidateNested,
} from 'class-validator';

/** The catalogue of audit actions; every service emits only these. */
export const AuditActions = {
  // identity
  loginSucceeded: 'auth.login.succeeded',
  loginFailed: 'auth.login.failed',
  accountLocked: 'auth.account.locked',
  tokenIssued: 'auth.token.issued',
  tokenRefreshed: 'auth.token.refreshed',
  tokenRevoked: 'auth.token.revoked',
  refreshReuseDetected: 'auth.refresh.reuse-detected',
  organizationCreated: 'organization.created',
  organizationUpdated: 'organization.updated',
  organizationDeleted: 'organization.deleted',
  userCreated: 'user.created',
  userUpdated: 'user.updated',
  userDeleted: 'user.deleted',
  userRolesChanged: 'user.roles.changed',
  userPasswordChanged: 'user.password.changed',
  userTotpEnabled: 'user.totp.enabled',
  clientCreated: 'client.created',
  clientSecretRotated: 'client.secret.rotated',
  clientDeleted: 'client.deleted',
  signingKeyRotated: 'key.rotated',
  // documents
  documentCreated: 'document.created',
  documentRead: 'document.read',
  attachmentAdded: 'attachment.added',
  attachmentContentRead: 'attachment.content.read',
  documentSent: 'document.sent',
  documentSendRefused: 'document.send.refused',
  documentReceived: 'document.received',
  documentStatusChanged: 'document.status.changed',
  documentStatusRefused: 'document.status.refused',
  documentRecalled: 'document.recalled',
  documentUpdated: 'document.updated',
  documentReplaced: 'document.replaced',
  registerExported: 'register.exported',
  recipientGroupCreated: 'recipient-group.created',
  recipientGroupUpdated: 'recipient-group.updated',
  recipientGroupDeleted: 'recipient-group.deleted',
  registerArchived: 'register.archived',
  subscriptionCreated: 'subscription.created',
  subscriptionDeleted: 'subscription.deleted',
  // integration bus
  exchangeQueued: 'exchange.queued',
  exchangeSent: 'exchange.sent',
  exchangeDelivered: 'exchange.delivered',
  exchangeFailed: 'exchange.failed',
  exchangeRetried: 'exchange.retried',
  exchangeExpired: 'exchange.expired',
  exchangeDead: 'exchange.dead',
  exchangeRefused: 'exchange.refused',
  edxmlReceived: 'edxml.received',
  edxmlRejected: 'edxml.rejected',
  // audit
  checkpointSigned: 'audit.checkpoint.signed',
  checkpointWitnessed: 'audit.checkpoint.witnessed',
  checkpointWitnessRefused: 'audit.checkpoint.witness-refused',
  auditExported: 'audit.exported',
  // generic
  accessDenied: 'access.denied',
} as const;
export type AuditAction = (typeof AuditActions)[keyof typeof AuditActions];

export type AuditOutcome = 'success' | 'failure' | 'denied';

export class AuditActor {
  @IsString() @MaxLength(200) sub!: string;
  @IsOptional() @IsString() @MaxLength(35) organizationCode?: string | null;
  @IsIn(['user', 'client', 'system', 'anonymous']) type!: 'user' | 'client' | 'system' | 'anonymous';
}

export class AuditResource {
  @IsString() @MaxLength(64) type!: string;
  @IsString() @MaxLength(200) id!: string;
}

/** What a service publishes on `Subjects.auditEvent(service)`. */
export class AuditEventPayload {
  @IsUUID() id!: string;
  @IsISO8601() time!: string;
  @IsString() service!: string;
  @IsString() @MaxLength(100) action!: string;
  @ValidateNested() @Type(() => AuditActor) actor!: AuditActor;
  @ValidateNested() @Type(() => AuditResource) resource!: AuditResource;
  @IsIn(['success', 'failure', 'denied']) outcome!: AuditOutcome;
  @IsOptional() @IsString() correlationId?: string;
  @IsOptional() @IsObject() details?: Record<string, unknown>;
}

/**
 * Witnessing (federation): each node's audit service publishes the checkpoints it signs
 * (`Subjects.witnessCheckpointSigned()`); the node's bus forwards them to the central node over the federation
 * link, authenticated by the node certificate; the central bus hands them to its audit service
 * (`Subjects.witnessSubmitted()`), which checks the Ed25519 signature and consistency with the previous
 * checkpoint it witnessed for that node, then countersigns (`Subjects.witnessCosigned()`, sent back).
 */
export interface SignedCheckpointMessage {
  /** The signed checkpoint exactly as GET /audit/checkpoint returns it. */
  checkpoint: {
    origin: string;
    treeSize: number;
    rootHash: string;
    timestamp: string;
    keyId: string;
    signature: string;
  };
  /** Ed25519 public key of `checkpoint.keyId`, base64 of the raw 32 bytes. */
  publicKey: string;
  /** The previous checkpoint this node signed (absent for the first) and the consistency proof from it. */
  previous?: { treeSize: number; rootHash: string };
  consistency: string[];
}

/** Bus → audit on the central node. `nodeId` is authenticated by the bus (node certificate + trust list). */
export interface WitnessSubmittedEvent extends SignedCheckpointMessage {
  nodeId: string;
}

/** The witness's verdict, sent back to the node. */
export interface WitnessCosignedEvent {
  nodeId: string;
  witness: string;
  treeSize: number;
  rootHash: string;
  verdict: 'cosigned' | 'refused';
  reason?: string;
  /** Ed25519 signature by the witness over the checkpoint text (base64), with its key id. */
  cosignature?: string;
  witnessKeyId?: string;
  at: string;
}

declare module './event-map' {
  interface EventMap {
    'witness.checkpoint-signed': SignedCheckpointMessage;
    'witness.submitted': WitnessSubmittedEvent;
    'witness.cosigned': WitnessCosignedEvent;
  }
}
