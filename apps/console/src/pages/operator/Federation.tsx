import { useQuery } from '@tanstack/react-query';
import { Alert, Table, Tag, Tooltip, Typography } from 'antd';
import { api } from '../../api/client';
import type { Links, WitnessNode } from '../../api/types';
import { errorText } from '../../components/errors';
import { useI18n } from '../../i18n';
import { useLinks, when } from './NationalAxis';

type Row = Links['federation']['items'][number] & { witness?: WitnessNode };

const VERDICT_COLOR: Record<string, string> = { cosigned: 'green', refused: 'red' };

/** Federation peers: link up/down, last message, backlog, inbound lag, and the witness's last verdict. */
export default function Federation() {
  const { t } = useI18n();
  const links = useLinks();
  // The witness summary lives on the central node's audit service; elsewhere it is empty.
  const witness = useQuery({
    queryKey: ['witness-nodes'],
    refetchInterval: 30_000,
    queryFn: () => api.get<{ items: WitnessNode[] }>('/api/v1/audit/witness/nodes'),
  });
  const never = t('chưa có', 'not yet');
  const byNode = new Map((witness.data?.items ?? []).map((w) => [w.nodeId, w]));
  const rows: Row[] = (links.data?.federation.items ?? []).map((i) => ({
    ...i,
    witness: byNode.get(i.nodeId),
  }));
  // Nodes the witness knows that have no link row here (e.g. nothing in flight) are still listed.
  for (const w of witness.data?.items ?? [])
    if (!rows.some((r) => r.nodeId === w.nodeId))
      rows.push({
        nodeId: w.nodeId,
        domain: null,
        linkUp: null,
        sourceError: null,
        sourceActiveMsAgo: null,
        lastMessageAt: null,
        outboundBacklog: 0,
        outbound: { queued: 0, sending: 0, sent: 0, failed: 0, expired: 0, dead: 0 },
        inboundLag: null,
        lastError: null,
        witness: w,
      });
  return (
    <section aria-labelledby="federation-title">
      <Typography.Title level={2} id="federation-title" style={{ fontSize: 20 }}>
        {t('Các nút liên thông', 'Federation nodes')}
      </Typography.Title>
      {links.error && <Alert type="error" title={errorText(links.error)} />}
      <Typography.Paragraph type="secondary">
        {t('Nút này', 'This node')}: <b data-testid="federation-node">{links.data?.nodeId ?? '…'}</b> ·{' '}
        {t('Thông điệp đến chưa xử lý', 'Inbound messages not yet applied')}:{' '}
        <b data-testid="federation-inbound-pending">{links.data?.federation.inboundPending ?? '—'}</b>
      </Typography.Paragraph>
      <Table<Row>
        data-testid="federation-table"
        rowKey="nodeId"
        size="small"
        loading={links.isLoading}
        pagination={false}
        scroll={{ x: true }}
        dataSource={rows}
        locale={{
          emptyText: t('Chưa có nút nào liên thông với nút này.', 'No node exchanges with this node yet.'),
        }}
        columns={[
          {
            title: t('Nút', 'Node'),
            dataIndex: 'nodeId',
            render: (v: string, r) => (r.domain ? `${v} (${r.domain})` : v),
          },
          {
            title: t('Liên kết', 'Link'),
            dataIndex: 'linkUp',
            render: (up: boolean | null, r) => (
              <Tooltip title={r.sourceError ?? undefined}>
                <Tag color={up === null ? 'default' : up ? 'green' : 'red'} data-link={String(up)}>
                  {up === null ? t('không rõ', 'unknown') : up ? t('Thông', 'Up') : t('Mất kết nối', 'Down')}
                </Tag>
              </Tooltip>
            ),
          },
          {
            title: t('Thông điệp gần nhất', 'Last message'),
            dataIndex: 'lastMessageAt',
            render: (v: string | null) => when(v, never),
          },
          {
            title: t('Tồn gửi đi', 'Outbound backlog'),
            render: (_: unknown, r) => (
              <Tooltip
                title={t(
                  'chờ trong outbox / đã gửi chưa có phản hồi',
                  'waiting in the outbox / sent, not answered',
                )}
              >
                {r.outboundBacklog} / {r.outbound.queued + r.outbound.sending + r.outbound.sent}
              </Tooltip>
            ),
          },
          {
            title: t('Độ trễ nhận', 'Inbound lag'),
            dataIndex: 'inboundLag',
            render: (v: number | null) => (v === null ? '—' : v),
          },
          {
            title: t('Điểm kiểm tra được chứng kiến', 'Last witnessed checkpoint'),
            render: (_: unknown, r) =>
              r.witness?.lastWitnessed
                ? `#${r.witness.lastWitnessed.treeSize} · ${when(r.witness.lastWitnessed.at, never)}`
                : '—',
          },
          {
            title: t('Kết luận của nhân chứng', 'Witness verdict'),
            render: (_: unknown, r) =>
              r.witness?.lastVerdict ? (
                <Tag color={VERDICT_COLOR[r.witness.lastVerdict.verdict] ?? 'default'}>
                  {r.witness.lastVerdict.verdict}
                  {r.witness.lastVerdict.reason ? ` · ${r.witness.lastVerdict.reason}` : ''}
                </Tag>
              ) : (
                '—'
              ),
          },
          {
            title: t('Lỗi gần nhất', 'Last error'),
            render: (_: unknown, r) => r.lastError?.message ?? '—',
          },
        ]}
      />
    </section>
  );
}
