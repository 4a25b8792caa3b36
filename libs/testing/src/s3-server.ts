import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A real S3-compatible server for a test, with a fresh bucket on it. */
export interface TestS3Server {
  /** What runs it: `TEST_S3_URL`, `testcontainers MinIO` or `s3rver (in-process)`. */
  kind: string;
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  stop(): Promise<void>;
}

const MINIO_IMAGE = 'minio/minio:RELEASE.2025-04-22T22-12-26Z';

/** Creates the bucket through the S3 API (PUT /bucket, the same client code the service uses). */
async function makeBucket(s: Omit<TestS3Server, 'stop' | 'kind'>): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Client } = require('minio') as typeof import('minio');
  const url = new URL(s.endpoint);
  const client = new Client({
    endPoint: url.hostname,
    port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
    useSSL: url.protocol === 'https:',
    region: s.region,
    accessKey: s.accessKeyId,
    secretKey: s.secretAccessKey,
    pathStyle: true,
  });
  if (!(await client.bucketExists(s.bucket))) await client.makeBucket(s.bucket, s.region);
}

async function dockerReachable(): Promise<boolean> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { getContainerRuntimeClient } = require('testcontainers');
    await getContainerRuntimeClient();
    return true;
  } catch {
    return false;
  }
}

/**
 * A real S3 server: `TEST_S3_URL` (+ TEST_S3_ACCESS_KEY_ID, TEST_S3_SECRET_ACCESS_KEY, TEST_S3_REGION) when
 * given; else MinIO in a testcontainers container when a Docker engine is reachable; else s3rver started in
 * this process (an S3-compatible server from the npm registry: the real client and HTTP protocol, signature
 * V4 and multipart uploads, on local files). Each call gets a bucket of its own.
 */
export async function startTestS3Server(): Promise<TestS3Server> {
  const bucket = `lt-test-${randomBytes(4).toString('hex')}`;
  if (process.env.TEST_S3_URL) {
    const s = {
      endpoint: process.env.TEST_S3_URL,
      region: process.env.TEST_S3_REGION ?? 'us-east-1',
      accessKeyId: process.env.TEST_S3_ACCESS_KEY_ID ?? 'minioadmin',
      secretAccessKey: process.env.TEST_S3_SECRET_ACCESS_KEY ?? 'minioadmin',
      bucket,
    };
    await makeBucket(s);
    return { ...s, kind: `TEST_S3_URL ${s.endpoint}`, stop: async () => undefined };
  }
  if (await dockerReachable()) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { GenericContainer, Wait } = require('testcontainers');
    const secret = randomBytes(12).toString('hex');
    const container = await new GenericContainer(MINIO_IMAGE)
      .withCommand(['server', '/data'])
      .withEnvironment({ MINIO_ROOT_USER: 'lienthong-test', MINIO_ROOT_PASSWORD: secret })
      .withExposedPorts(9000)
      .withWaitStrategy(Wait.forHttp('/minio/health/live', 9000))
      .start();
    const s = {
      endpoint: `http://${container.getHost()}:${container.getMappedPort(9000)}`,
      region: 'us-east-1',
      accessKeyId: 'lienthong-test',
      secretAccessKey: secret,
      bucket,
    };
    await makeBucket(s);
    return { ...s, kind: `testcontainers MinIO (${MINIO_IMAGE})`, stop: () => container.stop() };
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const S3rver = require('s3rver');
  const directory = mkdtempSync(join(tmpdir(), 'lt-s3rver-'));
  const server = new S3rver({ address: '127.0.0.1', port: 0, directory, silent: true });
  const { port } = (await server.run()) as { port: number };
  // s3rver accepts the fixed credentials S3RVER/S3RVER and checks the request signatures with them.
  const s = {
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    bucket,
  };
  await makeBucket(s);
  return {
    ...s,
    kind: 's3rver (in-process; no TEST_S3_URL, no Docker engine)',
    stop: async () => {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
