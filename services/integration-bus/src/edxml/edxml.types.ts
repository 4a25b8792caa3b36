/** The edXML mapping of NATIONAL-AXIS.md in one place (QCVN 102:2016, amended 2022). */
export const EDXML_NS = 'http://www.mic.gov.vn/TBT/QCVN_102_2016';
export const SOAP_ENV_NS = 'http://schemas.xmlsoap.org/soap/envelope/';

export interface EdxmlOrgan {
  organId: string;
  organizationInCharge?: string;
  organName?: string;
  organAdd?: string;
  email?: string;
  telephone?: string;
  fax?: string;
  website?: string;
}

export interface EdxmlResponseFor {
  organId: string;
  code?: string;
  promulgationDate?: string;
  documentId: string;
}

export interface EdxmlTrace {
  organId: string;
  /** ISO 8601 instant (second precision). */
  timestamp: string;
}

export interface EdxmlStaffInfo {
  department?: string;
  staff?: string;
  email?: string;
  mobile?: string;
}

export interface EdxmlAttachment {
  contentId: string;
  name: string;
  description?: string;
  contentType: string;
  /** The bytes, or empty when a streamed read decoded them to `file`. */
  content: Buffer;
  /** Set by a streamed read (edxml.reader.ts): decoded size and SHA-256 (hex), and the file above memory. */
  size?: number;
  sha256?: string;
  file?: string;
}

/** An attachment's bytes as a streamed read decoded them: in memory (small) or in a temporary file. */
export interface DecodedContent {
  size: number;
  sha256: string;
  content?: Buffer;
  file?: string;
}

export interface EdxmlReplacementInfo {
  documentId: string;
  organIds: string[];
}

export type Priority = 0 | 1 | 2 | 3 | 4;
export type BusinessDocType = 0 | 1 | 2 | 3;

export interface EdxmlPackage {
  from: EdxmlOrgan;
  to: EdxmlOrgan[];
  /** `<sender OrganId>,<yyyy/MM/dd>,<number>/<notation>` */
  documentId: string;
  codeNumber: string;
  codeNotation: string;
  promulgationPlace?: string;
  /** YYYY-MM-DD */
  promulgationDate: string;
  type: string;
  typeDetail?: string;
  typeName?: string;
  subject: string;
  content?: string;
  signer: { competence?: string; position?: string; fullName?: string };
  /** YYYY-MM-DD */
  dueDate?: string;
  priority: Priority;
  sphereOfPromulgation?: string;
  typerNotation?: string;
  promulgationAmount?: number;
  pageAmount?: number;
  direction?: boolean;
  appendixes?: string[];
  steeringType: 0 | 1 | 2;
  toPlaces: string[];
  responseFor: EdxmlResponseFor[];
  traces: EdxmlTrace[];
  businessDocType: BusinessDocType;
  businessDocReason?: string;
  /** Bussiness/DocumentId when it is not the package's own: the document replaced (business type 3). */
  businessDocumentId?: string;
  /** Bussiness/ReplacementInfoList: the documents a replacement (type 3) replaces, and for whom. */
  replacementInfo?: EdxmlReplacementInfo[];
  paper?: 0 | 1;
  staffInfo?: EdxmlStaffInfo;
  attachments: EdxmlAttachment[];
}

export interface EdxmlStatus {
  responseFor: EdxmlResponseFor;
  from: EdxmlOrgan;
  /** Two digits (01–06, 13, 15, 16). */
  statusCode: string;
  description?: string;
  /** ISO 8601 instant. */
  timestamp: string;
  staffInfo?: EdxmlStaffInfo;
}

export interface ParsedDocumentId {
  organId: string;
  /** YYYY-MM-DD */
  date: string;
  number: string;
  notation: string;
}
