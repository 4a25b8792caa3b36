import { vnToday, vnYear } from './vn-time';

describe('console dates in Vietnam time', () => {
  it('turns the day at 17:00 UTC, as the server does', () => {
    expect(vnToday(new Date('2026-11-30T16:59:59Z'))).toBe('2026-11-30');
    expect(vnToday(new Date('2026-11-30T17:00:00Z'))).toBe('2026-12-01');
  });

  it('turns the year at 17:00 UTC on 31 December', () => {
    expect(vnYear(new Date('2026-12-31T16:59:59Z'))).toBe(2026);
    expect(vnYear(new Date('2026-12-31T17:00:00Z'))).toBe(2027);
  });
});
