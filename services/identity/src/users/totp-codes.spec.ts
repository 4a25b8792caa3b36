import { authenticator } from 'otplib';
import { totpStepOf } from './totp-codes';

describe('totpStepOf', () => {
  // Fixed secrets and time: the outcome is deterministic.
  const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
  const at = (ms: number) => authenticator.clone({ epoch: ms }).generate(secret);
  const t = Date.UTC(2026, 10, 30, 9, 0, 10); // 10 s into a step
  const step = Math.floor(t / 30_000);

  it('names the step of the current code, at either end of the step', () => {
    expect(totpStepOf(at(t), secret, t)).toBe(step);
    expect(totpStepOf(at(t), secret, step * 30_000)).toBe(step);
    expect(totpStepOf(at(t), secret, (step + 1) * 30_000 - 1)).toBe(step);
  });

  it('takes the code of the step before (typed as it ended) and names that step', () => {
    expect(totpStepOf(at(t - 30_000), secret, t)).toBe(step - 1);
    expect(totpStepOf(at(t), secret, t + 30_000)).toBe(step);
    expect(totpStepOf(at(t), secret, (step + 2) * 30_000 - 1)).toBe(step);
  });

  it("refuses an older or a future step's code and malformed input", () => {
    expect(totpStepOf(at(t - 60_000), secret, t)).toBeNull();
    expect(totpStepOf(at(t), secret, t + 60_000)).toBeNull();
    expect(totpStepOf(at(t), secret, (step + 2) * 30_000)).toBeNull();
    expect(totpStepOf(at(t + 30_000), secret, t)).toBeNull();
    expect(totpStepOf('', secret, t)).toBeNull();
    expect(totpStepOf('12345a', secret, t)).toBeNull();
    expect(totpStepOf(at(t), 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', t)).toBeNull();
  });
});
