import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { Client as MinioClient } from 'minio';
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, stat, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { DocumentsConfig } from '../config/documents.config';
import { AttachmentStorage, type StagedObject } from './attachment-storage';

const SHA256 = /^[0-9a-f]{64}$/;

/** Where the objects are: `s3://bucket` or `s3://bucket/prefix/` of `ATTACHMENTS_STORE`. */
export interface S3Location {
  bucket: string;
  prefix: string;
}

export function parseS3Store(url: string): S3Location {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) throw new Error(`ATTACHMENTS_STORE must be "file" or s3://bucket[/prefix], got ${url}`);
  const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '');
  return { bucket: m[1], prefix: prefix ? `${prefix}/` : '' };
}

/** An S3 client for `S3_ENDPOINT` (http(s)://host[:port]) with the configured region, credentials, style. */
export function s3Client(config: DocumentsConfig): MinioClient {
  const endpoint = new URL(config.S3_ENDPOINT ?? 'https://s3.amazonaws.com');
  const useSSL = endpoint.protocol === 'https:';
  // minio (about 1 MB of source) is loaded only when an S3 store is configured, not by every documents process.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Client } = require('minio') as typeof import('minio');
  return new Client({
    endPoint: endpoint.hostname,
    port: endpoint.port ? Number(endpoint.port) : useSSL ? 443 : 80,
    useSSL,
    region: config.S3_REGION,
    accessKey: config.S3_ACCESS_KEY_ID ?? '',
    secretKey: config.S3_SECRET_ACCESS_KEY ?? '',
    pathStyle: config.S3_FORCE_PATH_STYLE,
    partSize: config.S3_PART_SIZE,
  });
}

function isNotFound(e: unknown): boolean {
  const code = (e as { code?: string }).code;
  return code === 'NotFound' || code === 'NoSuchKey' || code === 'NoSuchObject';
}

/**
 * Attachments in an S3-compatible object store (MinIO, Ceph RGW, AWS S3), one object per content under the
 * key `<prefix><sha256>`. An upload is staged to a local temporary file while it is hashed, then HEAD on
 * its key: content already stored is not sent again; otherwise it is PUT (one request up to
 * `S3_PART_SIZE`, a multipart upload of parts of that size above it), so no more than one part is ever in
 * memory. Reads stream the object (or a byte range of it).
 */
@Injectable()
export class S3AttachmentStorage extends AttachmentStorage implements OnModuleInit {
  private readonly logger = new Logger(S3AttachmentStorage.name);
  private readonly client: MinioClient;
  private readonly location: S3Location;
  private readonly partSize: number;
  private readonly stagingDir: string;

  constructor(config: DocumentsConfig) {
    super();
    this.location = parseS3Store(config.ATTACHMENTS_STORE);
    this.client = s3Client(config);
    this.partSize = config.S3_PART_SIZE;
    this.stagingDir = config.ATTACHMENTS_STAGING_DIR ?? join(tmpdir(), 'lienthong-staging');
  }

  /** Fails the boot when the bucket is missing or the credentials are refused, rather than the first upload. */
  async onModuleInit(): Promise<void> {
    const exists = await this.client.bucketExists(this.location.bucket);
    if (!exists) throw new Error(`attachment bucket ${this.location.bucket} does not exist`);
    this.logger.log(`attachments in s3://${this.location.bucket}/${this.location.prefix}`);
  }

  keyOf(sha256: string): string {
    if (!SHA256.test(sha256)) throw new Error('not a sha256');
    return `${this.location.prefix}${sha256}`;
  }

  async stage(): Promise<StagedObject> {
    await mkdir(this.stagingDir, { recursive: true });
    const tmp = join(this.stagingDir, randomUUID());
    const stream = createWriteStream(tmp, { flags: 'wx' });
    const closed = new Promise<void>((r) => {
      stream.once('close', () => r());
      stream.once('error', () => r());
    });
    return {
      stream,
      commit: async (sha256: string) => {
        await closed;
        try {
          // Content-addressed: the same bytes under the same key are sent once.
          if (!(await this.has(sha256))) await this.put(this.keyOf(sha256), tmp);
        } finally {
          await unlink(tmp).catch(() => undefined);
        }
      },
      discard: async () => {
        stream.destroy();
        await closed;
        await unlink(tmp).catch(() => undefined);
      },
    };
  }

  private async put(key: string, file: string): Promise<void> {
    const { size } = await stat(file);
    const meta = { 'Content-Type': 'application/octet-stream' };
    if (size <= this.partSize) {
      await this.client.putObject(this.location.bucket, key, createReadStream(file), size, meta);
      return;
    }
    const { bucket } = this.location;
    const uploadId = await this.client.initiateNewMultipartUpload(bucket, key, meta);
    const fd = await open(file, 'r');
    try {
      const etags: { part: number; etag: string }[] = [];
      const buffer = Buffer.allocUnsafe(this.partSize);
      for (let offset = 0, part = 1; offset < size; offset += this.partSize, part++) {
        const { bytesRead } = await fd.read(buffer, 0, Math.min(this.partSize, size - offset), offset);
        const { etag } = await this.client.uploadPart(
          { bucketName: bucket, objectName: key, uploadID: uploadId, partNumber: part, headers: {} },
          buffer.subarray(0, bytesRead),
        );
        etags.push({ part, etag });
      }
      await this.client.completeMultipartUpload(bucket, key, uploadId, etags);
    } catch (e) {
      await this.client.abortMultipartUpload(bucket, key, uploadId).catch(() => undefined);
      throw e;
    } finally {
      await fd.close();
    }
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.size(sha256)) !== null;
  }

  async size(sha256: string): Promise<number | null> {
    try {
      return (await this.client.statObject(this.location.bucket, this.keyOf(sha256))).size;
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  open(sha256: string, range?: { start: number; end: number }): Readable {
    const out = new PassThrough();
    const key = this.keyOf(sha256);
    const got = range
      ? this.client.getPartialObject(this.location.bucket, key, range.start, range.end - range.start)
      : this.client.getObject(this.location.bucket, key);
    got.then(
      (body) => {
        // The reader may have gone (a closed download) before the object's response arrived.
        if (out.destroyed) {
          body.destroy();
          return;
        }
        body.once('error', (e) => out.destroy(e));
        out.once('close', () => body.destroy());
        body.pipe(out);
      },
      (e: Error) => out.destroy(e),
    );
    return out;
  }

  async readAll(sha256: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of this.open(sha256)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }
}
