import { parentPort, workerData } from 'node:worker_threads';
import type { PreparedPdf } from './pdf-prepare';
import { PdfSignatureChecker } from './pdf-signature.checker';
import type { TrustMaterial } from './trust-store';
import { WORKER_READY } from './worker-pool';

/** A whole file (`pdf`), or what preparePdf read of a stored one (`prepared`). */
export interface VerifyJob {
  pdf?: Uint8Array;
  prepared?: PreparedPdf;
  maxSignatures: number;
  now: number;
}

/* A verification worker: parses the trust once, then answers one job at a time. The pool terminates the
   thread when a job exceeds its time limit, so nothing here needs to watch the clock. */
const checker = new PdfSignatureChecker((workerData as { trust: TrustMaterial }).trust);

parentPort?.on('message', (job: VerifyJob) => {
  const opts = { maxSignatures: job.maxSignatures, now: new Date(job.now) };
  if (job.prepared) {
    parentPort?.postMessage(checker.verifyPrepared(job.prepared, opts));
    return;
  }
  const pdf = Buffer.from(job.pdf!.buffer, job.pdf!.byteOffset, job.pdf!.byteLength);
  parentPort?.postMessage(checker.verify(pdf, opts));
});

parentPort?.postMessage(WORKER_READY);
