import { IsOptional, Matches } from 'class-validator';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

  describe('<KEY>_FILE for the FILE_SECRETS', () => {
    class FileConfig extends TestConfig {
      static readonly PRODUCTION_SECRETS = [['SECRET_KEY']];
      static readonly FILE_SECRETS = ['SECRET_KEY'];
      @IsOptional()
      @Matches(/^[0-9a-f]{64}$/, { message: 'SECRET_KEY must be 32 bytes in hex' })
      SECRET_KEY?: string;
    }
    const dir = mkdtempSync(join(tmpdir(), 'config-file-'));
    const file = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const hex = 'ab'.repeat(32);

    it('reads the secret from the file (trailing newline dropped) and satisfies production', () => {
      const c = loadConfig(FileConfig, { NODE_ENV: 'production', SECRET_KEY_FILE: file('k', `${hex}\n`) });
      expect(c.SECRET_KEY).toBe(hex);
    });

    it('validates the content of the file like an inline value, without printing it', () => {
      let err: unknown;
      try {
        loadConfig(FileConfig, { SECRET_KEY_FILE: file('bad', 'not-a-key-but-secret\n') }, 'probe');
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ConfigValidationError);
      expect((err as ConfigValidationError).problems.map((p) => p.key)).toEqual(['SECRET_KEY']);
      expect((err as Error).message).not.toContain('not-a-key-but-secret');
    });

    it('names the _FILE key when the file cannot be read or is empty', () => {
      for (const path of [join(dir, 'missing'), file('empty', '\n')]) {
        let err: unknown;
        try {
          loadConfig(FileConfig, { NODE_ENV: 'production', SECRET_KEY_FILE: path }, 'probe');
        } catch (e) {
          err = e;
        }
        expect((err as ConfigValidationError).problems.map((p) => p.key)).toEqual([
          'SECRET_KEY_FILE',
          'SECRET_KEY',
        ]);
      }
    });

    it('prefers the inline value when both are given', () => {
      const other = 'cd'.repeat(32);
      const c = loadConfig(FileConfig, { SECRET_KEY: other, SECRET_KEY_FILE: file('k2', hex) });
      expect(c.SECRET_KEY).toBe(other);
    });
  });
});
