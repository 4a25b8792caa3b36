import {
  SOURCE_RESTART_MAX_MS,
  SOURCE_RESTART_MIN_MS,
  SOURCE_STALLED_MS,
  sourceRestartDue,
  type SourceWatchState,
} from './source-watch';

describe('sourceRestartDue: when the watch restarts a stalled source of FEDIN', () => {
  const fresh = (): SourceWatchState => ({ nextAt: 0, backoffMs: SOURCE_RESTART_MIN_MS });

  it('leaves a healthy source alone (heard from within the last seconds)', () => {
    const s = fresh();
    expect(sourceRestartDue(s, { activeMs: 900, now: 1000 })).toBe(false);
    expect(sourceRestartDue(s, { activeMs: SOURCE_STALLED_MS, now: 2000 })).toBe(false);
  });

  it('restarts at once a source never heard from since the server started (the lost first set-up)', () => {
    expect(sourceRestartDue(fresh(), { activeMs: -1, now: 1000 })).toBe(true);
  });

  it('a source that stays stalled is restarted after 0.5, 1, 2, 4… s, at most every 30 s', () => {
    const s = fresh();
    const restarts: number[] = [];
    for (let now = 0; now <= 200_000; now += 250)
      if (sourceRestartDue(s, { activeMs: 10_000, now })) restarts.push(now);
    const gaps = restarts.slice(1).map((t, i) => t - restarts[i]);
    expect(gaps.slice(0, 6)).toEqual([500, 1000, 2000, 4000, 8000, 16000]);
    expect(Math.max(...gaps)).toBe(SOURCE_RESTART_MAX_MS);
    expect(restarts.length).toBeLessThan(17);
  });

  it('a source heard from again resets the back-off: the next stall is handled at once', () => {
    const s = fresh();
    for (const now of [0, 500, 1500, 3500]) sourceRestartDue(s, { activeMs: -1, now });
    expect(s.backoffMs).toBe(8000);
    expect(sourceRestartDue(s, { activeMs: 100, now: 8000 })).toBe(false);
    expect(sourceRestartDue(s, { activeMs: 5000, now: 9000 })).toBe(true);
  });
});
