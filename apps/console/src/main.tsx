import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { App as AntApp, ConfigProvider } from 'antd';
import enUS from 'antd/locale/en_US';
import viVN from 'antd/locale/vi_VN';
import dayjs from 'dayjs';
import 'dayjs/locale/vi';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router';
import { ApiError } from './api/client';
import { AppRoutes } from './App';
import { AuthProvider } from './auth';
import { I18nProvider, useI18n } from './i18n';
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

function Localized() {
  const { lang } = useI18n();
  dayjs.locale(lang === 'en' ? 'en' : 'vi');
  return (
    <ConfigProvider locale={lang === 'en' ? enUS : viVN} theme={{ token: THEME_TOKENS }}>
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
