import { getHeapSpaceStatistics } from 'node:v8';
import { compactWhenIdle } from './compact-when-idle';

const young = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.physical_space_size;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('compactWhenIdle', () => {
  it('gives back the young generation a burst grew once the process is idle, and leaves no gc global', async () => {
    // A burst that survives scavenges: the young generation grows to its maximum.
    let keep: object[] = [];
    for (let i = 0; i < 2e6; i++) {
      keep.push({ i, s: `x${i}` });
      if (keep.length > 2e5) keep = [];
    }
    keep = [];
    const grown = young();
    const stop = compactWhenIdle(200);
    try {
      // V8 shrinks it once the allocation rate of the last few seconds is low.
      for (let t = 0; t < 100 && young() >= grown && grown > 4 * 2 ** 20; t++) await sleep(200);
      if (grown > 4 * 2 ** 20) expect(young()).toBeLessThan(grown);
      expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
    } finally {
      stop();
    }
  }, 60_000);
});
