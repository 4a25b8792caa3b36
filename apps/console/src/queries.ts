import type { QueryClient } from '@tanstack/react-query';
import dayjs from 'dayjs';
import { api, qs, type Page } from './api/client';
import type { DocumentView, Exchange } from './api/types';
import { organizationsQuery } from './components/orgs';
import { vnToday, vnYear } from './vn-time';

/**
 * The first query of the busiest pages, shared by the page and by the start of the app: on a full load of
 * such a page the app asks for its data as soon as it has a token, in parallel with `/auth/me` and with the
 * page's JavaScript, instead of after both (the page then renders once, with its data).
 */

export interface DocumentsFilter {
  direction: 'incoming' | 'outgoing';
  q: string | null;
  status?: string;
  from?: string;
  to?: string;
  cursor: string | null;
}
export const DOCUMENTS_PAGE = 20;
export const documentsQuery = (f: DocumentsFilter) => ({
  queryKey: ['documents', f.direction, f.q, f.status, f.from, f.to, f.cursor],
  queryFn: () =>
    api.get<Page<DocumentView>>(
      `/api/v1/documents${qs({
        direction: f.direction,
        q: f.q,
        status: f.status,
        from: f.from,
        to: f.to,
        limit: DOCUMENTS_PAGE,
        cursor: f.cursor,
      })}`,
    ),
});

export const documentQuery = (id: string) => ({
  queryKey: ['document', id],
  queryFn: () => api.get<DocumentView>(`/api/v1/documents/${id}`),
});

export type RegisterEntry = Record<string, unknown>;
export const REGISTER_PAGE = 50;
export const registerQuery = (direction: 'incoming' | 'outgoing', year: number, cursor: string | null) => ({
  queryKey: ['register', direction, year, cursor],
  queryFn: () =>
    api.get<{ items: RegisterEntry[]; nextCursor?: string | null }>(
      `/api/v1/registers/${direction}${qs({ year, limit: REGISTER_PAGE, cursor })}`,
    ),
});

export interface ExchangesFilter {
  state?: string;
  organizationCode: string;
  documentId: string;
  cursor: string | null;
}
export const exchangesQuery = (f: ExchangesFilter) => ({
  queryKey: ['exchanges', f.state, f.organizationCode, f.documentId, f.cursor],
  queryFn: () =>
    api.get<Page<Exchange>>(
      `/api/v1/exchanges${qs({ state: f.state, organizationCode: f.organizationCode, documentId: f.documentId, limit: 100, cursor: f.cursor })}`,
    ),
});

/** The programme indicators of a period (dates YYYY-MM-DD); the page opens on this year so far. */
export const reportQuery = (from: string, to: string) => ({
  queryKey: ['report', from, to],
  queryFn: () =>
    api.get<{ totals: OrgFigures; organizations: OrgFigures[] }>(
      `/api/v1/reports/exchange${qs({ from, to })}`,
    ),
});
export interface OrgFigures {
  code: string;
  sent: number;
  received: number;
  registered?: number;
  /** Denominators of electronicShare and onTimeShare (documents README, "Indicators"). */
  electronicEligible?: number;
  dueResolved?: number;
  electronicShare: number | null;
  signedShare: number | null;
  onTimeShare: number | null;
  byStatus?: Record<string, number>;
}
/** From 1 January to today, both in Vietnam time (the server's days: vn-time.ts). */
export const reportDefaultRange = () => [dayjs(`${vnYear()}-01-01`), dayjs(vnToday())] as const;

/** Starts the first query of the page at `location`, when it is one of those above. */
export function prefetchPage(qc: QueryClient, location: { pathname: string; search: string }): void {
  const params = new URLSearchParams(location.search);
  const { pathname } = location;
  if (pathname === '/documents') {
    void qc.prefetchQuery(
      documentsQuery({
        direction: params.get('direction') === 'outgoing' ? 'outgoing' : 'incoming',
        q: params.get('q'),
        status: params.get('status') ?? undefined,
        cursor: null,
      }),
    );
  } else if (/^\/documents\/[0-9a-f-]{36}$/i.test(pathname)) {
    void qc.prefetchQuery(documentQuery(pathname.split('/')[2]));
  } else if (pathname === '/registers') {
    void qc.prefetchQuery(registerQuery('incoming', vnYear(), null));
  } else if (pathname === '/exchanges') {
    void qc.prefetchQuery(exchangesQuery({ organizationCode: '', documentId: '', cursor: null }));
  } else if (pathname === '/indicators') {
    const [from, to] = reportDefaultRange();
    void qc.prefetchQuery(reportQuery(from.format('YYYY-MM-DD'), to.format('YYYY-MM-DD')));
    void qc.prefetchQuery(organizationsQuery);
  }
}
