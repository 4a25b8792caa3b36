import { COMMON_PASSWORDS } from './common-passwords';

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 256;

/** Problems with a new password (empty when acceptable): length, not the username, not a common password. */
export function passwordProblems(password: string, username: string): string[] {
  const problems: string[] = [];
  const length = [...password].length;
  if (length < MIN_PASSWORD_LENGTH) problems.push(`must be at least ${MIN_PASSWORD_LENGTH} characters`);
  if (length > MAX_PASSWORD_LENGTH) problems.push(`must be at most ${MAX_PASSWORD_LENGTH} characters`);
  const lower = password.toLowerCase();
  const user = username.toLowerCase();
  if (user && (lower === user || lower.includes(user) || lower === [...user].reverse().join(''))) {
    problems.push('must not contain the username');
  }
  if (COMMON_PASSWORDS.has(lower)) problems.push('is too common');
  if (/^(.)\1+$/.test(password)) problems.push('must not repeat one character');
  return problems;
}
