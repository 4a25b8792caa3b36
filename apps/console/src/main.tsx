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
    <ConfigProvider
      locale={lang === 'en' ? enUS : viVN}
      theme={{ token: { colorPrimary: '#b71c1c', borderRadius: 4 } }}
    >
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
