import { AddressAllowList, nonPublicKind, parseIp } from './webhook-address';

/** The host a URL parser leaves of a URL (WHATWG: decimal, octal, hex and short IPv4 forms normalised). */
const hostOf = (url: string) => {
  const h = new URL(url).hostname;
  return h.startsWith('[') ? h.slice(1, -1) : h;
};

describe('webhook address classifier (SSRF guard)', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['0.0.0.0', 'unspecified ("this network")'],
    ['10.1.2.3', 'private (RFC 1918)'],
    ['172.16.0.1', 'private (RFC 1918)'],
    ['172.31.255.255', 'private (RFC 1918)'],
    ['192.168.1.1', 'private (RFC 1918)'],
    ['169.254.169.254', 'link-local (incl. cloud metadata)'],
    ['100.64.0.1', 'shared (carrier-grade NAT)'],
    ['192.0.2.10', 'documentation'],
    ['198.18.0.1', 'reserved (benchmarking)'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved (incl. broadcast)'],
  ])('IPv4 %s is %s', (address, kind) => {
    expect(nonPublicKind(address)).toBe(kind);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '172.15.255.255',
    '172.32.0.1',
    '100.128.0.1',
    '169.255.0.1',
    '93.184.215.14',
  ])('IPv4 %s is public', (address) => {
    expect(nonPublicKind(address)).toBeNull();
  });

  it.each([
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fc00::1', 'unique local (private)'],
    ['fd12:3456:789a::1', 'unique local (private)'],
    ['fec0::1', 'site-local'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['2001:0:4136:e378::1', 'reserved (IETF protocol assignments, incl. Teredo)'],
    ['64:ff9b:1::a', 'private (local NAT64)'],
    ['::7f00:1', 'reserved'], // IPv4-compatible ::127.0.0.1 (deprecated)
    ['4000::1', 'reserved'], // outside global unicast 2000::/3
  ])('IPv6 %s is %s', (address, kind) => {
    expect(nonPublicKind(address)).toBe(kind);
  });

  it.each([
    ['::ffff:127.0.0.1', 'loopback, embedded in IPv6'],
    ['::ffff:7f00:1', 'loopback, embedded in IPv6'],
    ['0:0:0:0:0:ffff:a9fe:a9fe', 'link-local (incl. cloud metadata), embedded in IPv6'],
    ['::ffff:10.0.0.1', 'private (RFC 1918), embedded in IPv6'],
    ['64:ff9b::c0a8:101', 'private (RFC 1918), embedded in IPv6'], // NAT64 of 192.168.1.1
    ['2002:7f00:1::1', 'loopback, embedded in IPv6'], // 6to4 of 127.0.0.1
  ])('an IPv4 address inside IPv6 counts as itself: %s is %s', (address, kind) => {
    expect(nonPublicKind(address)).toBe(kind);
  });

  it.each(['2606:4700:4700::1111', '2a00:1450:4001:80e::200e', '::ffff:8.8.8.8', '64:ff9b::808:808'])(
    'IPv6 %s is public',
    (address) => {
      expect(nonPublicKind(address)).toBeNull();
    },
  );

  it('refuses what is not an address', () => {
    expect(nonPublicKind('localhost')).toBe('not an IP address');
    expect(nonPublicKind('')).toBe('not an IP address');
    expect(parseIp('1.2.3')).toBeUndefined();
  });

  it.each([
    ['http://2130706433/x', '127.0.0.1'], // decimal
    ['http://017700000001/x', '127.0.0.1'], // octal
    ['http://0x7f.0.0.1/x', '127.0.0.1'], // hex part
    ['http://127.1/x', '127.0.0.1'], // short form
    ['http://0/x', '0.0.0.0'],
    ['http://0xa9.0xfe.0xa9.0xfe/latest/meta-data', '169.254.169.254'],
    ['http://[::ffff:127.0.0.1]/x', '::ffff:7f00:1'],
    ['http://[0:0:0:0:0:0:0:1]/x', '::1'],
  ])('the URL parser normalises %s to %s, which is refused', (url, host) => {
    expect(hostOf(url)).toBe(host);
    expect(nonPublicKind(hostOf(url))).not.toBeNull();
  });

  it('parses IPv6 forms to the same bytes', () => {
    expect(parseIp('::ffff:127.0.0.1')).toEqual(parseIp('::ffff:7f00:1'));
    expect(parseIp('[::1]')).toEqual(parseIp('0:0:0:0:0:0:0:1'));
    expect(parseIp('1::')).toEqual([0, 1, ...new Array(14).fill(0)]);
  });
});

describe('SUBSCRIPTIONS_ALLOW_PRIVATE', () => {
  it('is none by default: every non-public address is refused', () => {
    for (const setting of [undefined, '', 'false', 'FALSE']) {
      const allow = AddressAllowList.parse(setting);
      expect(allow.refusal('127.0.0.1')).toBe('loopback');
      expect(allow.refusal('8.8.8.8')).toBeNull();
    }
  });

  it('true allows every address', () => {
    const allow = AddressAllowList.parse('true');
    expect(allow.refusal('127.0.0.1')).toBeNull();
    expect(allow.refusal('169.254.169.254')).toBeNull();
    expect(allow.refusal('fd00::1')).toBeNull();
  });

  it('a list allows only its networks (an IPv4-mapped address matches its IPv4 network)', () => {
    const allow = AddressAllowList.parse(' 10.20.0.0/16, fd00:1::/32 ,127.0.0.1');
    expect(allow.refusal('10.20.5.6')).toBeNull();
    expect(allow.refusal('::ffff:10.20.5.6')).toBeNull();
    expect(allow.refusal('10.21.0.1')).toBe('private (RFC 1918)');
    expect(allow.refusal('fd00:1:2::3')).toBeNull();
    expect(allow.refusal('fd00:2::3')).toBe('unique local (private)');
    expect(allow.refusal('127.0.0.1')).toBeNull();
    expect(allow.refusal('127.0.0.2')).toBe('loopback');
    expect(allow.refusal('169.254.169.254')).toBe('link-local (incl. cloud metadata)');
  });

  it.each(['10.0.0.0/33', 'fd00::/129', 'example.org', '10.0.0.0/8/1', '10.0.0.0/x', 'yes'])(
    'refuses the setting %s',
    (setting) => {
      expect(() => AddressAllowList.parse(setting)).toThrow(/not an IP network/);
    },
  );
});
