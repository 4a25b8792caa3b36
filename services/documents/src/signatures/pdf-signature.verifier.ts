import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { DocumentsConfig } from '../config/documents.config';
import { preparePdf, type RandomAccessSource } from './pdf-prepare';
import type { VerifyJob } from './pdf-verify.worker';
import { unverified, type VerificationResult } from './signature-report';
import { loadTrustMaterial, trustFingerprint } from './trust-store';
import { siblingScript, TimeLimitExceeded, WorkerPool } from './worker-pool';

export type { SignatureReport, VerificationResult } from './signature-report';

/**
 * Verifies the signatures of a PDF off the event loop: a pool of worker threads (SIGNATURE_WORKERS) runs
 * PdfSignatureChecker with a time limit (SIGNATURE_TIME_LIMIT_MS) and a cap on the number of signatures
 * (SIGNATURE_MAX_COUNT). A file that exceeds either, or kills its worker, gets an answer with `problem`
 * set (present, not valid, not trusted) instead of an error, so it is stored once and never retried.
 */
@Injectable()
export class PdfSignatureVerifier implements OnModuleDestroy {
  private readonly logger = new Logger(PdfSignatureVerifier.name);
  private readonly pool: WorkerPool<VerifyJob, VerificationResult>;
  /** Identifies the anchors and CRLs results depend on (the cache key next to the file's hash). */
  readonly trustFingerprint: string;

  constructor(private readonly config: DocumentsConfig) {
    const trust = loadTrustMaterial(config.TRUST_ANCHORS, config.TRUST_CRLS);
    this.trustFingerprint = trustFingerprint(trust);
    if (!config.TRUST_ANCHORS)
      this.logger.warn('TRUST_ANCHORS unset: no signature will be reported as trusted');
    this.pool = new WorkerPool({
      script: siblingScript(__dirname, 'pdf-verify.worker', __filename),
      workerData: { trust },
      size: config.SIGNATURE_WORKERS,
      timeLimitMs: config.SIGNATURE_TIME_LIMIT_MS,
      // Enough for the largest attachment as bytes plus its latin1 text; a file needing more ends its job.
      resourceLimits: {
        maxOldGenerationSizeMb: 256 + Math.ceil((3 * config.ATTACHMENT_MAX_BYTES) / 2 ** 20),
      },
    });
  }

  /** A file in memory (gRPC uploads, tests). */
  verify(pdf: Buffer): Promise<VerificationResult> {
    return this.run({ pdf, maxSignatures: this.config.SIGNATURE_MAX_COUNT, now: Date.now() }, pdf.length);
  }

  /**
   * A stored file of any size, never held whole: its signature dictionaries and the digests of their signed
   * ranges are read here by ranges and streams (preparePdf), and only those few KiB go to a worker.
   */
  async verifySource(source: RandomAccessSource): Promise<VerificationResult> {
    let prepared;
    try {
      prepared = await preparePdf(source, this.config.SIGNATURE_MAX_COUNT);
    } catch (e) {
      this.logger.warn(`reading a ${source.size}-byte file for verification failed: ${(e as Error).message}`);
      throw e;
    }
    return this.run(
      { prepared, maxSignatures: this.config.SIGNATURE_MAX_COUNT, now: Date.now() },
      source.size,
    );
  }

  private async run(job: VerifyJob, size: number): Promise<VerificationResult> {
    try {
      return await this.pool.run(job);
    } catch (e) {
      if (e instanceof TimeLimitExceeded) {
        this.logger.warn(`signature verification of a ${size}-byte file ${e.message}`);
        return unverified(`signature verification ${e.message}`);
      }
      this.logger.warn(`signature verification failed: ${(e as Error).message}`);
      return unverified('signature verification failed');
    }
  }

  onModuleDestroy(): Promise<void> {
    return this.pool.close();
  }
}
