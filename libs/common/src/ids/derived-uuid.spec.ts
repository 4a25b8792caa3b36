import { derivedUuid } from './derived-uuid';

describe('derivedUuid', () => {
  it('is stable: the ids already stored by the services stay the same', () => {
    // Values of the services' former private copies of this function.
    expect(derivedUuid('exchange|A|B|C')).toBe('a104348e-6777-55ba-bc02-1ec886156c4b');
    expect(derivedUuid('lienthong:documents:x')).toBe('2aa6d205-cf43-5356-a8f6-cc0151b58379');
  });

  it('has the version-5 layout and differs per name', () => {
    const a = derivedUuid('a');
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(derivedUuid('a')).toBe(a);
    expect(derivedUuid('b')).not.toBe(a);
  });
});
