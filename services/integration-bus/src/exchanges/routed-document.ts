import { derivedUuid } from '@lienthong/common';
import {
  STATUS_CODES,
  type AttachmentRef,
  type DocumentChanges,
  type DocumentSendRequestedEvent,
  type ReplacedDocumentRef,
  type Urgency,
} from '@lienthong/contracts';
import { createHash } from 'node:crypto';
import {
  formatDocumentId,
  type EdxmlAttachment,
  type EdxmlPackage,
  type EdxmlPackageOutline,
  type Priority,
} from '../edxml';

/** What the bus routes, whatever its origin (documents, inbound API, national axis, another node). */
export interface RoutedDocument {
  /** The sender's document id (documents' uuid) or, for packages from outside, the edXML DocumentId. */
  sourceDocumentId: string;
  edxmlDocumentId: string;
  fromOrganizationCode: string;
  recipients: string[];
  businessType: 0 | 1 | 2 | 3;
  reason?: string;
  /** Distinguishes two updates (business type 2) of one document; part of the exchanges' uniqueness. */
  businessKey?: string;
  /** Business type 2: the changed fields (from documents; a package carries only the new values). */
  changes?: DocumentChanges;
  /** Business type 3: the document replaced. */
  replaces?: ReplacedDocumentRef;
  document: DocumentSendRequestedEvent['document'];
  attachments: AttachmentRef[];
  /** Trace headers already on the package (hops before this node). */
  traces?: { organId: string; timestamp: string }[];
}

/** Deterministic ids make every derived event idempotent across redeliveries and restarts. */
export { derivedUuid };

export function exchangeIdFor(fromCode: string, edxmlDocumentId: string, to: string): string {
  return derivedUuid(`exchange|${fromCode}|${edxmlDocumentId}|${to}`);
}

const URGENCY_TO_PRIORITY: Record<Urgency, Priority> = { normal: 0, urgent: 1, 'very-urgent': 2, flash: 3 };
const PRIORITY_TO_URGENCY: Urgency[] = ['normal', 'urgent', 'very-urgent', 'flash', 'flash'];

export function fromSendRequested(ev: DocumentSendRequestedEvent): RoutedDocument {
  return {
    sourceDocumentId: ev.documentId,
    // An update keeps the DocumentId the recipients know even when it changes the promulgation date.
    edxmlDocumentId:
      ev.edxmlDocumentId ??
      formatDocumentId(
        ev.fromOrganizationCode,
        ev.document.promulgationDate,
        ev.document.number,
        ev.document.notation,
      ),
    fromOrganizationCode: ev.fromOrganizationCode,
    recipients: ev.recipients,
    businessType: ev.businessType,
    reason: ev.reason,
    ...(ev.businessKey ? { businessKey: ev.businessKey } : {}),
    ...(ev.changes ? { changes: ev.changes } : {}),
    ...(ev.replaces ? { replaces: ev.replaces } : {}),
    document: ev.document,
    attachments: ev.attachments,
  };
}

/** The package for one route; attachment bytes come from `bytesOf`. */
export async function toPackage(
  d: RoutedDocument,
  to: string[],
  nodeOrganId: string,
  bytesOf: (a: AttachmentRef) => Promise<Buffer>,
): Promise<EdxmlPackage> {
  const outline = toPackageOutline(d, to, nodeOrganId);
  const attachments = [];
  for (const [i, a] of outline.attachments.entries()) {
    attachments.push({ ...a, content: await bytesOf(d.attachments[i]) });
  }
  return { ...outline, attachments };
}

/** The package for one route without the attachments' bytes (attachment i of the outline is `d.attachments[i]`). */
export function toPackageOutline(d: RoutedDocument, to: string[], nodeOrganId: string): EdxmlPackageOutline {
  const attachments = d.attachments.map((a, i) => ({
    contentId: `cid:${i + 1}`,
    name: a.name,
    contentType: a.contentType,
  }));
  const doc = d.document;
  return {
    from: { organId: d.fromOrganizationCode },
    to: to.map((organId) => ({ organId })),
    documentId: d.edxmlDocumentId,
    codeNumber: doc.number,
    codeNotation: doc.notation,
    promulgationPlace: doc.promulgationPlace,
    promulgationDate: doc.promulgationDate,
    type: doc.type,
    typeName: doc.typeName,
    subject: doc.subject,
    content: doc.content,
    signer: {
      competence: doc.signer.competence,
      position: doc.signer.position,
      fullName: doc.signer.fullName,
    },
    dueDate: doc.dueDate ?? undefined,
    priority: URGENCY_TO_PRIORITY[doc.urgency] ?? 0,
    steeringType: doc.steering ? 1 : 0,
    toPlaces: [],
    responseFor: [],
    traces: [
      ...(d.traces ?? []),
      { organId: nodeOrganId, timestamp: new Date(Math.floor(Date.now() / 1000) * 1000).toISOString() },
    ],
    businessDocType: d.businessType,
    businessDocReason: d.reason,
    ...(d.businessType === 3 && d.replaces
      ? {
          businessDocumentId: d.replaces.edxmlDocumentId,
          replacementInfo: [{ documentId: d.replaces.edxmlDocumentId, organIds: to }],
        }
      : {}),
    paper: 0,
    attachments,
  };
}

/**
 * A received package becomes a routed document; attachments are stored by `store` (returns the sha256): bytes
 * in memory, or a file a streamed read decoded them to.
 */
export async function fromPackage(
  p: EdxmlPackage,
  sourceDocumentId: string | undefined,
  store: (a: EdxmlAttachment) => Promise<string>,
): Promise<RoutedDocument> {
  const attachments: AttachmentRef[] = [];
  for (const a of p.attachments) {
    const sha256 = await store(a);
    attachments.push({
      id: derivedUuid(`attachment|${p.documentId}|${a.contentId}|${sha256}`),
      name: a.name,
      contentType: a.contentType,
      size: a.size ?? a.content.length,
      sha256,
      storageKey: sha256,
    });
  }
  return {
    sourceDocumentId: sourceDocumentId ?? p.documentId,
    edxmlDocumentId: p.documentId,
    fromOrganizationCode: p.from.organId,
    recipients: p.to.map((t) => t.organId),
    businessType: p.businessDocType,
    reason: p.businessDocReason,
    ...(p.businessDocType === 2 ? { businessKey: businessKeyOf(p) } : {}),
    ...(replacedDocumentId(p)
      ? { replaces: { sourceDocumentId: replacedDocumentId(p)!, edxmlDocumentId: replacedDocumentId(p)! } }
      : {}),
    document: {
      number: p.codeNumber,
      notation: p.codeNotation,
      type: p.type,
      typeName: p.typeName,
      subject: p.subject,
      content: p.content,
      promulgationPlace: p.promulgationPlace,
      promulgationDate: p.promulgationDate,
      signer: {
        competence: p.signer.competence,
        position: p.signer.position ?? '',
        fullName: p.signer.fullName ?? '',
      },
      // edXML has no secrecy field: only non-classified documents are exchanged electronically.
      secrecy: 'none',
      urgency: PRIORITY_TO_URGENCY[p.priority] ?? 'normal',
      steering: p.steeringType === 1,
      dueDate: p.dueDate ?? null,
    },
    attachments,
    traces: p.traces,
  };
}

/** The DocumentId a replacement (business type 3) package replaces. */
export function replacedDocumentId(p: EdxmlPackage): string | undefined {
  if (p.businessDocType !== 3) return undefined;
  return p.replacementInfo?.[0]?.documentId ?? p.businessDocumentId;
}

/**
 * The key of an update (business type 2) received as a package: a digest of its reason and of the values it
 * sets, so the same update posted twice is one update and a different one is another.
 */
export function businessKeyOf(p: EdxmlPackage): string {
  const values = [
    p.businessDocReason ?? '',
    p.subject,
    p.priority,
    p.dueDate ?? '',
    p.promulgationDate,
    p.signer.competence ?? '',
    p.signer.position ?? '',
    p.signer.fullName ?? '',
  ];
  return `edxml:${createHash('sha256').update(JSON.stringify(values)).digest('hex').slice(0, 32)}`;
}

export const STATUS_NAMES = Object.fromEntries(
  Object.entries(STATUS_CODES).map(([k, v]) => [v, k]),
) as Record<string, keyof typeof STATUS_CODES>;
