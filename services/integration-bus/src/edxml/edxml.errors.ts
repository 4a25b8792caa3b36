/** Codes of API.md (Integration bus) for refused edXML. */
export type EdxmlErrorCode = 'EDXML_INVALID' | 'EDXML_FORBIDDEN_CONSTRUCT' | 'EDXML_TOO_LARGE';

/** A refused edXML message; `element` names what is missing or bad so the sender can fix it. */
export class EdxmlError extends Error {
  constructor(
    readonly code: EdxmlErrorCode,
    message: string,
    readonly element?: string,
  ) {
    super(message);
    this.name = 'EdxmlError';
  }
}

export const invalid = (element: string, problem = 'is missing') =>
  new EdxmlError('EDXML_INVALID', `${element} ${problem}`, element);
