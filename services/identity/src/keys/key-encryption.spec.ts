import { KeyEncryption } from './key-encryption';

describe('KeyEncryption', () => {
  it('round-trips and refuses a tampered or foreign ciphertext', () => {
    const a = KeyEncryption.fromSecret('a passphrase that is long enough to be used here');
    const sealed = a.encrypt('{"d":"secret"}');
    expect(sealed).not.toContain('secret');
    expect(a.decrypt(sealed)).toBe('{"d":"secret"}');
    const parts = sealed.split(':');
    parts[3] = Buffer.from('x' + Buffer.from(parts[3], 'base64').toString('latin1'), 'latin1').toString('base64');
    expect(() => a.decrypt(parts.join(':'))).toThrow();
    expect(() => KeyEncryption.random().enc.decrypt(sealed)).toThrow();
  });
});
