import { passwordProblems } from './password-policy';

describe('password policy', () => {
  it('accepts a long, unusual password', () => {
    expect(passwordProblems('Cây-tre-xanh-2026!', 'nguyenvana')).toEqual([]);
  });
  it('refuses short ones', () => {
    expect(passwordProblems('Short-1!', 'x')).toContain('must be at least 12 characters');
  });
  it('refuses the username inside the password, whatever the case', () => {
    expect(passwordProblems('NguyenVanA-2026', 'nguyenvana')).toContain('must not contain the username');
  });
  it('refuses common passwords of any length', () => {
    expect(passwordProblems('Password1234', 'x')).toContain('is too common');
    expect(passwordProblems('matkhau123456', 'x')).toContain('is too common');
  });
});
