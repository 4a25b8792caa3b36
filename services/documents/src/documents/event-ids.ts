import { createHash } from 'node:crypto';

/**
 * A UUID derived from a name (RFC 4122 version-5 layout over SHA-256): events that must be emitted at most
 * once per cause (the 01 answer to a delivery, a recall) get the same outbox id and `Nats-Msg-Id` on retry.
 */
export function derivedUuid(name: string): string {
  const h = createHash('sha256').update(`lienthong:documents:${name}`).digest();
  h[6] = (h[6] & 0x0f) | 0x50;
  h[8] = (h[8] & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}
