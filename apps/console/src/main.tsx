import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { App as AntApp, ConfigProvider } from 'antd';
import enUS from 'antd/locale/en_US';
import viVN from 'antd/locale/vi_VN';
import dayjs from 'dayjs';
import 'dayjs/locale/vi';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router';
import { ApiError, hasSession } from './api/client';
import { AppRoutes } from './App';
import { AuthProvider } from './auth';
import { I18nProvider, useI18n } from './i18n';
import { preloadPage } from './page-chunks';
import { prefetchPage } from './queries';
// Ant Design's styles as one static stylesheet (zero-runtime mode below): generating them in the browser, on
// every load, was most of a page's main-thread time (bench/console-pages.mjs).
import 'antd/dist/antd.css';
import './a11y.css';

/**
 * The theme, with text and tag colours dark enough for WCAG 2 AA contrast (4.5:1, checked by axe-core in the
 * browser test): antd's defaults draw secondary text, placeholders and links at 3.4–4.1:1. Tag colours: a11y.css.
 */
const THEME_TOKENS = {
  colorPrimary: '#b71c1c',
  borderRadius: 4,
  colorLink: '#0958d9',
  // Danger buttons and error text: antd's #ff4d4f is 3.3:1 on white.
  colorError: '#cf1322',
  colorTextSecondary: 'rgba(0, 0, 0, 0.65)',
  colorTextTertiary: 'rgba(0, 0, 0, 0.6)',
  colorTextDescription: 'rgba(0, 0, 0, 0.6)',
  colorTextPlaceholder: 'rgba(0, 0, 0, 0.6)',
};

/**
 * Zero-runtime: the components' CSS comes from antd/dist/antd.css (imported above) instead of being computed and
 * injected at run time; the tokens above still apply, as the CSS variables that stylesheet reads.
 */
const THEME = { token: THEME_TOKENS, zeroRuntime: true };

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 10_000,
      refetchOnWindowFocus: false,
      // 4xx answers are final; retry only network trouble and 5xx once.
      retry: (n, e) => n < 1 && !(e instanceof ApiError && e.status < 500),
    },
  },
});

// A full load of a page with a session (a reload, a bookmark, a link): its chunk and its first query start
// now, while the refresh-token grant and /auth/me run, rather than one after the other.
if (hasSession()) {
  preloadPage(window.location.pathname);
  prefetchPage(queryClient, window.location);
}

function Localized() {
  const { lang } = useI18n();
  dayjs.locale(lang === 'en' ? 'en' : 'vi');
  return (
    <ConfigProvider locale={lang === 'en' ? enUS : viVN} theme={THEME}>
      <AntApp>
        <AuthProvider>
          <AppRoutes />
        </AuthProvider>
      </AntApp>
    </ConfigProvider>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <I18nProvider>
        <BrowserRouter>
          <Localized />
        </BrowserRouter>
      </I18nProvider>
    </QueryClientProvider>
  </StrictMode>,
);
