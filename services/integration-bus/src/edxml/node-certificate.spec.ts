import { generateSelfSigned, loadNodeCredentials } from './node-certificate';

describe('node certificate', () => {
  const a = generateSelfSigned('node-a', 1024);
  const b = generateSelfSigned('node-b', 1024);

  it('uses the configured pair and refuses a key that does not match', () => {
    expect(
      loadNodeCredentials(
        { NODE_ID: 'central', NODE_CERT_PEM: a.certPem, NODE_KEY_PEM: a.keyPem },
        () => undefined,
      ).generated,
    ).toBe(false);
    expect(() =>
      loadNodeCredentials(
        { NODE_ID: 'central', NODE_CERT_PEM: a.certPem, NODE_KEY_PEM: b.keyPem },
        () => undefined,
      ),
    ).toThrow('does not match');
    expect(() =>
      loadNodeCredentials({ NODE_ID: 'central', NODE_CERT_PEM: a.certPem }, () => undefined),
    ).toThrow('together');
  });

  it('generates a self-signed certificate in development, says so, and refuses to in production', () => {
    const logs: string[] = [];
    const c = loadNodeCredentials({ NODE_ID: 'central' }, (m) => logs.push(m));
    expect(c.generated).toBe(true);
    expect(c.certPem).toContain('BEGIN CERTIFICATE');
    expect(logs.join()).toMatch(/GENERATED/);
    expect(() =>
      loadNodeCredentials({ NODE_ID: 'central', NODE_ENV: 'production' }, () => undefined),
    ).toThrow('required in production');
  });
});
