import { ConfigValidationError, loadConfig } from '@lienthong/common';
import { DocumentsConfig } from './documents.config';

const keysRefused = (env: Record<string, string>): string[] => {
  try {
    loadConfig(DocumentsConfig, env);
    return [];
  } catch (e) {
    if (!(e instanceof ConfigValidationError)) throw e;
    return e.problems.map((p) => p.key);
  }
};

describe('DocumentsConfig: gRPC TLS', () => {
  it('is required with NODE_ENV=production', () => {
    expect(keysRefused({ NODE_ENV: 'production' })).toEqual(['GRPC_TLS_CERT', 'GRPC_TLS_KEY']);
    expect(keysRefused({ NODE_ENV: 'production', GRPC_TLS_CERT: '/c.pem', GRPC_TLS_KEY: '/k.pem' })).toEqual(
      [],
    );
  });

  it('is optional in development, but a certificate needs its key and the reverse', () => {
    expect(keysRefused({})).toEqual([]);
    expect(keysRefused({ GRPC_TLS_CERT: '/c.pem' })).toEqual(['GRPC_TLS_KEY']);
    expect(keysRefused({ GRPC_TLS_KEY: '/k.pem' })).toEqual(['GRPC_TLS_CERT']);
  });
});

describe('DocumentsConfig: webhook targets', () => {
  it('takes SUBSCRIPTIONS_ALLOW_PRIVATE as true, false or a list of IP networks, and stops the boot otherwise', () => {
    for (const ok of ['', 'false', 'true', '127.0.0.1/32', '10.20.0.0/16, fd00:1::/64', '192.168.5.7'])
      expect(keysRefused({ SUBSCRIPTIONS_ALLOW_PRIVATE: ok })).toEqual([]);
    for (const bad of ['yes', '10.0.0.0/33', 'intranet.local', '10.0.0.0/8,'])
      expect(keysRefused({ SUBSCRIPTIONS_ALLOW_PRIVATE: bad })).toEqual(['SUBSCRIPTIONS_ALLOW_PRIVATE']);
  });
});
