import { createContext, useContext, useMemo, useState, type ReactNode } from 'react';

export type Lang = 'vi' | 'en';

interface I18n {
  lang: Lang;
  setLang: (l: Lang) => void;
  /** Vietnamese first: every text is written in both languages where it is used. */
  t: (vi: string, en: string) => string;
}

const Ctx = createContext<I18n>({ lang: 'vi', setLang: () => undefined, t: (vi) => vi });

export function I18nProvider({ children }: { children: ReactNode }) {
  const [lang, setLangState] = useState<Lang>(() => {
    const stored: Lang = localStorage.getItem('lienthong.lang') === 'en' ? 'en' : 'vi';
    // <html lang> follows the chosen language from the first paint (screen readers pick their voice by it).
    document.documentElement.lang = stored;
    return stored;
  });
  const value = useMemo<I18n>(
    () => ({
      lang,
      setLang: (l) => {
        localStorage.setItem('lienthong.lang', l);
        document.documentElement.lang = l;
        setLangState(l);
      },
      t: (vi, en) => (lang === 'en' ? en : vi),
    }),
    [lang],
  );
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export const useI18n = () => useContext(Ctx);

type Pair = [string, string];

export const URGENCY: Record<string, Pair> = {
  normal: ['Thường', 'Normal'],
  urgent: ['Khẩn', 'Urgent'],
  'very-urgent': ['Thượng khẩn', 'Very urgent'],
  flash: ['Hỏa tốc', 'Flash'],
};
export const URGENCY_COLOR: Record<string, string> = {
  normal: 'default',
  urgent: 'orange',
  'very-urgent': 'volcano',
  flash: 'red',
};
export const SECRECY: Record<string, Pair> = {
  none: ['Không mật', 'Unclassified'],
  confidential: ['Mật', 'Confidential'],
  secret: ['Tối mật', 'Secret'],
  'top-secret': ['Tuyệt mật', 'Top secret'],
};
/** Status names of API.md with their national codes. */
export const STATUS: Record<string, Pair & { 2?: string }> = {
  draft: ['Dự thảo', 'Draft'],
  queued: ['Chờ gửi', 'Queued'],
  sent: ['Đã gửi', 'Sent'],
  arrived: ['Đã đến (01)', 'Arrived (01)'],
  rejected: ['Từ chối (02)', 'Rejected (02)'],
  accepted: ['Đã tiếp nhận (03)', 'Accepted (03)'],
  assigned: ['Đã phân công (04)', 'Assigned (04)'],
  processing: ['Đang xử lý (05)', 'Processing (05)'],
  completed: ['Hoàn thành (06)', 'Completed (06)'],
  recalled: ['Thu hồi (13)', 'Recalled (13)'],
  'recall-agreed': ['Đồng ý thu hồi (15)', 'Recall agreed (15)'],
  'recall-refused': ['Từ chối thu hồi (16)', 'Recall refused (16)'],
  failed: ['Lỗi', 'Failed'],
  expired: ['Quá hạn', 'Expired'],
};
export const STATUS_COLOR: Record<string, string> = {
  draft: 'default',
  queued: 'default',
  sent: 'blue',
  arrived: 'geekblue',
  accepted: 'cyan',
  assigned: 'purple',
  processing: 'gold',
  completed: 'green',
  rejected: 'red',
  recalled: 'magenta',
  'recall-agreed': 'magenta',
  'recall-refused': 'orange',
  failed: 'red',
  expired: 'volcano',
};

export function label(map: Record<string, Pair>, key: string | undefined, lang: Lang): string {
  if (!key) return '';
  const p = map[key];
  return p ? p[lang === 'en' ? 1 : 0] : key;
}
