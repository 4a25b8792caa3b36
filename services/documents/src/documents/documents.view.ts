import type { AttachmentRow, DocumentRow, RecipientRow } from './documents.entity';

const iso = (v: unknown): string | null => (v == null ? null : new Date(v as string).toISOString());

/** Vietnam has one time zone (UTC+7, no DST): register years and arrival dates follow it. */
export function vietnamDate(at: Date = new Date()): string {
  return new Date(at.getTime() + 7 * 3_600_000).toISOString().slice(0, 10);
}
export function vietnamYear(at: Date = new Date()): number {
  return Number(vietnamDate(at).slice(0, 4));
}

export function attachmentView(a: AttachmentRow) {
  return {
    id: a.id,
    name: a.name,
    contentType: a.content_type,
    size: Number(a.size),
    sha256: a.sha256,
    signature: a.signature,
    signatures: a.signatures,
  };
}

/** The API shape of a document (API.md): common metadata plus the outgoing or incoming view. */
export function documentView(d: DocumentRow, recipients: RecipientRow[], attachments: AttachmentRow[]) {
  const common = {
    id: d.id,
    direction: d.direction,
    organizationCode: d.organization_code,
    number: d.number,
    notation: d.notation,
    type: d.type,
    ...(d.type_name ? { typeName: d.type_name } : {}),
    subject: d.subject,
    ...(d.content != null ? { content: d.content } : {}),
    ...(d.promulgation_place ? { promulgationPlace: d.promulgation_place } : {}),
    promulgationDate: d.promulgation_date,
    signer: d.signer,
    secrecy: d.secrecy,
    urgency: d.urgency,
    steering: d.steering,
    dueDate: d.due_date,
    registerYear: d.register_year,
    // Recalls, updates and replacements (business types 1–3), oldest first; links to this office's own copies.
    history: d.history ?? [],
    ...(d.replaces_id ? { replaces: d.replaces_id } : {}),
    ...(d.replaced_by_id ? { replacedBy: d.replaced_by_id } : {}),
    attachments: attachments.map(attachmentView),
    createdAt: iso(d.created_at),
    updatedAt: iso(d.updated_at),
  };
  if (d.direction === 'outgoing') {
    const sent = new Map(recipients.map((r) => [r.organization_code, r]));
    return {
      ...common,
      outgoingNumber: d.register_number,
      state: d.state,
      sentAt: iso(d.sent_at),
      // As addressed; `recipients` is their expansion at send time (before send: only the listed codes).
      recipientRules: d.recipient_rules ?? [],
      recipientGroups: d.recipient_groups ?? [],
      // Before send the requested recipients show as `draft`; after, their per-recipient exchange status.
      recipients: d.recipients.map((code) => {
        const r = sent.get(code);
        if (!r) return { organizationCode: code, status: 'draft', updatedAt: iso(d.updated_at) };
        return {
          organizationCode: code,
          status: r.status,
          ...(r.status_code ? { statusCode: r.status_code } : {}),
          ...(r.reason ? { reason: r.reason } : {}),
          updatedAt: iso(r.updated_at),
        };
      }),
    };
  }
  return {
    ...common,
    fromOrganizationCode: d.from_organization_code,
    arrivalNumber: d.register_number,
    arrivalDate: d.arrival_date,
    status: d.state,
    ...(d.status_code ? { statusCode: d.status_code } : {}),
    ...(d.status_reason ? { reason: d.status_reason } : {}),
    ...(d.assignee ? { assignee: d.assignee } : {}),
  };
}
