import { conflict, DomainError, forbidden, notFound, unprocessable } from '@lienthong/common';

export const OrganizationErrors = {
  notFound: (code: string) => notFound('ORGANIZATION_NOT_FOUND', `Organization ${code} not found`),
  exists: (code: string) => conflict('ORGANIZATION_EXISTS', `Organization ${code} already exists`),
  parentNotFound: (code: string) =>
    unprocessable('PARENT_NOT_FOUND', `Parent organization ${code} not found`, [{ field: 'parentCode', errors: ['unknown organization'] }]),
  cycle: () => conflict('ORGANIZATION_CYCLE', 'An organization cannot be moved under itself or its descendants'),
  notEmpty: (code: string) => conflict('ORGANIZATION_NOT_EMPTY', `Organization ${code} still has children, users or clients`),
  outOfScope: (): DomainError => forbidden('OUT_OF_SCOPE', 'Outside the organizations you manage'),
};
