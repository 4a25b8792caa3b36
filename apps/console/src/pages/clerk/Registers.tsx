import { DownloadOutlined } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import { Alert, App, Button, InputNumber, Space, Table, Tabs, Typography } from 'antd';
import { useState } from 'react';
import { api } from '../../api/client';
import { errorText } from '../../components/errors';
import { useI18n } from '../../i18n';
import { registerQuery, type RegisterEntry as Entry } from '../../queries';
import { vnYear } from '../../vn-time';

/**
 * Incoming and outgoing registers of the caller's office by year, paged by number on the server (`limit`,
 * `cursor`), with the server's CSV file of the whole year.
 */
export default function Registers() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const [direction, setDirection] = useState<'incoming' | 'outgoing'>('incoming');
  const [year, setYear] = useState(vnYear);
  // The cursors of the pages opened so far (null: the first page), so "Previous" needs no request of its own.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const cursor = cursors[cursors.length - 1];
  const reg = useQuery({
    // A page of 50 entries (the same query the app starts on a full load of this page: queries.ts).
    ...registerQuery(direction, year, cursor),
    placeholderData: (prev) => prev,
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
        onChange={(k) => {
          setDirection(k as 'incoming' | 'outgoing');
          setCursors([null]);
        }}
        items={[
          { key: 'incoming', label: t('Sổ văn bản đến', 'Incoming register') },
          { key: 'outgoing', label: t('Sổ văn bản đi', 'Outgoing register') },
        ]}
      />
      <Space style={{ marginBottom: 12 }}>
        <label htmlFor="year">{t('Năm', 'Year')}</label>
        <InputNumber
          id="year"
          min={1900}
          max={9999}
          value={year}
          onChange={(v) => {
            if (!v) return;
            setYear(v);
            setCursors([null]);
          }}
        />
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
        pagination={false}
        columns={keys.map((k) => ({
          title: k,
          dataIndex: k,
          render: (v: unknown) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v ?? '')),
        }))}
      />
      <Space style={{ marginTop: 12 }}>
        <Button disabled={cursors.length < 2} onClick={() => setCursors((c) => c.slice(0, -1))}>
          {t('Trang trước', 'Previous')}
        </Button>
        <Button
          disabled={!reg.data?.nextCursor}
          onClick={() => setCursors((c) => [...c, reg.data!.nextCursor!])}
        >
          {t('Trang sau', 'Next')}
        </Button>
      </Space>
    </section>
  );
}
