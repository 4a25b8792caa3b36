import { invalid } from './edxml.errors';
import type { ParsedDocumentId } from './edxml.types';

/** edXML dates and times are Vietnam local time (UTC+7); we convert at the edge. */
const VN_OFFSET_MS = 7 * 3_600_000;
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** YYYY-MM-DD → yyyy/MM/dd */
export function toEdxmlDate(isoDate: string): string {
  return isoDate.replace(/-/g, '/');
}

/** Accepts yyyy/MM/dd, yyyy-MM-dd and dd/MM/yyyy; returns YYYY-MM-DD. */
export function parseEdxmlDate(value: string, element: string): string {
  const v = value.trim();
  let m = /^(\d{4})[/-](\d{1,2})[/-](\d{1,2})$/.exec(v);
  let y: number, mo: number, d: number;
  if (m) [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  else if ((m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(v)))
    [d, mo, y] = [Number(m[1]), Number(m[2]), Number(m[3])];
  else throw invalid(element, `is not a date (yyyy/MM/dd): "${v.slice(0, 40)}"`);
  const dt = new Date(Date.UTC(y, mo - 1, d));
  if (dt.getUTCFullYear() !== y || dt.getUTCMonth() !== mo - 1 || dt.getUTCDate() !== d) {
    throw invalid(element, `is not a valid date: "${v.slice(0, 40)}"`);
  }
  return `${y}-${pad(mo)}-${pad(d)}`;
}

/** ISO instant → `yyyy/MM/dd HH:mm:ss` in Vietnam time. */
export function toEdxmlTimestamp(iso: string | Date): string {
  const t = new Date(new Date(iso).getTime() + VN_OFFSET_MS);
  return `${t.getUTCFullYear()}/${pad(t.getUTCMonth() + 1)}/${pad(t.getUTCDate())} ${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}`;
}

/** Accepts `yyyy/MM/dd HH:mm:ss`, `dd/MM/yyyy HH:mm:ss` (Vietnam time) and ISO 8601 with an offset. */
export function parseEdxmlTimestamp(value: string, element: string): string {
  const v = value.trim();
  let m = /^(\d{4})[/-](\d{1,2})[/-](\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(v);
  let parts: number[] | undefined;
  if (m) parts = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(Number);
  else if ((m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(v))) {
    parts = [m[3], m[2], m[1], m[4], m[5], m[6] ?? '0'].map(Number);
  }
  if (parts) {
    const [y, mo, d, h, mi, s] = parts;
    const ms = Date.UTC(y, mo - 1, d, h, mi, s) - VN_OFFSET_MS;
    if (Number.isNaN(ms) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) {
      throw invalid(element, `is not a valid timestamp: "${v.slice(0, 40)}"`);
    }
    return new Date(ms).toISOString();
  }
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(v)) {
    return new Date(v).toISOString();
  }
  throw invalid(
    element,
    `is not a timestamp (yyyy/MM/dd HH:mm:ss or dd/MM/yyyy HH:mm:ss): "${v.slice(0, 40)}"`,
  );
}

/** `<OrganId>,<yyyy/MM/dd>,<number>/<notation>` */
export function formatDocumentId(organId: string, isoDate: string, number: string, notation: string): string {
  return `${organId},${toEdxmlDate(isoDate)},${number}/${notation}`;
}

export function parseDocumentId(value: string, element = 'DocumentId'): ParsedDocumentId {
  const v = value.trim();
  const first = v.indexOf(',');
  const second = first < 0 ? -1 : v.indexOf(',', first + 1);
  if (first <= 0 || second < 0)
    throw invalid(element, `is not "<OrganId>,<yyyy/MM/dd>,<number>/<notation>": "${v.slice(0, 80)}"`);
  const organId = v.slice(0, first).trim();
  const date = parseEdxmlDate(v.slice(first + 1, second), element);
  const rest = v.slice(second + 1).trim();
  const slash = rest.indexOf('/');
  if (slash <= 0) throw invalid(element, `has no "<number>/<notation>": "${v.slice(0, 80)}"`);
  return { organId, date, number: rest.slice(0, slash), notation: rest.slice(slash + 1) };
}
