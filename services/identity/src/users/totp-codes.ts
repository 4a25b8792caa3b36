import { Injectable } from '@nestjs/common';
import { authenticator } from 'otplib';
import type { EntityManager } from 'typeorm';
import { SecretBox } from '../crypto/secret-box';
import { UserRow, UsersRepository } from './users.repository';

/** RFC 6238 time step length (otplib's default, and the `period` of the otpauth URI). */
export const TOTP_STEP_SECONDS = 30;

/** Associated data that binds a sealed TOTP secret to its user. */
export const totpContext = (userId: string) => `totp:${userId}`;

/**
 * Steps accepted before the current one: one, for a code typed as its step ended or delayed in transit
 * (RFC 6238 §5.2's recommendation). Safe because every code is good once: its step is recorded when used.
 */
export const TOTP_PAST_STEPS = 1;

/**
 * The time step (Unix time / 30 s) whose code `otp` is for `secret` at `now`, or null when it is not the code of
 * an accepted step (the current one or the one before it; never a future one).
 */
export function totpStepOf(otp: string, secret: string, now = Date.now()): number | null {
  const delta = authenticator.clone({ epoch: now, window: [TOTP_PAST_STEPS, 0] }).checkDelta(otp, secret);
  return delta === null ? null : Math.floor(now / 1000 / TOTP_STEP_SECONDS) + delta;
}

/**
 * `ok`: the code is right and its step is now used up; `wrong`: not the code of an accepted step; `replayed`:
 * the right code, but of a step not later than one already used (RFC 6238 §5.2).
 */
export type TotpVerdict = 'ok' | 'wrong' | 'replayed';

/**
 * The one place a TOTP code is checked (enrolment confirmation, login, any later step-up): a code is good
 * once. Using it records its step on the user row in one conditional UPDATE, so of two requests racing with the
 * same code exactly one gets `ok`, whatever else serializes them.
 */
@Injectable()
export class TotpCodes {
  constructor(
    private readonly users: UsersRepository,
    private readonly box: SecretBox,
  ) {}

  /** Checks `otp` against the user's sealed secret and, when right, uses up its step in the transaction `m`. */
  async use(m: EntityManager, user: UserRow, otp: string): Promise<TotpVerdict> {
    if (!user.totp_secret_enc) return 'wrong';
    const secret = this.box.open(user.totp_secret_enc, totpContext(user.id)).toString('utf8');
    const step = totpStepOf(otp, secret);
    if (step === null) return 'wrong';
    return (await this.users.claimTotpStep(m, user.id, step)) ? 'ok' : 'replayed';
  }
}
