import { testDatabaseUrl, testNatsUrl, uniqueSchema } from './test-infra';

/**
 * Environment for booting a service in-process in a medium test: real PostgreSQL and NATS, a schema of its
 * own, an ephemeral port, quiet logs. Merge test-specific keys over it.
 */
export async function testServiceEnv(
  schemaPrefix: string,
  extra: Record<string, string | undefined> = {},
): Promise<Record<string, string | undefined>> {
  return {
    DATABASE_URL: await testDatabaseUrl(),
    NATS_URL: await testNatsUrl(),
    DB_SCHEMA: uniqueSchema(schemaPrefix),
    DB_POOL_SIZE: '5',
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    OUTBOX_POLL_MS: '100',
    ...extra,
  };
}
