import type { Document, Element } from '@xmldom/xmldom';
import { invalid } from './edxml.errors';
import { parseDocumentId, parseEdxmlDate, parseEdxmlTimestamp } from './edxml.format';
import type {
  BusinessDocType,
  DecodedContent,
  EdxmlAttachment,
  EdxmlOrgan,
  EdxmlPackage,
  EdxmlResponseFor,
  EdxmlStaffInfo,
  EdxmlStatus,
  Priority,
} from './edxml.types';
import {
  child,
  childElements,
  localName,
  optText,
  parseSafeXml,
  reqText,
  requireChild,
  textOf,
  type SafeXmlLimits,
} from './safe-xml';

/** Parser limits: the XML ones plus how many `To` entries one package may name. */
export interface EdxmlLimits extends SafeXmlLimits {
  maxRecipients?: number;
  /**
   * Set by the streamed reader (edxml.reader.ts): it decoded every ContentTransferEncoded text itself and left
   * `stream:<index>` in its place.
   */
  streamed?: DecodedContent[];
}

/** API.md: a document goes to at most 20,000 organizations. */
export const DEFAULT_MAX_RECIPIENTS = 20_000;

export type EdxmlMessage =
  | { kind: 'package'; package: EdxmlPackage; doc: Document }
  | { kind: 'status'; status: EdxmlStatus; doc: Document };

/** Parses a package or a status message, whichever the text is. */
export function parseEdxml(input: string | Buffer, limits: EdxmlLimits): EdxmlMessage {
  const doc = parseSafeXml(input, limits);
  const root = doc.documentElement!;
  if (localName(root) === 'Envelope') {
    const status = findStatus(root);
    if (status) return { kind: 'status', status: readStatus(status), doc };
    const env = findDeep(root, 'edXMLEnvelope', 3);
    if (env) return { kind: 'package', package: readPackage(env.parentNode as Element, env, limits), doc };
    throw invalid('Envelope/Header/Status');
  }
  return { kind: 'package', package: readPackageRoot(root, limits), doc };
}

export function parsePackage(
  input: string | Buffer,
  limits: EdxmlLimits,
): { package: EdxmlPackage; doc: Document } {
  const m = parseEdxml(input, limits);
  if (m.kind !== 'package') throw invalid('edXML', 'is missing (a status message was sent)');
  return { package: m.package, doc: m.doc };
}

export function parseStatus(input: string | Buffer, limits: SafeXmlLimits): EdxmlStatus {
  const m = parseEdxml(input, limits);
  if (m.kind !== 'status') throw invalid('Envelope/Header/Status');
  return m.status;
}

function findDeep(root: Element, name: string, depth: number): Element | undefined {
  if (localName(root) === name) return root;
  if (depth === 0) return undefined;
  for (const c of childElements(root)) {
    const f = findDeep(c, name, depth - 1);
    if (f) return f;
  }
  return undefined;
}

function findStatus(envelope: Element): Element | undefined {
  const header = child(envelope, 'Header');
  return (header && child(header, 'Status')) ?? findDeep(envelope, 'Status', 3);
}

function readPackageRoot(root: Element, limits: EdxmlLimits): EdxmlPackage {
  if (localName(root) === 'edXMLEnvelope') return readPackage(root, root, limits);
  if (localName(root) !== 'edXML') throw invalid('edXML', `is missing (root element is ${localName(root)})`);
  return readPackage(root, requireChild(root, 'edXMLEnvelope', 'edXML'), limits);
}

function organ(e: Element, path: string): EdxmlOrgan {
  return {
    organId: reqText(e, 'OrganId', path),
    organizationInCharge: optText(e, 'OrganizationInCharge'),
    organName: optText(e, 'OrganName'),
    organAdd: optText(e, 'OrganAdd'),
    email: optText(e, 'Email'),
    telephone: optText(e, 'Telephone'),
    fax: optText(e, 'Fax'),
    website: optText(e, 'Website'),
  };
}

function responseFor(e: Element, path: string): EdxmlResponseFor {
  const date = optText(e, 'PromulgationDate');
  return {
    organId: reqText(e, 'OrganId', path),
    code: optText(e, 'Code'),
    promulgationDate: date ? parseEdxmlDate(date, `${path}/PromulgationDate`) : undefined,
    documentId: reqText(e, 'DocumentId', path),
  };
}

function staff(e: Element | undefined): EdxmlStaffInfo | undefined {
  if (!e) return undefined;
  return {
    department: optText(e, 'Department'),
    staff: optText(e, 'Staff'),
    email: optText(e, 'Email'),
    mobile: optText(e, 'Mobile'),
  };
}

function intIn<T extends number>(
  value: string | undefined,
  allowed: readonly number[],
  element: string,
  fallback: T,
): T {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || !allowed.includes(n))
    throw invalid(element, `must be one of ${allowed.join(', ')}: "${value.slice(0, 20)}"`);
  return n as T;
}

function optInt(value: string | undefined, element: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw invalid(element, `must be a non-negative integer: "${value.slice(0, 20)}"`);
  return n;
}

function readPackage(root: Element, envelope: Element, limits: EdxmlLimits): EdxmlPackage {
  const H = 'edXML/edXMLEnvelope/edXMLHeader';
  const header = requireChild(envelope, 'edXMLHeader', 'edXML/edXMLEnvelope');
  const mh = requireChild(header, 'MessageHeader', H);
  const M = `${H}/MessageHeader`;
  const from = organ(requireChild(mh, 'From', M), `${M}/From`);
  const toElements = childElements(mh, 'To');
  const maxTo = limits.maxRecipients ?? DEFAULT_MAX_RECIPIENTS;
  // Refused here, as bad input, before routing resolves every recipient.
  if (toElements.length > maxTo) throw invalid(`${M}/To`, `must appear at most ${maxTo} times`);
  const to = toElements.map((t) => organ(t, `${M}/To`));
  if (to.length === 0) throw invalid(`${M}/To`);
  const documentId = reqText(mh, 'DocumentId', M);
  parseDocumentId(documentId, `${M}/DocumentId`);
  const code = requireChild(mh, 'Code', M);
  const promulgation = requireChild(mh, 'PromulgationInfo', M);
  const docType = requireChild(mh, 'DocumentType', M);
  const signer = child(mh, 'SignerInfo');
  const other = child(mh, 'OtherInfo');
  const dueDate = optText(mh, 'DueDate');
  const direction = optText(other, 'Direction');
  const appendixes = other && child(other, 'Appendixes');
  const toPlaces = child(mh, 'ToPlaces');

  const traceList = child(header, 'TraceHeaderList');
  const traces = traceList
    ? childElements(traceList, 'TraceHeader').map((t) => ({
        organId: reqText(t, 'OrganId', `${H}/TraceHeaderList/TraceHeader`),
        timestamp: parseEdxmlTimestamp(
          reqText(t, 'Timestamp', `${H}/TraceHeaderList/TraceHeader`),
          `${H}/TraceHeaderList/TraceHeader/Timestamp`,
        ),
      }))
    : [];
  const business = traceList && (child(traceList, 'Bussiness') ?? child(traceList, 'Business'));
  const B = `${H}/TraceHeaderList/Bussiness`;

  const attachments: EdxmlAttachment[] = [];
  const encoded = child(root, 'AttachmentEncoded') ?? child(envelope, 'AttachmentEncoded');
  if (encoded) {
    for (const a of childElements(encoded, 'Attachment')) {
      const A = 'edXML/AttachmentEncoded/Attachment';
      const data = textOf(requireChild(a, 'ContentTransferEncoded', A)) ?? '';
      if (limits.streamed) {
        const decoded = limits.streamed[Number(/^stream:(\d+)$/.exec(data)?.[1] ?? NaN)];
        if (!decoded) throw invalid(`${A}/ContentTransferEncoded`, 'is not base64');
        attachments.push({
          contentId: reqText(a, 'ContentId', A),
          name: reqText(a, 'AttachmentName', A),
          description: optText(a, 'Description'),
          contentType: optText(a, 'ContentType') ?? 'application/octet-stream',
          content: decoded.content ?? Buffer.alloc(0),
          size: decoded.size,
          sha256: decoded.sha256,
          ...(decoded.file ? { file: decoded.file } : {}),
        });
        continue;
      }
      const compact = data.replace(/\s+/g, '');
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0) {
        throw invalid(`${A}/ContentTransferEncoded`, 'is not base64');
      }
      attachments.push({
        contentId: reqText(a, 'ContentId', A),
        name: reqText(a, 'AttachmentName', A),
        description: optText(a, 'Description'),
        contentType: optText(a, 'ContentType') ?? 'application/octet-stream',
        content: Buffer.from(compact, 'base64'),
      });
    }
  }

  const promulgationDate = reqText(promulgation, 'PromulgationDate', `${M}/PromulgationInfo`);
  const businessDocType = intIn<BusinessDocType>(
    optText(business, 'BussinessDocType') ?? optText(business, 'BusinessDocType'),
    [0, 1, 2, 3],
    `${B}/BussinessDocType`,
    0,
  );
  const replacementList = business && child(business, 'ReplacementInfoList');
  const replacementInfo = replacementList
    ? childElements(replacementList, 'ReplacementInfo').map((r) => {
        const R = `${B}/ReplacementInfoList/ReplacementInfo`;
        const id = reqText(r, 'DocumentId', R);
        parseDocumentId(id, `${R}/DocumentId`);
        const organs = child(r, 'OrganIdList');
        return {
          documentId: id,
          organIds: organs ? childElements(organs, 'OrganId').map((o) => (textOf(o) ?? '').trim()) : [],
        };
      })
    : undefined;
  const businessDocumentId = optText(business, 'DocumentId');
  if (businessDocumentId) parseDocumentId(businessDocumentId, `${B}/DocumentId`);
  return {
    from,
    to,
    documentId,
    codeNumber: reqText(code, 'CodeNumber', `${M}/Code`),
    codeNotation: optText(code, 'CodeNotation') ?? '',
    promulgationPlace: optText(promulgation, 'Place'),
    promulgationDate: parseEdxmlDate(promulgationDate, `${M}/PromulgationInfo/PromulgationDate`),
    type: reqText(docType, 'Type', `${M}/DocumentType`),
    typeDetail: optText(docType, 'TypeDetail'),
    typeName: optText(docType, 'TypeName'),
    subject: reqText(mh, 'Subject', M),
    content: optText(mh, 'Content'),
    signer: {
      competence: optText(signer, 'Competence'),
      position: optText(signer, 'Position'),
      fullName: optText(signer, 'FullName'),
    },
    dueDate: dueDate ? parseEdxmlDate(dueDate, `${M}/DueDate`) : undefined,
    priority: intIn<Priority>(optText(other, 'Priority'), [0, 1, 2, 3, 4], `${M}/OtherInfo/Priority`, 0),
    sphereOfPromulgation: optText(other, 'SphereOfPromulgation'),
    typerNotation: optText(other, 'TyperNotation'),
    promulgationAmount: optInt(optText(other, 'PromulgationAmount'), `${M}/OtherInfo/PromulgationAmount`),
    pageAmount: optInt(optText(other, 'PageAmount'), `${M}/OtherInfo/PageAmount`),
    direction: direction === undefined ? undefined : direction === 'true' || direction === '1',
    appendixes: appendixes
      ? childElements(appendixes, 'Appendix').map((a) => (textOf(a) ?? '').trim())
      : undefined,
    steeringType: intIn<0 | 1 | 2>(optText(mh, 'SteeringType'), [0, 1, 2], `${M}/SteeringType`, 0),
    toPlaces: toPlaces ? childElements(toPlaces, 'Place').map((p) => (textOf(p) ?? '').trim()) : [],
    responseFor: childElements(mh, 'ResponseFor').map((r) => responseFor(r, `${M}/ResponseFor`)),
    traces,
    businessDocType,
    businessDocReason: optText(business, 'BussinessDocReason') ?? optText(business, 'BusinessDocReason'),
    ...(businessDocumentId && businessDocumentId !== documentId ? { businessDocumentId } : {}),
    ...(replacementInfo?.length ? { replacementInfo } : {}),
    paper:
      optText(business, 'Paper') === undefined
        ? undefined
        : intIn<0 | 1>(optText(business, 'Paper'), [0, 1], `${B}/Paper`, 0),
    staffInfo: staff(business ? child(business, 'StaffInfo') : undefined),
    attachments,
  };
}

/**
 * A replacement (BussinessDocType 3) names the document it replaces (ReplacementInfo, or Bussiness/DocumentId
 * differing from the package's own). The inbound API requires it (400 naming the element); a package from the
 * axis or another node without it is read liberally, as a new document.
 */
export function requireReplacedDocument(p: EdxmlPackage): void {
  if (p.businessDocType !== 3 || p.replacementInfo?.length || p.businessDocumentId) return;
  throw invalid(
    'edXML/edXMLEnvelope/edXMLHeader/TraceHeaderList/Bussiness/ReplacementInfoList',
    'must name the replaced DocumentId for BussinessDocType 3',
  );
}

function readStatus(s: Element): EdxmlStatus {
  const S = 'Envelope/Header/Status';
  const code = reqText(s, 'StatusCode', S);
  if (!/^\d{2}$/.test(code)) throw invalid(`${S}/StatusCode`, `must be two digits: "${code.slice(0, 10)}"`);
  return {
    responseFor: responseFor(requireChild(s, 'ResponseFor', S), `${S}/ResponseFor`),
    from: organ(requireChild(s, 'From', S), `${S}/From`),
    statusCode: code,
    description: optText(s, 'Description'),
    timestamp: parseEdxmlTimestamp(reqText(s, 'Timestamp', S), `${S}/Timestamp`),
    staffInfo: staff(child(s, 'StaffInfo')),
  };
}
