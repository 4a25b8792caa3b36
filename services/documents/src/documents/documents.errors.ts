import { conflict, DomainError, notFound, unprocessable } from '@lienthong/common';

export const documentNotFound = () => notFound('DOCUMENT_NOT_FOUND', 'No such document');
export const attachmentNotFound = () => notFound('ATTACHMENT_NOT_FOUND', 'No such attachment');
export const documentClassified = () =>
  unprocessable(
    'DOCUMENT_CLASSIFIED',
    'Classified documents (Mật, Tối mật, Tuyệt mật) are never exchanged electronically',
  );
export const recipientUnknown = (codes: string[], field = 'recipients') =>
  new DomainError(
    422,
    'RECIPIENT_UNKNOWN',
    `Unknown recipients: ${codes.join(', ')}`,
    [{ field, errors: codes.map((c) => `unknown organization ${c}`) }],
    { recipients: codes },
  );
export const noRecipients = () =>
  unprocessable('NO_RECIPIENTS', 'The document has no recipients', [
    { field: 'recipients', errors: ['at least one recipient is needed to send'] },
  ]);
export const alreadySent = () => conflict('DOCUMENT_ALREADY_SENT', 'The document was already sent');
export const notSent = () => conflict('DOCUMENT_NOT_SENT', 'Only a sent document can be recalled');
export const wrongDirection = (what: string) => conflict('DOCUMENT_DIRECTION', what);
export const statusTransition = (from: string, to: string) =>
  conflict('STATUS_TRANSITION', `Cannot change status from ${from} to ${to}`);
export const numberTaken = (number: string, notation: string, year: number) =>
  new DomainError(
    409,
    'DOCUMENT_NUMBER_TAKEN',
    `Number ${number} with notation ${notation} is already registered by this office (in its ${year} register or with the same promulgation date)`,
    [
      { field: 'number', errors: ['is already used with this notation'] },
      { field: 'notation', errors: ['is already used with this number'] },
    ],
  );

/** The unique indexes behind DOCUMENT_NUMBER_TAKEN (migration 1764500000000). */
export const NUMBER_UNIQUE_INDEXES = ['documents_outgoing_number_key', 'documents_outgoing_edxml_id_key'];
