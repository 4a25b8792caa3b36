import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { DocumentsConfig } from '../config/documents.config';
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

  async verify(pdf: Buffer): Promise<VerificationResult> {
    const job: VerifyJob = { pdf, maxSignatures: this.config.SIGNATURE_MAX_COUNT, now: Date.now() };
    try {
      return await this.pool.run(job);
    } catch (e) {
      if (e instanceof TimeLimitExceeded) {
        this.logger.warn(`signature verification of a ${pdf.length}-byte file ${e.message}`);
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
