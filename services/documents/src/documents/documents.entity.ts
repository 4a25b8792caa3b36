import type { DocumentChanges, DocumentSigner, Secrecy, Urgency } from '@lienthong/contracts';

/**
 * Rows of the `documents` schema. The repositories use SQL directly (the counter upsert, the generated
 * tsvector and keyset paging do not fit an ORM well), so these are plain row shapes, not TypeORM entities.
 */
export interface DocumentRow {
  id: string;
  organization_code: string;
  direction: 'outgoing' | 'incoming';
  number: string;
  notation: string;
  type: string;
  type_name: string | null;
  subject: string;
  content: string | null;
  promulgation_place: string | null;
  promulgation_date: string;
  signer: DocumentSigner;
  secrecy: Secrecy;
  urgency: Urgency;
  steering: boolean;
  due_date: string | null;
  recipients: string[];
  /** The rules and groups an outgoing document was addressed with (expanded into `recipients` at send). */
  recipient_rules: { under: string; level?: string; sector?: string }[];
  recipient_groups: string[];
  /** outgoing: draft | sent | recalled; incoming: the receiver's status name. */
  state: string;
  status_code: string | null;
  status_reason: string | null;
  assignee: string | null;
  from_organization_code: string | null;
  source_document_id: string | null;
  edxml_document_id: string | null;
  delivery_id: string | null;
  register_year: number;
  register_number: number;
  arrival_at: string | null;
  arrival_date: string | null;
  sent_at: string | null;
  completed_at: string | null;
  created_by: string;
  created_at: string;
  updated_at: string;
  /** created_at as PostgreSQL text (microsecond precision) for keyset cursors. */
  page_ts: string;
  /** Recalls, updates and replacements of this document, oldest first. */
  history: HistoryEntry[];
  /** This organization's own copy of the document this one replaces / that replaces this one. */
  replaces_id: string | null;
  replaced_by_id: string | null;
}

/** One business event in a document's life (business type 1 recall, 2 update, 3 replace). */
export interface HistoryEntry {
  businessType: 1 | 2 | 3;
  at: string;
  reason?: string;
  changes?: DocumentChanges;
  /** A recall (1) the recipient refused (answered 16) because it had completed the document. */
  refused?: boolean;
}

export interface RecipientRow {
  document_id: string;
  organization_code: string;
  status: string;
  status_code: string | null;
  reason: string | null;
  updated_at: string;
}

export interface AttachmentRow {
  id: string;
  document_id: string;
  name: string;
  content_type: string;
  size: string;
  sha256: string;
  signature: Record<string, unknown>;
  signatures: Record<string, unknown>[];
  created_at: string;
}
