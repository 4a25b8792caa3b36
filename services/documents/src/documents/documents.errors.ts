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

export const notSentForUpdate = () =>
  conflict('DOCUMENT_NOT_SENT', 'Only a sent (and not recalled) document can be updated');
export const replacedUnknown = () =>
  new DomainError(422, 'REPLACED_DOCUMENT_UNKNOWN', 'No outgoing document of this office with that id', [
    { field: 'replaces', errors: ['must be an outgoing document of your organization'] },
  ]);
export const replacedNotSent = () =>
  new DomainError(409, 'REPLACED_DOCUMENT_NOT_SENT', 'Only a document already sent can be replaced', [
    { field: 'replaces', errors: ['the document was not sent'] },
  ]);
export const alreadyReplaced = () =>
  new DomainError(409, 'DOCUMENT_ALREADY_REPLACED', 'The document already has a replacement', [
    { field: 'replaces', errors: ['the document already has a replacement'] },
  ]);

/** The unique index behind DOCUMENT_ALREADY_REPLACED (migration 1765100000000). */
export const REPLACES_UNIQUE_INDEX = 'documents_replaces_key';
export const documentIdTaken = () =>
  new DomainError(
    409,
    'DOCUMENT_NUMBER_TAKEN',
    'Another document of this office has this number, notation and promulgation date',
    [{ field: 'changes.promulgationDate', errors: ['makes the edXML DocumentId of another document'] }],
  );
