import { Injectable } from '@nestjs/common';

/**
 * Fixed-window counters in memory, per replica: enough to blunt password spraying at the token endpoint.
 * (Across replicas the effective limit is multiplied by their number; lockout in the database is the hard limit.)
 */
@Injectable()
export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();
  private lastSweep = Date.now();

  /** Counts one hit; returns seconds to wait when over the limit, else 0. */
  hit(key: string, limit: number, windowSeconds: number): number {
    const now = Date.now();
    const windowMs = windowSeconds * 1000;
    if (now - this.lastSweep > windowMs) {
      for (const [k, w] of this.windows) if (now - w.start >= windowMs) this.windows.delete(k);
      this.lastSweep = now;
    }
    let w = this.windows.get(key);
    if (!w || now - w.start >= windowMs) {
      w = { start: now, count: 0 };
      this.windows.set(key, w);
    }
    w.count++;
    return w.count > limit ? Math.ceil((w.start + windowMs - now) / 1000) : 0;
  }
}
