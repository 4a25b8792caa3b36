// Answers of the API as API.md promises them. The services' OpenAPI documents describe requests (the generated
// types in ./generated); their answers are plain objects without response schemas, so these are written from
// the contract. Fields beyond the contract may be present.

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token?: string;
}

/** What a client keeps between calls (and the CLI in its config file). */
export interface Tokens {
  accessToken: string;
  refreshToken?: string;
  /** Epoch milliseconds. */
  expiresAt?: number;
}

export interface Me {
  sub: string;
  username?: string;
  organizationCode: string;
  roles: string[];
  type: 'user' | 'client';
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export type DocumentStatus =
  | 'draft'
  | 'queued'
  | 'sent'
  | 'arrived'
  | 'rejected'
  | 'accepted'
  | 'assigned'
  | 'processing'
  | 'completed'
  | 'recalled'
  | 'failed'
  | 'expired';

export interface RecipientState {
  organizationCode: string;
  status: DocumentStatus;
  statusCode?: string;
  reason?: string;
  updatedAt?: string;
}

export interface DocumentView {
  id: string;
  direction: 'outgoing' | 'incoming';
  number: string;
  notation: string;
  type: string;
  typeName?: string;
  subject: string;
  promulgationDate: string;
  secrecy: string;
  urgency: string;
  status?: DocumentStatus;
  /** Outgoing. */
  recipients?: RecipientState[];
  recipientCounts?: Record<string, number>;
  /** Incoming. */
  fromOrganizationCode?: string;
  arrivalNumber?: number;
  arrivalDate?: string;
  [field: string]: unknown;
}

export interface SignatureVerdict {
  present: boolean;
  valid: boolean;
  trusted: boolean;
  signer?: string;
  issuer?: string;
  signedAt?: string;
  problem?: string;
}

export interface Attachment {
  id: string;
  name: string;
  contentType: string;
  size: number;
  sha256: string;
  signature: SignatureVerdict;
}

export interface SendResult {
  id: string;
  recipients: Array<{ organizationCode: string; status: DocumentStatus }>;
}

export interface EdxmlAccepted {
  documentId: string;
  exchanges: Array<{ id: string; to: string; route: string; state: string }>;
}

export interface Exchange {
  id: string;
  documentId: string;
  from: string;
  to: string;
  route: 'local' | 'federation' | 'national-axis';
  state: 'queued' | 'sending' | 'sent' | 'delivered' | 'failed' | 'expired' | 'dead';
  attempts: number;
  lastError?: string;
  trace?: Array<{ at: string; event: string; detail?: unknown }>;
}

export interface Checkpoint {
  origin: string;
  treeSize: number;
  rootHash: string;
  timestamp: string;
  keyId: string;
  signature: string;
}

/** An organization's document event (the webhook body; the gRPC `Watch` stream). */
export interface DocumentEvent {
  id: string;
  type: string;
  time: string;
  organizationCode: string;
  data: { documentId: string; [field: string]: unknown };
  /** Give it back to resume after this event (gRPC only). */
  cursor?: string;
}
