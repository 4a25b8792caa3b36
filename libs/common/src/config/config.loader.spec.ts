import { loadConfig, ConfigValidationError } from './config.loader';
import { BaseServiceConfig } from './base-service.config';

class TestConfig extends BaseServiceConfig {
  override PORT = 3999;
  override DB_SCHEMA = 'probe';
}

describe('loadConfig', () => {
  it('applies defaults and converts numbers', () => {
    const c = loadConfig(TestConfig, { PORT: '4001', DB_POOL_SIZE: '7' });
    expect(c.PORT).toBe(4001);
    expect(c.DB_POOL_SIZE).toBe(7);
    expect(c.NATS_URL).toBe('nats://127.0.0.1:4222');
    expect(c.jwtIssuer).toBe('lienthong/central');
  });

  it('derives the token issuer from NODE_ID', () => {
    expect(loadConfig(TestConfig, { NODE_ID: 'hanoi' }).jwtIssuer).toBe('lienthong/hanoi');
  });

  it('lists every bad key at once, without their values', () => {
    let err: unknown;
    try {
      loadConfig(
        TestConfig,
        {
          PORT: '70000',
          DATABASE_URL: 'mysql://secret-password@x/db',
          NATS_URL: 'http://x',
          NODE_ID: 'Bad Node',
          LOG_LEVEL: 'loud',
        },
        'probe',
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigValidationError);
    const keys = (err as ConfigValidationError).problems.map((p) => p.key).sort();
    expect(keys).toEqual(['DATABASE_URL', 'LOG_LEVEL', 'NATS_URL', 'NODE_ID', 'PORT']);
    expect((err as Error).message).not.toContain('secret-password');
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig(TestConfig, { NATS_URL: '' }).NATS_URL).toBe('nats://127.0.0.1:4222');
  });

  describe('NODE_ENV=production', () => {
    class SecretConfig extends TestConfig {
      static readonly PRODUCTION_SECRETS = [['SECRET_KEY'], ['CERT', 'CERT_FILE']];
    }

    it('lists every missing secret by name, never generating one', () => {
      let err: unknown;
      try {
        loadConfig(SecretConfig, { NODE_ENV: 'production', CERT: '' }, 'probe');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigValidationError);
      expect((err as ConfigValidationError).problems.map((p) => p.key)).toEqual([
        'SECRET_KEY',
        'CERT or CERT_FILE',
      ]);
    });

    it('accepts one of the alternatives, and asks for nothing outside production', () => {
      expect(() =>
        loadConfig(SecretConfig, { NODE_ENV: 'production', SECRET_KEY: 'k', CERT_FILE: '/x' }),
      ).not.toThrow();
      expect(() => loadConfig(SecretConfig, {})).not.toThrow();
      expect(() => loadConfig(SecretConfig, { NODE_ENV: 'staging' })).toThrow(ConfigValidationError);
    });
  });
});
