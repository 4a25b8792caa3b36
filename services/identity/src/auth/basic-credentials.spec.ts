import { basicCredentials } from './auth.controller';
import { OAuthError } from './oauth-error';

const basic = (text: string) => `Basic ${Buffer.from(text, 'utf8').toString('base64')}`;

describe('client_secret_basic credentials', () => {
  it('form-decodes id and secret (RFC 6749 §2.3.1)', () => {
    expect(basicCredentials(basic('cl-1%3Ax:s%2Bc+r%25t'))).toEqual({ id: 'cl-1:x', secret: 's+c r%t' });
    expect(basicCredentials('Bearer x')).toBeNull();
    expect(basicCredentials(basic('no-colon'))).toBeNull();
  });

  it.each(['cl-x:%zz', '%E0%A4%A:secret', 'cl-x:%'])(
    'answers invalid_request (400) for a bad escape in %p, never a 500',
    (pair) => {
      let err: unknown;
      try {
        basicCredentials(basic(pair));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(OAuthError);
      expect(err).toMatchObject({ status: 400, error: 'invalid_request' });
    },
  );
});
