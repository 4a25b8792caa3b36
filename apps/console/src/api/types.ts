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
  // incoming
  fromOrganizationCode?: string;
  arrivalNumber?: number | null;
  arrivalDate?: string | null;
  status?: string;
  statusCode?: string;
  reason?: string;
  assignee?: string;
  history?: { businessType: number; at: string; reason?: string; changes?: Record<string, unknown> }[];
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
