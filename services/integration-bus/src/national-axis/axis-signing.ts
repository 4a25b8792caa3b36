import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header names and signing of the national axis (NATIONAL-AXIS.md), in one place for both sides. */
export const AXIS_PREFIX = 'XroadVnpt-';
export const AXIS_VERSION = '3.0.201608';
export const AXIS_CLOCK_SKEW_MS = 5 * 60_000;
export const AxisHeaders = {
  systemId: 'XroadVnpt-systemid',
  timestamp: 'XroadVnpt-timestamp',
  version: 'XroadVnpt-version',
  signHeaderKey: 'XroadVnpt-sign-header-key',
  signHeader: 'XroadVnpt-sign-header',
  hashHeader: 'XroadVnpt-hash-header',
} as const;

export type AxisOperation =
  'sendEdoc' | 'getReceivedEdocList' | 'getEdoc' | 'updateStatus' | 'getAgenciesList';

/** Parameters each operation must carry (and sign). */
export const OPERATION_PARAMS: Record<AxisOperation, string[]> = {
  sendEdoc: ['servicetype', 'messagetype', 'from', 'to'],
  getReceivedEdocList: ['servicetype', 'messagetype'],
  getEdoc: ['docid'],
  updateStatus: ['docid', 'status'],
  getAgenciesList: [],
};

export function hmacHex(secret: string, text: string): string {
  return createHmac('sha256', secret).update(text, 'utf8').digest('hex');
}

/** All XroadVnpt-* headers of a call, signed: sign-header is the JSON of exactly the listed names, in order. */
export function signedAxisHeaders(
  systemId: string,
  secret: string,
  params: Record<string, string>,
  now: Date = new Date(),
): Record<string, string> {
  const base: Record<string, string> = {
    [AxisHeaders.systemId]: systemId,
    [AxisHeaders.timestamp]: now.toISOString(),
    [AxisHeaders.version]: AXIS_VERSION,
  };
  for (const [k, v] of Object.entries(params)) base[`${AXIS_PREFIX}${k}`] = v;
  const names = Object.keys(base);
  const signHeader = JSON.stringify(Object.fromEntries(names.map((n) => [n, base[n]])));
  return {
    ...base,
    [AxisHeaders.signHeaderKey]: names.join(';'),
    [AxisHeaders.signHeader]: signHeader,
    [AxisHeaders.hashHeader]: hmacHex(secret, signHeader),
  };
}

export type AxisVerification =
  | { ok: true; systemId: string; params: Record<string, string> }
  | { ok: false; code: string; reason: string };

/**
 * Checks a call's headers as the axis does (used by the simulator): every required name is in the
 * signed list, the sign-header is exactly the JSON of those headers, the HMAC matches and the clock is
 * within 5 minutes. `get` reads a request header case-insensitively.
 */
export function verifyAxisHeaders(
  get: (name: string) => string | undefined,
  secretOf: (systemId: string) => string | undefined,
  operation: AxisOperation,
  now: number = Date.now(),
): AxisVerification {
  const systemId = get(AxisHeaders.systemId);
  if (!systemId) return { ok: false, code: 'MISSING_SYSTEMID', reason: `${AxisHeaders.systemId} is missing` };
  const secret = secretOf(systemId);
  if (!secret) return { ok: false, code: 'UNKNOWN_SYSTEM', reason: `system ${systemId} is not registered` };
  const keyList = get(AxisHeaders.signHeaderKey);
  const signHeader = get(AxisHeaders.signHeader);
  const hash = get(AxisHeaders.hashHeader);
  if (!keyList || !signHeader || !hash)
    return { ok: false, code: 'MISSING_SIGNATURE', reason: 'signature headers are missing' };
  const names = keyList.split(';').filter(Boolean);
  const required = [
    AxisHeaders.systemId,
    AxisHeaders.timestamp,
    AxisHeaders.version,
    ...OPERATION_PARAMS[operation].map((p) => `${AXIS_PREFIX}${p}`),
  ];
  const lower = names.map((n) => n.toLowerCase());
  const missing = required.filter((r) => !lower.includes(r.toLowerCase()));
  if (missing.length)
    return { ok: false, code: 'UNSIGNED_HEADER', reason: `not signed: ${missing.join(', ')}` };
  const values: Record<string, string> = {};
  for (const n of names) {
    const v = get(n);
    if (v === undefined) return { ok: false, code: 'MISSING_HEADER', reason: `${n} is listed but absent` };
    values[n] = v;
  }
  if (JSON.stringify(values) !== signHeader)
    return { ok: false, code: 'SIGN_HEADER_MISMATCH', reason: 'sign-header does not match the headers' };
  const expected = Buffer.from(hmacHex(secret, signHeader), 'utf8');
  const given = Buffer.from(hash.toLowerCase(), 'utf8');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { ok: false, code: 'BAD_HASH', reason: 'hash-header does not match' };
  }
  const ts = Date.parse(get(AxisHeaders.timestamp) ?? '');
  if (Number.isNaN(ts) || Math.abs(now - ts) > AXIS_CLOCK_SKEW_MS) {
    return { ok: false, code: 'CLOCK_SKEW', reason: 'timestamp is more than 5 minutes off' };
  }
  const params: Record<string, string> = {};
  for (const p of OPERATION_PARAMS[operation]) params[p] = get(`${AXIS_PREFIX}${p}`) ?? '';
  return { ok: true, systemId, params };
}
