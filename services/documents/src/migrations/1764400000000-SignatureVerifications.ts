import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Signature verification results by file content and trust: a PDF is verified once (at upload) and each
 * local recipient's copy reuses the answer instead of verifying the same bytes again.
 */
export class SignatureVerifications1764400000000 implements MigrationInterface {
  name = 'SignatureVerifications1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE signature_verifications (
        sha256 text NOT NULL,
        trust_fingerprint text NOT NULL,
        signature jsonb NOT NULL,
        signatures jsonb NOT NULL,
        verified_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (sha256, trust_fingerprint)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE signature_verifications`);
  }
}
