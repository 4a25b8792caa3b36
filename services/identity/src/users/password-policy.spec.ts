import { passwordProblems } from './password-policy';

describe('password policy', () => {
  it('accepts a long uncommon password', () => {
    expect(passwordProblems('tám con mèo đen nhảy qua', 'nguyenvana')).toEqual([]);
    expect(passwordProblems('Xk7#pQ2!mW9z', 'clerk1')).toEqual([]);
  });

  it('refuses fewer than 12 characters (counting code points)', () => {
    expect(passwordProblems('Xk7#pQ2!mW9', 'u')).toContain('must be at least 12 characters');
    expect(passwordProblems('đđđđđđđđđđđ1', 'u')).toEqual([]);
  });

  it('refuses the username, in any case or contained', () => {
    expect(passwordProblems('nguyenvana12', 'NguyenVanA12')).toContain('must not contain the username');
    expect(passwordProblems('xx-nguyenvana-xx', 'nguyenvana')).toContain('must not contain the username');
  });

  it('refuses common passwords regardless of case', () => {
    expect(passwordProblems('Password1234', 'someone')).toContain('is too common');
    expect(passwordProblems('123456789012', 'someone')).toContain('is too common');
  });

  it('refuses a single repeated character', () => {
    expect(passwordProblems('zzzzzzzzzzzzzz', 'someone')).toContain('must not repeat one character');
  });
});
