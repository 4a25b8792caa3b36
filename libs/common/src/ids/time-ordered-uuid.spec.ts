import { timeOrderedUuid } from './time-ordered-uuid';

describe('timeOrderedUuid', () => {
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  it('is a version-7 UUID carrying the time in its first 48 bits', () => {
    const t = Date.parse('2026-11-30T18:00:00.123Z');
    const id = timeOrderedUuid(t);
    expect(id).toMatch(UUID);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(t);
  });

  it('sorts (as text and as PostgreSQL uuid bytes) in the order of the times, and differs within a millisecond', () => {
    const times = [0, 1, 999, 1_700_000_000_000, 1_700_000_000_001, 2 ** 47];
    const ids = times.map((t) => timeOrderedUuid(t));
    expect([...ids].sort()).toEqual(ids);
    const same = new Set(Array.from({ length: 1000 }, () => timeOrderedUuid(42)));
    expect(same.size).toBe(1000);
    for (const id of same) expect(id.startsWith('00000000-002a-7')).toBe(true);
  });
});
