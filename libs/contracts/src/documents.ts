export type Secrecy = 'none' | 'confidential' | 'secret' | 'top-secret';
export type Urgency = 'normal' | 'urgent' | 'very-urgent' | 'flash';
export const SECRECY_LEVELS: Secrecy[] = ['none', 'confidential', 'secret', 'top-secret'];
export const URGENCY_LEVELS: Urgency[] = ['normal', 'urgent', 'very-urgent', 'flash'];
export function isClassified(secrecy: Secrecy): boolean {
  return secrecy !== 'none';
}

/** Recipient status names and their national codes (NATIONAL-AXIS.md). */
export const STATUS_CODES = {
  arrived: '01',
  rejected: '02',
  accepted: '03',
  assigned: '04',
  processing: '05',
  completed: '06',
  recalled: '13',
  'recall-agreed': '15',
  'recall-refused': '16',
} as const;
export type RecipientStatus = 'queued' | 'sent' | 'failed' | 'expired' | keyof typeof STATUS_CODES;

export interface DocumentSigner {
  competence?: string;
  position: string;
  fullName: string;
}

export interface AttachmentRef {
  id: string;
  name: string;
  contentType: string;
  size: number;
  sha256: string;
  /** Key of the bytes in the `Buckets.attachments()` object store (= sha256). */
  storageKey: string;
}

/** What an update (business type 2) may change, with the new values. */
export interface DocumentChanges {
  subject?: string;
  urgency?: Urgency;
  dueDate?: string | null;
  promulgationDate?: string;
  signer?: DocumentSigner;
}
export const DOCUMENT_CHANGE_FIELDS = [
  'subject',
  'urgency',
  'dueDate',
  'promulgationDate',
  'signer',
] as const;

/** The document a replacement (business type 3) replaces: the sender's id and its edXML DocumentId. */
export interface ReplacedDocumentRef {
  sourceDocumentId: string;
  edxmlDocumentId: string;
}

/** edXML DocumentId `<sender OrganId>,<yyyy/MM/dd>,<number>/<notation>` (NATIONAL-AXIS.md). */
export function edxmlDocumentIdOf(
  organId: string,
  isoDate: string,
  number: string,
  notation: string,
): string {
  return `${organId},${isoDate.slice(0, 10).replace(/-/g, '/')},${number}/${notation}`;
}

/** Documents → bus. */
export interface DocumentSendRequestedEvent {
  documentId: string;
  fromOrganizationCode: string;
  recipients: string[];
  businessType: 0 | 1 | 2 | 3;
  /** Why, for a recall, an update or a replacement (business types 1–3). */
  reason?: string;
  /** The edXML DocumentId when it is not the one of `document` (an update may change the promulgation date). */
  edxmlDocumentId?: string;
  /** Distinguishes two updates of one document (business type 2): a deterministic id per update. */
  businessKey?: string;
  /** Business type 2: the fields changed, with their new values (`document` holds every new value). */
  changes?: DocumentChanges;
  /** Business type 3: the sender's earlier document this one replaces. */
  replaces?: ReplacedDocumentRef;
  document: {
    number: string;
    notation: string;
    type: string;
    typeName?: string;
    subject: string;
    content?: string;
    promulgationPlace?: string;
    promulgationDate: string;
    signer: DocumentSigner;
    secrecy: Secrecy;
    urgency: Urgency;
    steering: boolean;
    dueDate?: string | null;
  };
  attachments: AttachmentRef[];
}

/** One recipient of a delivery: its own delivery id (claimed once by documents) and exchange. */
export interface DeliveryRecipient {
  organizationCode: string;
  deliveryId: string;
  exchangeId?: string;
}

/**
 * Bus → documents: a document for the local organizations of this node — one message per document per
 * node listing every local recipient (a directive to 10,000 organizations is one message, not 10,000).
 */
export interface DocumentDeliveryEvent {
  /** The message's own id; each recipient's copy is claimed by `recipients[].deliveryId`. */
  deliveryId: string;
  sourceDocumentId: string;
  edxmlDocumentId: string;
  fromOrganizationCode: string;
  /** Every local recipient (always set by the bus; see `toOrganizationCode`). */
  recipients?: DeliveryRecipient[];
  /** @deprecated one-recipient form of messages published before `recipients` existed (still applied). */
  toOrganizationCode?: string;
  /** @deprecated see toOrganizationCode. */
  exchangeId?: string;
  /** 0 new (default), 1 recall, 2 update, 3 replace (edXML business types). */
  businessType?: 0 | 1 | 2 | 3;
  /** Why, for a recall, an update or a replacement (business types 1–3). */
  reason?: string;
  /** Business type 2: the changed fields (absent from edXML packages: the receiver compares with its copy). */
  changes?: DocumentChanges;
  /** Business type 3: the earlier document (sender's id when known, else its edXML DocumentId). */
  replaces?: ReplacedDocumentRef;
  document: DocumentSendRequestedEvent['document'];
  attachments: AttachmentRef[];
}

/** Documents → bus (receiver side) and bus → documents (sender side). */
export interface DocumentStatusEvent {
  statusId: string;
  /** The sender's document id when known (local exchanges), else the edXML DocumentId. */
  sourceDocumentId?: string;
  edxmlDocumentId?: string;
  fromOrganizationCode: string;
  toOrganizationCode: string;
  status: keyof typeof STATUS_CODES;
  statusCode: string;
  reason?: string;
  at: string;
  /**
   * Set by documents when the sender's recipient row was already moved in the receiver's transaction (sender
   * and receiver served by the same documents service): the bus then records delivery but relays nothing back.
   */
  senderApplied?: boolean;
}

/** Bus → documents: exchange state for one recipient. */
export interface ExchangeStateEvent {
  documentId: string;
  organizationCode: string;
  state: 'queued' | 'sending' | 'sent' | 'delivered' | 'failed' | 'expired' | 'dead';
  error?: string;
  at: string;
}
