import type { AttachmentRow, DocumentRow } from '../documents/documents.entity';

const EDXML_NS = 'http://www.mic.gov.vn/TBT/QCVN_102_2016';
const URGENCY_TO_PRIORITY: Record<string, number> = { normal: 0, urgent: 1, 'very-urgent': 2, flash: 3 };

const escapeText = (v: string) =>
  v
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\r/g, '&#xD;');

function el(name: string, value: string | number | null | undefined): string {
  if (value === undefined || value === null || value === '') return '';
  return `<edXML:${name}>${escapeText(String(value))}</edXML:${name}>`;
}
const group = (name: string, inner: string, attrs = '') => `<edXML:${name}${attrs}>${inner}</edXML:${name}>`;
const edxmlDate = (isoDate: string) => isoDate.replace(/-/g, '/');

/**
 * The document's metadata as an edXML package (QCVN 102 MessageHeader and manifest) for the archive. It is
 * written here rather than asked of the bus because the archive needs the metadata, not a transmission: the
 * attachments are referenced by their path in the bag instead of being base64-encoded into the XML a second
 * time, and no trace or signature is invented for a package that never travelled.
 */
export function archiveEdxml(d: DocumentRow, attachments: { row: AttachmentRow; path: string }[]): string {
  const from = d.direction === 'incoming' ? (d.from_organization_code ?? '') : d.organization_code;
  const to = d.direction === 'incoming' ? [d.organization_code] : d.recipients;
  const documentId =
    d.edxml_document_id ?? `${from},${edxmlDate(d.promulgation_date)},${d.number}/${d.notation}`;
  const header =
    group('From', el('OrganId', from)) +
    to.map((code) => group('To', el('OrganId', code))).join('') +
    el('DocumentId', documentId) +
    group('Code', el('CodeNumber', d.number) + el('CodeNotation', d.notation)) +
    group(
      'PromulgationInfo',
      el('Place', d.promulgation_place) + el('PromulgationDate', edxmlDate(d.promulgation_date)),
    ) +
    group('DocumentType', el('Type', d.type) + el('TypeName', d.type_name)) +
    el('Subject', d.subject) +
    el('Content', d.content) +
    group(
      'SignerInfo',
      el('Competence', d.signer?.competence) +
        el('Position', d.signer?.position) +
        el('FullName', d.signer?.fullName),
    ) +
    el('DueDate', d.due_date ? edxmlDate(d.due_date) : undefined) +
    group('OtherInfo', el('Priority', URGENCY_TO_PRIORITY[d.urgency] ?? 0)) +
    el('SteeringType', d.steering ? 1 : 0);
  const manifest = attachments
    .map(({ row, path }, i) =>
      group(
        'Reference',
        el('ContentId', `cid:${i + 1}`) +
          el('ContentType', row.content_type) +
          el('Description', path) +
          el('AttachmentName', row.name),
      ),
    )
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<edXML:edXML xmlns:edXML="${EDXML_NS}"><edXML:edXMLEnvelope><edXML:edXMLHeader>` +
    group('MessageHeader', header) +
    `</edXML:edXMLHeader><edXML:edXMLBody>${group('edXMLManifest', manifest, ' version="1.0"')}</edXML:edXMLBody>` +
    '</edXML:edXMLEnvelope></edXML:edXML>\n'
  );
}
