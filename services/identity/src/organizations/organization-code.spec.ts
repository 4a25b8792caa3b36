import { isQcvn102Code, isValidOrganizationCode } from './organization-code';

describe('organization codes', () => {
  it.each(['000.00.00.H01', '000.00.00.G22', 'A', '1.2.3', 'ABC.DEF', '0'.repeat(35)])('accepts %s', (c) => {
    expect(isValidOrganizationCode(c)).toBe(true);
  });
  it.each(['', '000.00.00.h01', '.A', 'A.', 'A..B', 'A B', 'A-B', '0'.repeat(36), "A'; DROP TABLE x;--", 'Đ.01'])(
    'refuses %s',
    (c) => expect(isValidOrganizationCode(c)).toBe(false),
  );
  it('recognises the QCVN 102 form', () => {
    expect(isQcvn102Code('000.00.00.H01')).toBe(true);
    expect(isQcvn102Code('000.00.00.001')).toBe(false);
  });
});
