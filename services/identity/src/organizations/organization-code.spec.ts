import { isQcvn102Code, isValidOrganizationCode, organizationCodeProblem } from './organization-code';

describe('organization code validation', () => {
  it.each(['000.00.00.G01', 'A', '01', 'H09.12.34', '000.00.00.A01.X1', 'A'.repeat(35)])(
    'accepts %s',
    (code) => {
      expect(isValidOrganizationCode(code)).toBe(true);
    },
  );

  it.each([
    ['', 'required'],
    ['a00.00.00.G01', 'dot-separated'],
    ['000..00', 'dot-separated'],
    ['.000', 'dot-separated'],
    ['000.', 'dot-separated'],
    ['000-00', 'dot-separated'],
    ["000' OR 1=1", 'dot-separated'],
    ['A'.repeat(36), 'at most 35'],
    ['000.00.00.G01 ', 'dot-separated'],
  ])('refuses %j', (code, why) => {
    expect(organizationCodeProblem(code)).toContain(why);
  });

  it('refuses non-strings', () => {
    expect(isValidOrganizationCode(12)).toBe(false);
    expect(isValidOrganizationCode({ $ne: null })).toBe(false);
  });

  it('recognizes the QCVN 102 form', () => {
    expect(isQcvn102Code('000.00.00.G01')).toBe(true);
    expect(isQcvn102Code('000.00.00.001')).toBe(false);
    expect(isQcvn102Code('H09.12.34')).toBe(false);
  });
});
