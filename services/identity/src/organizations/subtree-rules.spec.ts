import { codeWithinParent, subtreeRuleProblems, type ParentShape } from './subtree-rules';

describe('subtree rules for org-admins', () => {
  const province: ParentShape = {
    code: '000.01.00.P01',
    level: 'province',
    sector: 'party',
    zone: 'party-wan',
    node_id: 'central',
  };
  const ok = {
    code: '000.01.02.D03',
    level: 'district' as const,
    sector: 'party' as const,
    zone: 'party-wan' as const,
    nodeId: 'central',
  };

  it('keeps QCVN 102 codes in the parent code space, group by group', () => {
    expect(codeWithinParent('000.01.01.D01', '000.01.00.P01')).toBe(true);
    expect(codeWithinParent('000.01.00.P01', '000.00.00.G01')).toBe(true);
    expect(codeWithinParent('000.02.01.D01', '000.01.00.P01')).toBe(false);
    expect(codeWithinParent('001.02.00.H01', '001.00.00.H01')).toBe(true);
    expect(codeWithinParent('002.05.00.H02', '001.00.00.H01')).toBe(false);
    expect(codeWithinParent('A1', '000.01.00.P01')).toBe(false);
    expect(codeWithinParent('A1.B2', 'A1')).toBe(true);
    expect(codeWithinParent('A10', 'A1')).toBe(false);
  });

  it('accepts a child that follows the rules', () => {
    expect(subtreeRuleProblems(ok, province)).toEqual([]);
  });

  it('names every field that breaks a rule', () => {
    const bad = subtreeRuleProblems(
      { code: '000.02.01.D01', level: 'central', sector: 'state', zone: 'party-wan', nodeId: 'p99' },
      { ...province, zone: 'internet' },
    );
    expect(bad.map((p) => p.field).sort()).toEqual(['code', 'level', 'nodeId', 'sector', 'zone']);
  });

  it('allows a commune below a commune (CHILD_LEVEL), nothing above its parent', () => {
    const commune: ParentShape = { ...province, code: '000.01.01.C01', level: 'commune' };
    expect(subtreeRuleProblems({ ...ok, code: '000.01.01.C02', level: 'commune' }, commune)).toEqual([]);
    expect(subtreeRuleProblems({ ...ok, level: 'province' }, province).map((p) => p.field)).toEqual([
      'level',
    ]);
  });
});
