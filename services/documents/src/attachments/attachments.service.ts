import { Injectable, Logger } from '@nestjs/common';
import {
  AuditRecorder,
  badRequest,
  DomainError,
  hasRole,
  payloadTooLarge,
  type Principal,
} from '@lienthong/common';
import { AuditActions } from '@lienthong/contracts';
import busboy from 'busboy';
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DocumentsConfig } from '../config/documents.config';
import * as errors from '../documents/documents.errors';
import { DocumentsRepository } from '../documents/documents.repository';
import { attachmentView } from '../documents/documents.view';
import { OrganizationDirectory } from '../documents/organization-directory';
import { PdfSignatureVerifier, type SignatureReport } from '../signatures/pdf-signature.verifier';
import { SignatureResultsRepository } from '../signatures/signature-results.repository';
import { AttachmentBusStore } from './attachment-bus-store';
import { AttachmentStorage } from './attachment-storage';
import { sniffContentType } from './content-sniffer';

interface Received {
  name: string;
  size: number;
  sha256: string;
  head: Buffer;
}

const NOT_PDF: SignatureReport = { present: false, valid: false, trusted: false };
/**
 * How long a verification result is reused for the same bytes under the same trust. Results without a
 * trusted timestamp are "valid now" answers, so they are recomputed after this rather than kept forever.
 */
export const SIGNATURE_RESULT_REUSE_MS = 24 * 3600_000;

@Injectable()
export class AttachmentsService {
  private readonly logger = new Logger(AttachmentsService.name);

  constructor(
    private readonly repo: DocumentsRepository,
    private readonly storage: AttachmentStorage,
    private readonly verifier: PdfSignatureVerifier,
    private readonly audit: AuditRecorder,
    private readonly config: DocumentsConfig,
    private readonly directory: OrganizationDirectory,
    private readonly results: SignatureResultsRepository,
    private readonly busStore: AttachmentBusStore,
  ) {}

  async upload(p: Principal, documentId: string, req: IncomingMessage) {
    const d = await this.repo.findVisible(
      this.repo.dataSource.manager,
      documentId,
      p.organizationCode,
      hasRole(p, 'cleared'),
    );
    if (!d) {
      req.resume();
      throw errors.documentNotFound();
    }
    if (d.direction !== 'outgoing' || d.state !== 'draft') {
      req.resume();
      throw errors.wrongDirection('Attachments are added to outgoing documents before they are sent');
    }
    let received: Received | null;
    try {
      received = await this.receive(req);
    } catch (e) {
      if (e instanceof DomainError && e.status === 413) {
        await this.refused(p, documentId, 'ATTACHMENT_TOO_LARGE');
      }
      throw e;
    }
    if (!received)
      throw badRequest('VALIDATION_FAILED', 'Invalid input: file', [
        { field: 'file', errors: ['a multipart field `file` is required'] },
      ]);
    const inspected = await this.inspectStored(received.sha256, received.name, received.head);
    // The bytes go to the shared object store now, so that sending needs no copy (content-addressed:
    // uploading the same file twice stores it once).
    await this.busStore.publish(received.sha256);
    const id = randomUUID();
    await this.repo.dataSource.transaction(async (m) => {
      await this.repo.insertAttachment(m, {
        id,
        documentId,
        name: received.name,
        contentType: inspected.contentType,
        size: received.size,
        sha256: received.sha256,
        signature: inspected.signature,
        signatures: inspected.signatures,
      });
      await this.audit.record(m, {
        action: AuditActions.attachmentAdded,
        actor: p,
        resource: { type: 'attachment', id },
        details: {
          documentId,
          sha256: received.sha256,
          size: received.size,
          contentType: inspected.contentType,
          // The SOC feed tells a failed signature from an unsigned file by this.
          signaturePresent: inspected.signature.present,
          signatureValid: inspected.signature.valid,
          signatureTrusted: inspected.signature.trusted,
        },
      });
    });
    const [row] = (await this.repo.attachments(this.repo.dataSource.manager, [documentId])).filter(
      (a) => a.id === id,
    );
    return attachmentView(row);
  }

  /**
   * Content type from the stored bytes' magic numbers and, for PDFs, every signature verified: once per
   * content and trust (anchors + CRLs), the result being reused by the same file's other copies (each
   * local recipient of a document, the same file attached twice).
   */
  async inspectStored(sha256: string, name: string, head?: Buffer) {
    let first = head;
    if (!first) {
      const fd = this.storage.open(sha256);
      first = await readHead(fd, 1024);
    }
    const contentType = sniffContentType(first, name);
    if (contentType !== 'application/pdf')
      return { contentType, signature: NOT_PDF, signatures: [] as SignatureReport[] };
    const m = this.repo.dataSource.manager;
    const fingerprint = this.verifier.trustFingerprint;
    const known = await this.results.find(m, sha256, fingerprint, SIGNATURE_RESULT_REUSE_MS);
    if (known) return { contentType, ...known };
    // Verification needs random access to the signed ranges; the file is read once here.
    const result = await this.verifier.verify(await this.storage.readAll(sha256));
    await this.results.save(m, sha256, fingerprint, result);
    return { contentType, ...result };
  }

  /**
   * Streams the multipart field `file` through SHA-256 into staging storage. Over the limit the staged
   * bytes are discarded and the rest of the request is drained, so nothing is left behind.
   */
  private receive(req: IncomingMessage): Promise<Received | null> {
    return new Promise((resolve, reject) => {
      let bb: busboy.Busboy;
      try {
        bb = busboy({
          headers: req.headers,
          // Browsers and fetch send the file name as raw UTF-8 (quyết định.pdf); busboy's default reads latin1.
          defParamCharset: 'utf8',
          limits: { fileSize: this.config.ATTACHMENT_MAX_BYTES, files: 1, fields: 5 },
        });
      } catch {
        req.resume();
        reject(
          badRequest('VALIDATION_FAILED', 'Invalid input: file', [
            { field: 'file', errors: ['multipart/form-data expected'] },
          ]),
        );
        return;
      }
      let work: Promise<Received | null> = Promise.resolve(null);
      bb.on('file', (field: string, file: Readable, info: busboy.FileInfo) => {
        if (field !== 'file') {
          file.resume();
          return;
        }
        work = this.stageFile(file, info.filename || 'attachment');
        work.catch(() => undefined); // observed at 'close'; avoids an unhandled rejection meanwhile
      });
      bb.once('close', () => work.then(resolve, reject));
      bb.once('error', () => {
        req.unpipe(bb);
        req.resume();
        work
          .catch(() => null)
          .then(() =>
            reject(
              badRequest('VALIDATION_FAILED', 'Invalid input: file', [
                { field: 'file', errors: ['malformed multipart body'] },
              ]),
            ),
          );
      });
      req.pipe(bb);
    });
  }

  private async stageFile(file: Readable, rawName: string): Promise<Received | null> {
    const staged = await this.storage.stage();
    const hash = createHash('sha256');
    let size = 0;
    let head = Buffer.alloc(0);
    let tooLarge = false;
    file.once('limit', () => (tooLarge = true));
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        size += chunk.length;
        if (head.length < 1024) head = Buffer.concat([head, chunk]).subarray(0, 1024);
        cb(null, chunk);
      },
    });
    try {
      await pipeline(file, meter, staged.stream);
    } catch (e) {
      await staged.discard();
      throw e;
    }
    if (tooLarge) {
      await staged.discard();
      throw payloadTooLarge(
        'ATTACHMENT_TOO_LARGE',
        `Attachments are limited to ${this.config.ATTACHMENT_MAX_BYTES} bytes`,
      );
    }
    const sha256 = hash.digest('hex');
    await staged.commit(sha256);
    return { name: sanitizeName(rawName), size, sha256, head };
  }

  /** Every read of attachment content is audited. */
  async openContent(p: Principal, documentId: string, attachmentId: string) {
    const m = this.repo.dataSource.manager;
    const d = await this.repo.findVisible(
      m,
      documentId,
      await this.directory.readableBy(p),
      hasRole(p, 'cleared'),
    );
    const a = d
      ? (await this.repo.attachments(m, [documentId])).find((x) => x.id === attachmentId)
      : undefined;
    if (!d || !a) {
      await this.refused(p, attachmentId, 'ATTACHMENT_NOT_FOUND', AuditActions.attachmentContentRead, {
        documentId,
      });
      throw errors.attachmentNotFound();
    }
    await this.repo.dataSource.transaction((tx) =>
      this.audit.record(tx, {
        action: AuditActions.attachmentContentRead,
        actor: p,
        resource: { type: 'attachment', id: a.id },
        details: { documentId, sha256: a.sha256 },
      }),
    );
    return { row: a, stream: this.storage.open(a.sha256) };
  }

  private async refused(
    p: Principal,
    id: string,
    reason: string,
    action: string = AuditActions.attachmentAdded,
    details: Record<string, unknown> = {},
  ) {
    await this.repo.dataSource.transaction((m) =>
      this.audit.record(m, {
        action,
        actor: p,
        resource: { type: 'attachment', id },
        outcome: 'denied',
        details: { reason, ...details },
      }),
    );
  }
}

/** The first `n` bytes of a stream (fewer when it is shorter); the stream is closed afterwards. */
async function readHead(stream: Readable, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size >= n) break;
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).subarray(0, n);
}

function sanitizeName(name: string): string {
  const clean = name
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\\/]/g, '_')
    .trim()
    .slice(0, 255);
  return clean || 'attachment';
}
