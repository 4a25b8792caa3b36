import { derivedUuid as nameUuid } from '@lienthong/common';

/**
 * A UUID derived from a name (RFC 4122 version-5 layout over SHA-256): events that must be emitted at most
 * once per cause (the 01 answer to a delivery, a recall) get the same outbox id and `Nats-Msg-Id` on retry.
 */
export function derivedUuid(name: string): string {
  return nameUuid(`lienthong:documents:${name}`);
}
