import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { VerificationResult } from './signature-report';

/** Verification results keyed by (file SHA-256, trust fingerprint). */
@Injectable()
export class SignatureResultsRepository {
  /** The stored result when it was computed less than `maxAgeMs` ago. */
  async find(
    m: EntityManager,
    sha256: string,
    trustFingerprint: string,
    maxAgeMs: number,
  ): Promise<VerificationResult | undefined> {
    const rows: {
      signature: VerificationResult['signature'];
      signatures: VerificationResult['signatures'];
    }[] = await m.query(
      `SELECT signature, signatures FROM signature_verifications
          WHERE sha256 = $1 AND trust_fingerprint = $2
            AND verified_at > now() - make_interval(secs => $3::double precision / 1000)`,
      [sha256, trustFingerprint, maxAgeMs],
    );
    return rows[0] ? { signature: rows[0].signature, signatures: rows[0].signatures } : undefined;
  }

  async save(
    m: EntityManager,
    sha256: string,
    trustFingerprint: string,
    r: VerificationResult,
  ): Promise<void> {
    await m.query(
      `INSERT INTO signature_verifications (sha256, trust_fingerprint, signature, signatures)
       VALUES ($1, $2, $3::jsonb, $4::jsonb)
       ON CONFLICT (sha256, trust_fingerprint)
       DO UPDATE SET signature = EXCLUDED.signature, signatures = EXCLUDED.signatures, verified_at = now()`,
      [sha256, trustFingerprint, JSON.stringify(r.signature), JSON.stringify(r.signatures)],
    );
  }
}
