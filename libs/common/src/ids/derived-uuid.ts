import { createHash } from 'node:crypto';

/**
 * A UUID derived from a name: SHA-256 of the name, first 16 bytes, with the RFC 4122 version-5 and variant
 * bits set. The same cause always gets the same id, so an event or message emitted again after a crash or a
 * redelivery carries the same outbox id and `Nats-Msg-Id` and is dropped as a duplicate.
 */
export function derivedUuid(name: string): string {
  const b = createHash('sha256').update(name).digest().subarray(0, 16);
  b[6] = (b[6] & 0x0f) | 0x50;
  b[8] = (b[8] & 0x3f) | 0x80;
  return uuidString(b);
}

/** 16 bytes as a UUID string (8-4-4-4-12 lowercase hex). */
export function uuidString(b: Buffer): string {
  const h = b.toString('hex', 0, 16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
