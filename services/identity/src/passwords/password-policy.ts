import { badRequest } from '@lienthong/common';
import { COMMON_PASSWORDS } from './common-passwords';

export const PASSWORD_MIN_LENGTH = 12;

/** Returns the reasons a password is refused (empty when acceptable). */
export function passwordProblems(password: string, username: string): string[] {
  const problems: string[] = [];
  if (typeof password !== 'string' || password.length < PASSWORD_MIN_LENGTH) {
    problems.push(`must be at least ${PASSWORD_MIN_LENGTH} characters`);
  }
  if (password.length > 256) problems.push('must be at most 256 characters');
  const lower = String(password).toLowerCase();
  if (username && lower.includes(username.toLowerCase())) problems.push('must not contain the username');
  if (COMMON_PASSWORDS.has(lower)) problems.push('is too common');
  return problems;
}

export function assertPasswordAcceptable(password: string, username: string, field = 'password'): void {
  const errors = passwordProblems(password, username);
  if (errors.length) throw badRequest('PASSWORD_POLICY', `The ${field} does not meet the policy`, [{ field, errors }]);
}
