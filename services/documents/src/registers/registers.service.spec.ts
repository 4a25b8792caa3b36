import { csvCell } from './registers.service';

describe('register CSV cells', () => {
  it('quotes separators, quotes and line breaks (RFC 4180)', () => {
    expect(csvCell('Số, ký hiệu')).toBe('"Số, ký hiệu"');
    expect(csvCell('a "b"')).toBe('"a ""b"""');
    expect(csvCell('x\r\ny')).toBe('"x\r\ny"');
    expect(csvCell(12)).toBe('12');
    expect(csvCell(null)).toBe('');
  });

  it('neutralises cells a spreadsheet would evaluate as formulas', () => {
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
  });
});
