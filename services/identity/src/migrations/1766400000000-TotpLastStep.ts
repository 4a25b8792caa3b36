import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `users.totp_last_step`: the RFC 6238 time step (Unix time / 30 s) of the last TOTP code the user used
 * successfully (enrolment confirmation or login). A code of that step or an earlier one is refused (RFC 6238
 * §5.2: a one-time password is accepted once). Existing users start with NULL: their next valid code is taken.
 */
export class TotpLastStep1766400000000 implements MigrationInterface {
  name = 'TotpLastStep1766400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users ADD COLUMN totp_last_step bigint NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE users DROP COLUMN totp_last_step`);
  }
}
