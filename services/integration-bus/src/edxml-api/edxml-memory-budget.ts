import { Injectable } from '@nestjs/common';
import { IntegrationBusConfig } from '../config/integration-bus.config';

/**
 * Bounds the memory taken by inbound edXML: parsing a body holds it several times over (bytes, UTF-16 text,
 * DOM, decoded attachments), so N parallel uploads of EDXML_MAX_BYTES would outgrow a pod. A request reserves
 * its declared size (or the maximum when it declares none) before reading the body; requests that do not fit
 * wait in order, and nothing that waits holds a body yet.
 */
@Injectable()
export class EdxmlMemoryBudget {
  readonly total: number;
  private used = 0;
  private readonly waiting: { bytes: number; go: () => void }[] = [];

  constructor(config: IntegrationBusConfig) {
    this.total = config.EDXML_INFLIGHT_BYTES;
  }

  get inUse(): number {
    return this.used;
  }

  /** Reserves `bytes`; resolves with the release function once they fit. */
  async reserve(bytes: number): Promise<() => void> {
    const n = Math.min(Math.max(bytes, 1), this.total);
    if (this.waiting.length === 0 && this.used + n <= this.total) this.used += n;
    else await new Promise<void>((go) => this.waiting.push({ bytes: n, go }));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= n;
      this.wake();
    };
  }

  private wake(): void {
    while (this.waiting.length && this.used + this.waiting[0].bytes <= this.total) {
      const next = this.waiting.shift()!;
      this.used += next.bytes;
      next.go();
    }
  }
}
