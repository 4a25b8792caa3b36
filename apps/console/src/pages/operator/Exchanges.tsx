import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  Alert,
  App,
  Button,
  Descriptions,
  Drawer,
  Input,
  Select,
  Space,
  Table,
  Tag,
  Timeline,
  Typography,
} from 'antd';
import { useMemo, useState } from 'react';
import { api } from '../../api/client';
import type { Exchange } from '../../api/types';
import { errorText } from '../../components/errors';
import { exchangesQuery } from '../../queries';
import { useI18n } from '../../i18n';

const STATES = ['queued', 'sending', 'sent', 'delivered', 'failed', 'expired', 'dead'];
const ROUTES = ['local', 'federation', 'national-axis'];
const STATE_COLOR: Record<string, string> = {
  delivered: 'green',
  sent: 'blue',
  sending: 'cyan',
  queued: 'default',
  failed: 'orange',
  expired: 'volcano',
  dead: 'red',
};
const RETRYABLE = new Set(['failed', 'dead', 'expired']);

function ExchangeTrace({ id, onRetried }: { id: string; onRetried: () => void }) {
  const { t } = useI18n();
  const { message } = App.useApp();
  const ex = useQuery({
    queryKey: ['exchange', id],
    queryFn: () => api.get<Exchange>(`/api/v1/exchanges/${id}`),
  });
  const retry = useMutation({
    mutationFn: () => api.post(`/api/v1/exchanges/${id}/retry`),
    onSuccess: () => {
      message.success(t('Đã xếp lại vào hàng gửi.', 'Queued again.'));
      void ex.refetch();
      onRetried();
    },
    onError: (e) => message.error(errorText(e)),
  });
  if (ex.error) return <Alert type="error" title={errorText(ex.error)} />;
  const e = ex.data;
  if (!e) return null;
  return (
    <>
      <Descriptions size="small" bordered column={1}>
        <Descriptions.Item label={t('Văn bản', 'Document')}>{e.documentId}</Descriptions.Item>
        <Descriptions.Item label={t('Từ → Đến', 'From → To')}>
          {e.from} → {e.to}
        </Descriptions.Item>
        <Descriptions.Item label={t('Tuyến', 'Route')}>{e.route}</Descriptions.Item>
        <Descriptions.Item label={t('Trạng thái', 'State')}>
          <Tag color={STATE_COLOR[e.state]}>{e.state}</Tag>
        </Descriptions.Item>
        <Descriptions.Item label={t('Số lần thử', 'Attempts')}>{e.attempts}</Descriptions.Item>
        {e.lastError && (
          <Descriptions.Item label={t('Lỗi gần nhất', 'Last error')}>{e.lastError}</Descriptions.Item>
        )}
      </Descriptions>
      {RETRYABLE.has(e.state) && (
        <Button
          style={{ marginTop: 12 }}
          type="primary"
          onClick={() => retry.mutate()}
          loading={retry.isPending}
          data-testid="retry"
        >
          {t('Gửi lại', 'Retry')}
        </Button>
      )}
      <Typography.Title level={3} style={{ fontSize: 16, marginTop: 16 }}>
        {t('Vết (các chặng, lần thử, lỗi)', 'Trace (hops, attempts, errors)')}
      </Typography.Title>
      <Timeline
        items={(e.trace ?? []).map((s) => ({
          color: /fail|error|dead|expired|refused/i.test(s.event) ? 'red' : 'blue',
          content: (
            <>
              <Typography.Text strong>{s.event}</Typography.Text>{' '}
              <Typography.Text type="secondary">{s.at}</Typography.Text>
              {s.detail !== undefined && (
                <div style={{ fontFamily: 'monospace', fontSize: 12, wordBreak: 'break-all' }}>
                  {typeof s.detail === 'string' ? s.detail : JSON.stringify(s.detail)}
                </div>
              )}
            </>
          ),
        }))}
      />
    </>
  );
}

/** Exchanges with filters (state, organization, document on the server; route and age on the page). */
export default function Exchanges() {
  const { t } = useI18n();
  const qc = useQueryClient();
  const [state, setState] = useState<string>();
  const [route, setRoute] = useState<string>();
  const [minAgeH, setMinAgeH] = useState<number>();
  const [org, setOrg] = useState('');
  const [documentId, setDocumentId] = useState('');
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [open, setOpen] = useState<string>();
  const cursor = cursors[cursors.length - 1];
  const list = useQuery({
    // The same query the app starts on a full load of this page (queries.ts).
    ...exchangesQuery({ state, organizationCode: org.trim(), documentId: documentId.trim(), cursor }),
    placeholderData: (p) => p,
  });
  const items = useMemo(() => {
    const now = Date.now();
    return (list.data?.items ?? []).filter(
      (e) =>
        (!route || e.route === route) &&
        (!minAgeH || !e.createdAt || now - new Date(e.createdAt).getTime() >= minAgeH * 3_600_000),
    );
  }, [list.data, route, minAgeH]);
  const reset = () => setCursors([null]);
  return (
    <section aria-labelledby="ex-title">
      <Typography.Title level={2} id="ex-title" style={{ fontSize: 20 }}>
        {t('Giao dịch liên thông', 'Exchanges')}
      </Typography.Title>
      <Space wrap style={{ marginBottom: 12 }}>
        <Select
          aria-label={t('Trạng thái', 'State')}
          placeholder={t('Trạng thái', 'State')}
          allowClear
          value={state}
          onChange={(v) => {
            setState(v);
            reset();
          }}
          style={{ width: 150 }}
          options={STATES.map((s) => ({ value: s, label: s }))}
        />
        <Select
          aria-label={t('Tuyến', 'Route')}
          placeholder={t('Tuyến', 'Route')}
          allowClear
          value={route}
          onChange={setRoute}
          style={{ width: 160 }}
          options={ROUTES.map((s) => ({ value: s, label: s }))}
        />
        <Select
          aria-label={t('Tuổi', 'Age')}
          placeholder={t('Tuổi tối thiểu', 'Older than')}
          allowClear
          value={minAgeH}
          onChange={setMinAgeH}
          style={{ width: 160 }}
          options={[1, 24, 72].map((h) => ({ value: h, label: `≥ ${h} h` }))}
        />
        <Input.Search
          aria-label={t('Mã cơ quan', 'Organization code')}
          placeholder={t('Mã cơ quan', 'Organization code')}
          allowClear
          onSearch={(v) => {
            setOrg(v);
            reset();
          }}
          style={{ width: 200 }}
        />
        <Input.Search
          aria-label={t('Mã văn bản', 'Document id')}
          placeholder={t('Mã văn bản', 'Document id')}
          allowClear
          onSearch={(v) => {
            setDocumentId(v);
            reset();
          }}
          style={{ width: 280 }}
        />
      </Space>
      {list.error && <Alert type="error" title={errorText(list.error)} />}
      <Table<Exchange>
        size="small"
        rowKey="id"
        loading={list.isFetching}
        dataSource={items}
        pagination={false}
        scroll={{ x: 900 }}
        columns={[
          {
            title: 'ID',
            dataIndex: 'id',
            width: 120,
            render: (v: string) => (
              <Button type="link" size="small" onClick={() => setOpen(v)}>
                {v.slice(0, 8)}
              </Button>
            ),
          },
          { title: t('Từ', 'From'), dataIndex: 'from' },
          { title: t('Đến', 'To'), dataIndex: 'to' },
          { title: t('Tuyến', 'Route'), dataIndex: 'route' },
          {
            title: t('Trạng thái', 'State'),
            dataIndex: 'state',
            render: (v: string) => <Tag color={STATE_COLOR[v]}>{v}</Tag>,
          },
          { title: t('Lần thử', 'Attempts'), dataIndex: 'attempts', width: 90 },
          { title: t('Lỗi gần nhất', 'Last error'), dataIndex: 'lastError', ellipsis: true },
        ]}
      />
      <Space style={{ marginTop: 12 }}>
        <Button disabled={cursors.length < 2} onClick={() => setCursors((c) => c.slice(0, -1))}>
          {t('Trang trước', 'Previous')}
        </Button>
        <Button
          disabled={!list.data?.nextCursor}
          onClick={() => setCursors((c) => [...c, list.data!.nextCursor])}
        >
          {t('Trang sau', 'Next')}
        </Button>
      </Space>
      <Drawer
        open={!!open}
        onClose={() => setOpen(undefined)}
        size={640}
        title={t('Giao dịch', 'Exchange')}
        destroyOnHidden
      >
        {open && (
          <ExchangeTrace id={open} onRetried={() => void qc.invalidateQueries({ queryKey: ['exchanges'] })} />
        )}
      </Drawer>
    </section>
  );
}
