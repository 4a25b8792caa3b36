import { useQuery } from '@tanstack/react-query';
import { Alert, Button, DatePicker, Input, Select, Space, Table, Tabs, Typography } from 'antd';
import type { Dayjs } from 'dayjs';
import { useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import type { DocumentView } from '../../api/types';
import { documentsQuery } from '../../queries';
import { DueDate, SecrecyTag, StatusTag, UrgencyTag } from '../../components/Tags';
import { errorText } from '../../components/errors';
import { label, STATUS, useI18n } from '../../i18n';

const FINISHED = new Set(['completed', 'rejected', 'recalled']);

/** Inbox and outbox: server-side paging (cursor) and full-text, diacritic-insensitive search (`q`). */
export default function Documents() {
  const { t, lang } = useI18n();
  const nav = useNavigate();
  const [params, setParams] = useSearchParams();
  const direction = params.get('direction') === 'outgoing' ? 'outgoing' : 'incoming';
  const [q, setQ] = useState(params.get('q') ?? '');
  const status = params.get('status') ?? undefined;
  const [range, setRange] = useState<[Dayjs | null, Dayjs | null] | null>(null);
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const cursor = cursors[cursors.length - 1];
  const from = range?.[0]?.format('YYYY-MM-DD');
  const to = range?.[1]?.format('YYYY-MM-DD');
  const list = useQuery({
    // The same query the app starts on a full load of this page (queries.ts).
    ...documentsQuery({ direction, q: params.get('q'), status, from, to, cursor }),
    placeholderData: (prev) => prev,
  });
  const set = (k: string, v?: string) => {
    const next = new URLSearchParams(params);
    if (v) next.set(k, v);
    else next.delete(k);
    setParams(next);
    setCursors([null]);
  };

  return (
    <section aria-labelledby="documents-title">
      <Typography.Title level={2} id="documents-title" style={{ fontSize: 20 }}>
        {direction === 'incoming' ? t('Văn bản đến', 'Inbox') : t('Văn bản đi', 'Outbox')}
      </Typography.Title>
      <Tabs
        activeKey={direction}
        onChange={(k) => set('direction', k)}
        items={[
          { key: 'incoming', label: t('Đến', 'Incoming') },
          { key: 'outgoing', label: t('Đi', 'Outgoing') },
        ]}
      />
      <Space wrap style={{ marginBottom: 12 }}>
        <Input.Search
          aria-label={t('Tìm kiếm', 'Search')}
          placeholder={t(
            'Tìm theo trích yếu, số, ký hiệu (không dấu cũng được)',
            'Search subject, number (accents optional)',
          )}
          allowClear
          value={q}
          onChange={(e) => setQ(e.target.value)}
          onSearch={(v) => set('q', v.trim())}
          style={{ width: 360, maxWidth: '100%' }}
          data-testid="doc-search"
        />
        <Select
          aria-label={t('Trạng thái', 'Status')}
          allowClear
          placeholder={t('Trạng thái', 'Status')}
          value={status}
          onChange={(v) => set('status', v)}
          style={{ width: 200 }}
          options={Object.keys(STATUS)
            .filter((s) => !s.startsWith('recall-') && s !== 'draft')
            .map((s) => ({ value: s, label: label(STATUS, s, lang) }))}
        />
        <DatePicker.RangePicker
          aria-label={t('Khoảng thời gian', 'Period')}
          value={range}
          onChange={(v) => {
            setRange(v);
            setCursors([null]);
          }}
        />
      </Space>
      {list.error && <Alert type="error" title={errorText(list.error)} />}
      <Table<DocumentView>
        rowKey="id"
        size="middle"
        loading={list.isFetching}
        dataSource={list.data?.items ?? []}
        pagination={false}
        scroll={{ x: 900 }}
        onRow={(r) => ({ onDoubleClick: () => nav(`/documents/${r.id}`) })}
        columns={[
          {
            title: t('Số/Ký hiệu', 'Number'),
            key: 'number',
            width: 150,
            render: (_, r) => (
              <Link to={`/documents/${r.id}`}>
                {r.number}/{r.notation}
              </Link>
            ),
          },
          { title: t('Trích yếu', 'Subject'), dataIndex: 'subject', ellipsis: true },
          direction === 'incoming'
            ? { title: t('Nơi gửi', 'From'), dataIndex: 'fromOrganizationCode', width: 140 }
            : {
                title: t('Nơi nhận', 'To'),
                key: 'to',
                width: 160,
                render: (_, r) => {
                  const n = r.recipientCounts?.total ?? r.recipients?.length ?? 0;
                  return `${r.recipients?.[0]?.organizationCode ?? ''}${n > 1 ? ` +${n - 1}` : ''}`;
                },
              },
          {
            title: t('Độ khẩn', 'Urgency'),
            dataIndex: 'urgency',
            width: 110,
            render: (v) => <UrgencyTag value={v} />,
          },
          {
            title: t('Độ mật', 'Secrecy'),
            dataIndex: 'secrecy',
            width: 100,
            render: (v) => <SecrecyTag value={v} />,
          },
          {
            title: t('Hạn xử lý', 'Due'),
            dataIndex: 'dueDate',
            width: 110,
            render: (v, r) => <DueDate value={v} done={FINISHED.has(r.status ?? r.state ?? '')} />,
          },
          {
            title: t('Trạng thái', 'Status'),
            key: 'status',
            width: 150,
            render: (_, r) => <StatusTag value={r.direction === 'incoming' ? r.status : r.state} />,
          },
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
    </section>
  );
}
