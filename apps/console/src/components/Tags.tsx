import { Tag } from 'antd';
import { label, SECRECY, STATUS, STATUS_COLOR, URGENCY, URGENCY_COLOR, useI18n } from '../i18n';
import { vnToday } from '../vn-time';

export function UrgencyTag({ value }: { value?: string }) {
  const { lang } = useI18n();
  if (!value) return null;
  return <Tag color={URGENCY_COLOR[value]}>{label(URGENCY, value, lang)}</Tag>;
}

export function SecrecyTag({ value }: { value?: string }) {
  const { lang } = useI18n();
  if (!value) return null;
  return <Tag color={value === 'none' ? 'default' : 'red'}>{label(SECRECY, value, lang)}</Tag>;
}

export function StatusTag({ value }: { value?: string }) {
  const { lang } = useI18n();
  if (!value) return null;
  return (
    <Tag color={STATUS_COLOR[value] ?? 'default'} data-status={value}>
      {label(STATUS, value, lang)}
    </Tag>
  );
}

/** A date that is due today or past shows in red. */
export function DueDate({ value, done }: { value?: string | null; done?: boolean }) {
  if (!value) return <span>—</span>;
  const late = !done && value <= vnToday();
  return <span style={late ? { color: '#cf1322', fontWeight: 600 } : undefined}>{value}</span>;
}
