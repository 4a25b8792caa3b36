import { derivedUuid } from './event-ids';

describe('derived event ids', () => {
  it('are stable, distinct per name and shaped like a version-5 UUID', () => {
    expect(derivedUuid('d1:01')).toBe(derivedUuid('d1:01'));
    expect(derivedUuid('d1:01')).not.toBe(derivedUuid('d2:01'));
    expect(derivedUuid('x')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
