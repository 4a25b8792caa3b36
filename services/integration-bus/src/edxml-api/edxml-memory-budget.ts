import { Injectable } from '@nestjs/common';
import { IntegrationBusConfig } from '../config/integration-bus.config';

/**
 * Bounds the memory taken by inbound edXML. A package is streamed (edxml.reader.ts) and holds at most its
 * metadata (EDXML_METADATA_MAX_BYTES) plus EDXML_IN_MEMORY_BYTES of decoded attachments; a status message is
 * read whole. A request reserves what it may hold (its declared size, or that bound) before reading the body;
 * requests that do not fit wait in order, and nothing that waits holds a body yet.
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
