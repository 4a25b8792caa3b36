import { ORGANIZATION_CODE_MAX_LENGTH, ORGANIZATION_CODE_PATTERN } from '@lienthong/contracts';

/** Electronic identifier codes (QĐ 20/2020): dot-separated groups of 0-9A-Z, at most 35 characters. */
export function isValidOrganizationCode(code: unknown): code is string {
  return typeof code === 'string' && code.length <= ORGANIZATION_CODE_MAX_LENGTH && ORGANIZATION_CODE_PATTERN.test(code);
}

/** The QCVN 102 form `NNN.NN.NN.XNN` most agencies have. */
export function isQcvn102Code(code: string): boolean {
  return /^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$/.test(code);
}
