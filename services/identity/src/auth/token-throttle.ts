import { Injectable } from '@nestjs/common';
import { tooManyRequests } from '@lienthong/common';
import { IdentityConfig } from '../config/identity.config';

/**
 * Fixed-window counters per IP and per username for the token endpoint, in memory (per replica; the
 * account lockout in the database is the cross-replica defence).
 */
@Injectable()
export class TokenThrottle {
  private windows = new Map<string, { start: number; count: number }>();

  constructor(private readonly config: IdentityConfig) {}

  hit(kind: 'ip' | 'username', key: string): void {
    const limit =
      kind === 'ip' ? this.config.TOKEN_RATE_LIMIT_PER_IP : this.config.TOKEN_RATE_LIMIT_PER_USERNAME;
    const windowMs = this.config.TOKEN_RATE_LIMIT_WINDOW_SECONDS * 1000;
    const now = Date.now();
    const k = `${kind}:${key}`;
    let w = this.windows.get(k);
    if (!w || now - w.start >= windowMs) {
      if (this.windows.size > 100_000) this.sweep(now, windowMs);
      w = { start: now, count: 0 };
      this.windows.set(k, w);
    }
    w.count++;
    if (w.count > limit) {
      throw tooManyRequests(
        'RATE_LIMITED',
        'Too many token requests; retry later',
        Math.ceil((w.start + windowMs - now) / 1000),
      );
    }
  }

  private sweep(now: number, windowMs: number) {
    for (const [k, w] of this.windows) if (now - w.start >= windowMs) this.windows.delete(k);
  }
}
