import { toEdxmlDate, toEdxmlTimestamp } from './edxml.format';
import {
  EDXML_NS,
  SOAP_ENV_NS,
  type EdxmlAttachment,
  type EdxmlOrgan,
  type EdxmlPackage,
  type EdxmlResponseFor,
  type EdxmlStaffInfo,
  type EdxmlStatus,
} from './edxml.types';

/** Writing strictly: every element in the edXML namespace with the `edXML` prefix, in the order of NATIONAL-AXIS.md. */
const P = 'edXML';

/**
 * Packages are written in their exclusive-canonical form (W3C exc-c14n): no whitespace between elements,
 * namespace declared once on the root, no self-closing tags, and text escaped exactly as c14n escapes it
 * (`&`, `<`, `>`, CR — quotes stay literal). The signer can then digest what it built without parsing and
 * canonicalising it again; edxml.signature.spec.ts checks this against xml-crypto's canonicaliser.
 */
const C14N_TEXT: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#xD;' };

/** Escapes text the way c14n writes it and drops characters XML 1.0 cannot carry. */
export function canonicalText(value: string): string {
  return (
    value
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '')
      // NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR are written as the newline xmldom (ours, xml-crypto's
      // and many receivers' parser) reads them as (it applies XML 1.1's line-end rule): written as they are,
      // a receiver would rebuild a different canonical form and the signature would not verify.
      .replace(/[\u0085\u2028\u2029]/g, '\n')
      // A lone surrogate would become U+FFFD on the wire; write it so here too, so digest and bytes agree.
      .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
      .replace(/[&<>\r]/g, (c) => C14N_TEXT[c])
  );
}

function el(name: string, value: string | number | undefined | null): string {
  if (value === undefined || value === null || value === '') return '';
  const text = canonicalText(String(value));
  // An element whose value was only unwritable characters is left out, as an empty value is.
  return text === '' ? '' : `<${P}:${name}>${text}</${P}:${name}>`;
}

function group(name: string, inner: string, attrs = ''): string {
  return `<${P}:${name}${attrs}>${inner}</${P}:${name}>`;
}

function organ(name: string, o: EdxmlOrgan): string {
  return group(
    name,
    el('OrganId', o.organId) +
      el('OrganizationInCharge', o.organizationInCharge) +
      el('OrganName', o.organName) +
      el('OrganAdd', o.organAdd) +
      el('Email', o.email) +
      el('Telephone', o.telephone) +
      el('Fax', o.fax) +
      el('Website', o.website),
  );
}

function responseFor(r: EdxmlResponseFor): string {
  return group(
    'ResponseFor',
    el('OrganId', r.organId) +
      el('Code', r.code) +
      el('PromulgationDate', r.promulgationDate ? toEdxmlDate(r.promulgationDate) : undefined) +
      el('DocumentId', r.documentId),
  );
}

function staff(s: EdxmlStaffInfo | undefined): string {
  if (!s) return '';
  return group(
    'StaffInfo',
    el('Department', s.department) + el('Staff', s.staff) + el('Email', s.email) + el('Mobile', s.mobile),
  );
}

export const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

/**
 * The package without its signature and without the XML declaration, in two pieces: up to and including
 * `</edXML:TraceHeaderList>`, and the rest. The enveloped signature goes between them; the concatenation
 * is the package's canonical form (what its signature digests).
 */
export interface PackageParts {
  head: string[];
  tail: string[];
}

/** The package without its signature (the signer inserts it after TraceHeaderList). */
export function buildPackage(p: EdxmlPackage): string {
  const { head, tail } = packageParts(p);
  return XML_DECLARATION + head.join('') + tail.join('');
}

export function packageParts(p: EdxmlPackage): PackageParts {
  const { head, tail } = packagePieces(p);
  return {
    head,
    // Base64 has nothing to escape.
    tail: tail.map((t) =>
      typeof t === 'string' ? t : p.attachments[t.attachment].content.toString('base64'),
    ),
  };
}

/** A package whose attachments' bytes are not in memory (the streaming builder reads them one at a time). */
export type EdxmlPackageOutline = Omit<EdxmlPackage, 'attachments'> & {
  attachments: Omit<EdxmlAttachment, 'content'>[];
};

/**
 * The package's canonical pieces with a slot `{ attachment: i }` where the base64 text of attachment i goes
 * (inside its ContentTransferEncoded element). `packageParts` fills the slots from memory;
 * `writeSignedPackage` (edxml.stream.ts) from a stream.
 */
export function packagePieces(p: EdxmlPackageOutline): {
  head: string[];
  tail: (string | { attachment: number })[];
} {
  const header: string[] = [];
  header.push(organ('From', p.from));
  for (const t of p.to) header.push(organ('To', t));
  header.push(el('DocumentId', p.documentId));
  header.push(group('Code', el('CodeNumber', p.codeNumber) + el('CodeNotation', p.codeNotation)));
  header.push(
    group(
      'PromulgationInfo',
      el('Place', p.promulgationPlace) + el('PromulgationDate', toEdxmlDate(p.promulgationDate)),
    ),
  );
  header.push(
    group('DocumentType', el('Type', p.type) + el('TypeDetail', p.typeDetail) + el('TypeName', p.typeName)),
  );
  header.push(el('Subject', p.subject));
  header.push(el('Content', p.content));
  header.push(
    group(
      'SignerInfo',
      el('Competence', p.signer.competence) +
        el('Position', p.signer.position) +
        el('FullName', p.signer.fullName),
    ),
  );
  header.push(el('DueDate', p.dueDate ? toEdxmlDate(p.dueDate) : undefined));
  header.push(
    group(
      'OtherInfo',
      el('Priority', p.priority) +
        el('SphereOfPromulgation', p.sphereOfPromulgation) +
        el('TyperNotation', p.typerNotation) +
        el('PromulgationAmount', p.promulgationAmount) +
        el('PageAmount', p.pageAmount) +
        el('Direction', p.direction === undefined ? undefined : p.direction ? 'true' : 'false') +
        (p.appendixes?.length
          ? group('Appendixes', p.appendixes.map((a) => el('Appendix', a)).join(''))
          : ''),
    ),
  );
  header.push(el('SteeringType', p.steeringType));
  header.push(p.toPlaces.length ? group('ToPlaces', p.toPlaces.map((t) => el('Place', t)).join('')) : '');
  for (const r of p.responseFor) header.push(responseFor(r));

  const traces = p.traces.map((t) =>
    group('TraceHeader', el('OrganId', t.organId) + el('Timestamp', toEdxmlTimestamp(t.timestamp))),
  );
  const business = group(
    'Bussiness',
    el('DocumentId', p.businessDocumentId ?? p.documentId) +
      el('BussinessDocType', p.businessDocType) +
      el('BussinessDocReason', p.businessDocReason) +
      el('Paper', p.paper) +
      staff(p.staffInfo) +
      (p.replacementInfo?.length
        ? group(
            'ReplacementInfoList',
            p.replacementInfo
              .map((r) =>
                group(
                  'ReplacementInfo',
                  el('DocumentId', r.documentId) +
                    group('OrganIdList', r.organIds.map((o) => el('OrganId', o)).join('')),
                ),
              )
              .join(''),
          )
        : ''),
  );

  const manifest = p.attachments
    .map((a) =>
      group(
        'Reference',
        el('ContentId', a.contentId) +
          el('ContentType', a.contentType) +
          el('Description', a.description) +
          el('AttachmentName', a.name),
      ),
    )
    .join('');

  const head: string[] = [
    `<${P}:edXML xmlns:${P}="${EDXML_NS}">`,
    `<${P}:edXMLEnvelope>`,
    `<${P}:edXMLHeader>`,
    group('MessageHeader', header.join('')),
    group('TraceHeaderList', traces.join('') + business),
  ];
  const parts: (string | { attachment: number })[] = [
    `</${P}:edXMLHeader>`,
    `<${P}:edXMLBody>`,
    group('edXMLManifest', manifest, ' version="1.0"'),
    `</${P}:edXMLBody>`,
    `</${P}:edXMLEnvelope>`,
    `<${P}:AttachmentEncoded>`,
  ];
  for (const [i, a] of p.attachments.entries()) {
    parts.push(
      `<${P}:Attachment>` +
        el('ContentId', a.contentId) +
        el('AttachmentName', a.name) +
        el('Description', a.description) +
        el('ContentType', a.contentType) +
        `<${P}:ContentTransferEncoded>`,
    );
    parts.push({ attachment: i });
    parts.push(`</${P}:ContentTransferEncoded></${P}:Attachment>`);
  }
  parts.push(`</${P}:AttachmentEncoded>`, `</${P}:edXML>`);
  return { head, tail: parts };
}

/** A status message: SOAP 1.1 envelope whose header holds edXML:Status. */
export function buildStatus(s: EdxmlStatus): string {
  const status = group(
    'Status',
    responseFor(s.responseFor) +
      organ('From', s.from) +
      el('StatusCode', s.statusCode) +
      el('Description', s.description) +
      el('Timestamp', toEdxmlTimestamp(s.timestamp)) +
      staff(s.staffInfo),
  );
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    `<SOAP-ENV:Envelope xmlns:SOAP-ENV="${SOAP_ENV_NS}" xmlns:${P}="${EDXML_NS}">` +
    `<SOAP-ENV:Header>${status}</SOAP-ENV:Header><SOAP-ENV:Body/></SOAP-ENV:Envelope>`
  );
}
