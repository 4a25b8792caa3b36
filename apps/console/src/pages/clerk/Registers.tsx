import { DownloadOutlined } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import { Alert, App, Button, InputNumber, Space, Table, Tabs, Typography } from 'antd';
import { useState } from 'react';
import { api } from '../../api/client';
import { errorText } from '../../components/errors';
import { useI18n } from '../../i18n';

type Entry = Record<string, unknown>;

/** Incoming and outgoing registers of the caller's office by year, with the server's CSV file. */
export default function Registers() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [direction, setDirection] = useState<'incoming' | 'outgoing'>('incoming');
  const [year, setYear] = useState(new Date().getFullYear());
  const reg = useQuery({
    queryKey: ['register', direction, year],
    queryFn: () => api.get<{ items: Entry[] }>(`/api/v1/registers/${direction}?year=${year}`),
  });
  const items = reg.data?.items ?? [];
  // Columns follow whatever the register answers (the CSV has the same fields).
  const keys = Array.from(new Set(items.flatMap((e) => Object.keys(e)))).filter((k) => k !== 'documentId');
  return (
    <section aria-labelledby="reg-title">
      <Typography.Title level={2} id="reg-title" style={{ fontSize: 20 }}>
        {t('Sổ văn bản', 'Registers')}
      </Typography.Title>
      <Tabs
        activeKey={direction}
        onChange={(k) => setDirection(k as 'incoming' | 'outgoing')}
        items={[
          { key: 'incoming', label: t('Sổ văn bản đến', 'Incoming register') },
          { key: 'outgoing', label: t('Sổ văn bản đi', 'Outgoing register') },
        ]}
      />
      <Space style={{ marginBottom: 12 }}>
        <label htmlFor="year">{t('Năm', 'Year')}</label>
        <InputNumber id="year" min={1900} max={9999} value={year} onChange={(v) => v && setYear(v)} />
        <Button
          icon={<DownloadOutlined />}
          onClick={() =>
            void api
              .download(
                `/api/v1/registers/${direction}?year=${year}&format=csv`,
                `${direction}-register-${year}.csv`,
              )
              .catch((e) => message.error(errorText(e)))
          }
        >
          {t('Tải CSV', 'Download CSV')}
        </Button>
      </Space>
      {reg.error && <Alert type="error" title={errorText(reg.error)} />}
      <Table<Entry>
        size="small"
        loading={reg.isFetching}
        rowKey={(e) => String(e.documentId ?? e.number ?? JSON.stringify(e))}
        dataSource={items}
        scroll={{ x: 1000 }}
        pagination={{ pageSize: 50, hideOnSinglePage: true }}
        columns={keys.map((k) => ({
          title: k,
          dataIndex: k,
          render: (v: unknown) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v ?? '')),
        }))}
      />
    </section>
  );
}
