import type { AuditEventPayload } from '@lienthong/contracts';

/**
 * SD-ID of the feed's structured data. 32473 is the private enterprise number RFC 5612 reserves for
 * documentation; a deployment with its own number can map it at the collector.
 */
export const SD_ID = 'lienthong@32473';
const BOM = '\uFEFF';

export interface SyslogHeader {
  facility: number;
  severity: number;
  hostname: string;
  nodeId: string;
}

/** PRINTUSASCII without spaces, cut to the field's maximum (RFC 5424 §6); "-" when nothing is left. */
function token(value: string | undefined | null, max: number): string {
  const clean = (value ?? '').replace(/[^!-~]/g, '_').slice(0, max);
  return clean.length > 0 ? clean : '-';
}

/** PARAM-VALUE escaping (§6.3.3): `"`, `\` and `]` get a backslash. */
function paramValue(v: string): string {
  return v.replace(/[\\"\]]/g, (c) => `\\${c}`);
}

/** RFC 3339 timestamp in UTC with milliseconds (§6.2.3); the receive time when the event's is unusable. */
function timestamp(time: string): string {
  const t = new Date(time);
  return Number.isNaN(t.getTime()) ? new Date().toISOString() : t.toISOString();
}

/**
 * One RFC 5424 message for an audit event: MSGID is the audit action, the structured data carries the fields
 * a SOC filters on, and MSG is the whole event as UTF-8 JSON (with the BOM §6.4 asks for).
 */
export function formatSyslog(e: AuditEventPayload, h: SyslogHeader): string {
  const pri = h.facility * 8 + h.severity;
  const details = (e.details ?? {}) as Record<string, unknown>;
  const params: [string, unknown][] = [
    ['eventId', e.id],
    ['node', h.nodeId],
    ['service', e.service],
    ['outcome', e.outcome],
    ['actorType', e.actor?.type],
    ['actorSub', e.actor?.sub],
    ['actorOrg', e.actor?.organizationCode],
    ['resourceType', e.resource?.type],
    ['resourceId', e.resource?.id],
    ['reason', details.reason],
    ['clientIp', details.ip ?? details.clientIp],
    ['correlationId', e.correlationId],
  ];
  const sd = params
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${k}="${paramValue(String(v))}"`)
    .join(' ');
  const header = [
    `<${pri}>1`,
    timestamp(e.time),
    token(h.hostname, 255),
    token(`lienthong-${e.service}`, 48),
    '-',
    token(e.action, 32),
  ].join(' ');
  return `${header} [${SD_ID} ${sd}] ${BOM}${JSON.stringify(e)}`;
}

/** Octet-counting framing (RFC 6587 §3.4.1): `MSG-LEN SP SYSLOG-MSG`, the length in bytes. */
export function frame(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}
