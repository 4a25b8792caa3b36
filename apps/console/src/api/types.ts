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
  signature: SignatureVerdict | null;
}

export interface RecipientStatus {
  organizationCode: string;
  status: string;
  statusCode?: string;
  reason?: string;
  updatedAt: string;
}

export interface DocumentView {
  id: string;
  direction: 'outgoing' | 'incoming';
  organizationCode: string;
  number: string;
  notation: string;
  type: string;
  typeName?: string;
  subject: string;
  content?: string;
  promulgationPlace?: string;
  promulgationDate: string;
  signer: { competence?: string; position: string; fullName: string };
  secrecy: string;
  urgency: string;
  steering?: boolean;
  dueDate?: string | null;
  registerYear?: number;
  attachments: Attachment[];
  createdAt: string;
  updatedAt: string;
  // outgoing
  outgoingNumber?: number | null;
  state?: string;
  sentAt?: string | null;
  recipients?: RecipientStatus[];
  recipientCounts?: Record<string, number>;
  recipientRules?: RecipientRule[];
  recipientGroups?: string[];
  // incoming
  fromOrganizationCode?: string;
  arrivalNumber?: number | null;
  arrivalDate?: string | null;
  status?: string;
  statusCode?: string;
  reason?: string;
  assignee?: string;
  history?: {
    businessType: number;
    at: string;
    reason?: string;
    changes?: Record<string, unknown>;
    /** A recall this office refused (answered 16) because it had completed the document. */
    refused?: boolean;
  }[];
}

export interface Organization {
  code: string;
  name: string;
  parentCode?: string | null;
  level: string;
  sector: string;
  zone: string;
  nodeId?: string | null;
}

export interface Exchange {
  id: string;
  documentId: string;
  from: string;
  to: string;
  route: string;
  state: string;
  attempts: number;
  lastError?: string | null;
  createdAt?: string;
  updatedAt?: string;
  trace?: { at: string; event: string; detail?: unknown }[];
}

/** Every organization strictly under `under`, optionally of one level and sector (expanded at send time). */
export interface RecipientRule {
  under: string;
  level?: 'central' | 'province' | 'district' | 'commune';
  sector?: 'party' | 'state';
}

/** A named recipient list of the caller's organization (`/api/v1/recipient-groups`). */
export interface RecipientGroup {
  id: string;
  name: string;
  members: string[];
  memberCount: number;
  createdAt: string;
  updatedAt: string;
}

export type LinkStateCounts = Record<'queued' | 'sending' | 'sent' | 'failed' | 'expired' | 'dead', number>;
export interface LinkError {
  at: string;
  message: string;
  exchangeId?: string;
}

/** GET /api/v1/exchanges/links (integration-bus README, "Link status for operators"). */
export interface Links {
  nodeId: string;
  nationalAxis: {
    configured: boolean;
    systemId: string | null;
    circuit: 'closed' | 'open' | 'half-open' | null;
    lastPollAt: string | null;
    lastSuccessfulPollAt: string | null;
    lastSuccessfulSendAt: string | null;
    lastCallAt: string | null;
    lastSuccessfulCallAt: string | null;
    queue: LinkStateCounts;
    lastError: LinkError | null;
  };
  federation: {
    inboundPending: number | null;
    items: {
      nodeId: string;
      domain: string | null;
      linkUp: boolean | null;
      sourceError: string | null;
      sourceActiveMsAgo: number | null;
      lastMessageAt: string | null;
      outboundBacklog: number;
      outbound: LinkStateCounts;
      inboundLag: number | null;
      lastError: LinkError | null;
    }[];
  };
}

/** GET /api/v1/audit/witness/nodes (audit README). */
export interface WitnessNode {
  nodeId: string;
  origin: string | null;
  lastWitnessed: { treeSize: number; rootHash: string; at: string } | null;
  cosigned: number;
  refused: number;
  inconsistent: number;
  lastRefusalAt: string | null;
  lastVerdict: { verdict: string; reason: string | null; treeSize: number; at: string } | null;
}
