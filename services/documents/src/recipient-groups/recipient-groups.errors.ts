import { DomainError, notFound } from '@lienthong/common';

export const groupNotFound = () => notFound('RECIPIENT_GROUP_NOT_FOUND', 'No such recipient group');
export const groupNameTaken = (name: string) =>
  new DomainError(
    409,
    'RECIPIENT_GROUP_NAME_TAKEN',
    `Your organization already has a recipient group named "${name}"`,
    [{ field: 'name', errors: ['is already used by another group of your organization'] }],
  );
/** Groups a document names that are not (any longer) groups of the sender's organization. */
export const groupUnknown = (ids: string[]) =>
  new DomainError(
    422,
    'RECIPIENT_GROUP_UNKNOWN',
    `Unknown recipient groups: ${ids.join(', ')}`,
    [{ field: 'recipientGroups', errors: ids.map((id) => `no recipient group ${id} in your organization`) }],
    { recipientGroups: ids },
  );
export const tooManyRecipients = (count: number, max: number) =>
  new DomainError(
    422,
    'RECIPIENTS_TOO_MANY',
    `The recipients expand to ${count} organizations; at most ${max} may receive one document`,
    [{ field: 'recipients', errors: [`expands to ${count} organizations, more than ${max}`] }],
    { count, max },
  );

/** The unique index behind RECIPIENT_GROUP_NAME_TAKEN (migration 1765200000000). */
export const GROUP_NAME_INDEX = 'recipient_groups_name_key';
