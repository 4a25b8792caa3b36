import { isIP, isIPv4 } from 'node:net';

/**
 * Which IP addresses a webhook may be sent to. A connected system chooses the URL, so without this check it
 * could make the platform POST to its own network (loopback, the cloud metadata service at 169.254.169.254,
 * RFC 1918 hosts, …): server-side request forgery. Only globally reachable unicast addresses are public;
 * operators who deliver to receivers on a private network list those networks in SUBSCRIPTIONS_ALLOW_PRIVATE.
 */

/** An address as 4 (IPv4) or 16 (IPv6) bytes. */
type Bytes = number[];

/** Parses a textual IPv4 or IPv6 address (an IPv6 zone `%eth0` is ignored); undefined if it is neither. */
export function parseIp(text: string): Bytes | undefined {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const address = bare.split('%', 1)[0];
  const kind = isIP(address);
  if (kind === 4) return address.split('.').map(Number);
  if (kind === 6) return parseIpv6(address);
  return undefined;
}

function parseIpv6(address: string): Bytes {
  let text = address.toLowerCase();
  const tail: number[] = [];
  // A dotted IPv4 tail (`::ffff:127.0.0.1`) is the last 32 bits.
  const lastColon = text.lastIndexOf(':');
  if (isIPv4(text.slice(lastColon + 1))) {
    tail.push(
      ...text
        .slice(lastColon + 1)
        .split('.')
        .map(Number),
    );
    text = text.slice(0, lastColon + 1) + '0:0';
  }
  const [head, rest] = text.includes('::') ? text.split('::') : [text, undefined];
  const groups = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const left = groups(head);
  const right = rest === undefined ? [] : groups(rest);
  const words = [...left, ...new Array(8 - left.length - right.length).fill(0), ...right];
  const bytes = words.flatMap((w) => [w >> 8, w & 0xff]);
  if (tail.length) bytes.splice(12, 4, ...tail);
  return bytes;
}

/** Whether `bytes` lie in `prefix`/`bits` (same family). */
function within(bytes: Bytes, prefix: Bytes, bits: number): boolean {
  if (bytes.length !== prefix.length) return false;
  for (let i = 0; i < bits; i++) {
    const byte = i >> 3;
    const mask = 0x80 >> (i & 7);
    if ((bytes[byte] & mask) !== (prefix[byte] & mask)) return false;
  }
  return true;
}

const V4_RANGES: [string, number, string][] = [
  ['0.0.0.0', 8, 'unspecified ("this network")'],
  ['10.0.0.0', 8, 'private (RFC 1918)'],
  ['100.64.0.0', 10, 'shared (carrier-grade NAT)'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local (incl. cloud metadata)'],
  ['172.16.0.0', 12, 'private (RFC 1918)'],
  ['192.0.0.0', 24, 'reserved (IETF protocol assignments)'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, 'reserved (6to4 relay)'],
  ['192.168.0.0', 16, 'private (RFC 1918)'],
  ['198.18.0.0', 15, 'reserved (benchmarking)'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved (incl. broadcast)'],
];

const V6_RANGES: [string, number, string][] = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['64:ff9b:1::', 48, 'private (local NAT64)'],
  ['100::', 64, 'reserved (discard)'],
  ['2001::', 23, 'reserved (IETF protocol assignments, incl. Teredo)'],
  ['2001:db8::', 32, 'documentation'],
  ['3fff::', 20, 'documentation'],
  ['fc00::', 7, 'unique local (private)'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local'],
  ['ff00::', 8, 'multicast'],
];

const parsedV4 = V4_RANGES.map(([p, bits, kind]) => ({ prefix: parseIp(p)!, bits, kind }));
const parsedV6 = V6_RANGES.map(([p, bits, kind]) => ({ prefix: parseIp(p)!, bits, kind }));
const MAPPED = parseIp('::ffff:0:0')!;
const NAT64 = parseIp('64:ff9b::')!;
const SIX_TO_FOUR = parseIp('2002::')!;
const GLOBAL_UNICAST = parseIp('2000::')!;

/**
 * The IPv4 address an IPv6 one stands for, when it embeds one that a router would reach: IPv4-mapped
 * (`::ffff:a.b.c.d`, what a dual-stack socket connects to as IPv4), NAT64 (`64:ff9b::/96`) and 6to4 (`2002::/16`).
 */
function embeddedV4(b: Bytes): Bytes | undefined {
  if (within(b, MAPPED, 96) || within(b, NAT64, 96)) return b.slice(12, 16);
  if (within(b, SIX_TO_FOUR, 16)) return b.slice(2, 6);
  return undefined;
}

/**
 * Why an address is not public (`"loopback"`, `"private (RFC 1918)"`, …), or null for a globally reachable
 * unicast address. Anything that does not parse as an address is refused.
 */
export function nonPublicKind(address: string): string | null {
  const b = parseIp(address);
  if (!b) return 'not an IP address';
  if (b.length === 4) return parsedV4.find((r) => within(b, r.prefix, r.bits))?.kind ?? null;
  const v4 = embeddedV4(b);
  if (v4) {
    const kind = parsedV4.find((r) => within(v4, r.prefix, r.bits))?.kind;
    return kind ? `${kind}, embedded in IPv6` : null;
  }
  const kind = parsedV6.find((r) => within(b, r.prefix, r.bits))?.kind;
  if (kind) return kind;
  // Everything outside 2000::/3 (global unicast) is reserved, incl. IPv4-compatible ::a.b.c.d.
  return within(b, GLOBAL_UNICAST, 3) ? null : 'reserved';
}

/** The networks an operator allowed (SUBSCRIPTIONS_ALLOW_PRIVATE): `false`, `true` (everything) or CIDRs. */
export class AddressAllowList {
  private constructor(
    readonly all: boolean,
    private readonly networks: { prefix: Bytes; bits: number }[],
  ) {}

  static readonly none = new AddressAllowList(false, []);

  /** `""`/`false` = none, `true` = every address, else comma-separated CIDRs (a bare address = one host). */
  static parse(setting: string | undefined): AddressAllowList {
    const text = (setting ?? '').trim();
    if (text === '' || text.toLowerCase() === 'false') return AddressAllowList.none;
    if (text.toLowerCase() === 'true') return new AddressAllowList(true, []);
    const networks = text.split(',').map((part) => {
      const entry = part.trim();
      const [addr, bitsText, extra] = entry.split('/');
      const prefix = parseIp(addr);
      const max = prefix?.length === 4 ? 32 : 128;
      const bits = bitsText === undefined ? max : /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : NaN;
      if (!prefix || extra !== undefined || !(bits >= 0 && bits <= max))
        throw new Error(`not an IP network: "${entry}" (expected e.g. 10.20.0.0/16 or fd00::/8)`);
      return { prefix, bits };
    });
    return new AddressAllowList(false, networks);
  }

  /** Whether the operator allowed this address (an IPv4-mapped IPv6 address matches its IPv4 networks). */
  allows(address: string): boolean {
    if (this.all) return true;
    const b = parseIp(address);
    if (!b) return false;
    const v4 = b.length === 16 && within(b, MAPPED, 96) ? b.slice(12, 16) : undefined;
    return this.networks.some((n) => within(b, n.prefix, n.bits) || (v4 && within(v4, n.prefix, n.bits)));
  }

  /** Why a webhook may not go to this address, or null when it may. */
  refusal(address: string): string | null {
    const kind = nonPublicKind(address);
    return kind && !this.allows(address) ? kind : null;
  }
}
