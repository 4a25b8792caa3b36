import { ORGANIZATION_CODE_MAX_LENGTH, ORGANIZATION_CODE_PATTERN } from '@lienthong/contracts';

/** QCVN 102 form NNN.NN.NN.XNN (the common case; other dot-separated forms are valid too). */
export const QCVN102_CODE_PATTERN = /^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$/;

/** Why a code is refused, or null when it is a valid electronic identifier code. */
export function organizationCodeProblem(code: unknown): string | null {
  if (typeof code !== 'string' || code.length === 0) return 'code is required';
  if (code.length > ORGANIZATION_CODE_MAX_LENGTH)
    return `code must be at most ${ORGANIZATION_CODE_MAX_LENGTH} characters`;
  if (!ORGANIZATION_CODE_PATTERN.test(code)) return 'code must be dot-separated groups of 0-9A-Z';
  return null;
}

export function isValidOrganizationCode(code: unknown): code is string {
  return organizationCodeProblem(code) === null;
}

export function isQcvn102Code(code: string): boolean {
  return QCVN102_CODE_PATTERN.test(code);
}
