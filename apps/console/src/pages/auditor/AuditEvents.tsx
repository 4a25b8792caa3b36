import { CheckCircleFilled, CloseCircleFilled } from '@ant-design/icons';
import { useQuery } from '@tanstack/react-query';
import { Alert, Button, DatePicker, Drawer, Form, Input, Space, Table, Tabs, Tag, Typography } from 'antd';
import type { Dayjs } from 'dayjs';
import { useState } from 'react';
import { api, qs, type Page } from '../../api/client';
import { verifyInclusion, type Checkpoint, type InclusionProof, type Verdict } from '../../audit/proof';
import { errorText } from '../../components/errors';
import { useI18n } from '../../i18n';

interface AuditEvent {
  id: string;
  leafIndex: number;
  leafHash: string;
  time: string;
  service: string;
  action: string;
  actor: { sub: string; organizationCode: string | null; type: string };
  resource: { type: string; id: string };
  outcome: string;
  details?: Record<string, unknown>;
}

interface Filters {
  action?: string;
  actor?: string;
  organizationCode?: string;
  resourceId?: string;
  range?: [Dayjs | null, Dayjs | null] | null;
}

/** The stored event exactly as logged: one line of the export, by leaf index. */
async function storedEvent(leafIndex: number): Promise<unknown> {
  const text = await api.text(`/api/v1/audit/export?from=${leafIndex}&to=${leafIndex + 1}`);
  const line = text.split('\n').find((l) => l.trim());
  if (!line) throw new Error(`leaf ${leafIndex} is not in the export`);
  const row = JSON.parse(line) as { leafIndex: number; event: unknown };
  if (row.leafIndex !== leafIndex) throw new Error(`the export answered leaf ${row.leafIndex}`);
  return row.event;
}

function ProofPanel({ ev }: { ev: AuditEvent }) {
  const { t } = useI18n();
  const [state, setState] = useState<{
    busy: boolean;
    verdict?: Verdict;
    checkpoint?: Checkpoint;
    error?: string;
  }>({
    busy: false,
  });
  async function run() {
    setState({ busy: true });
    try {
      const checkpoint = await api.get<Checkpoint>('/api/v1/audit/checkpoint');
      if (ev.leafIndex >= checkpoint.treeSize) {
        setState({
          busy: false,
          checkpoint,
          error: t(
            `Sự kiện #${ev.leafIndex} chưa nằm trong điểm kiểm tra mới nhất (kích thước ${checkpoint.treeSize}); thử lại sau ít phút.`,
            `Event #${ev.leafIndex} is not covered by the latest checkpoint (size ${checkpoint.treeSize}) yet; try again shortly.`,
          ),
        });
        return;
      }
      const [event, proof, keys] = await Promise.all([
        storedEvent(ev.leafIndex),
        api.get<InclusionProof>(
          `/api/v1/audit/proofs/inclusion?leafIndex=${ev.leafIndex}&treeSize=${checkpoint.treeSize}`,
        ),
        api.get<{ keys: { keyId: string; publicKey: string }[] }>('/api/v1/audit/keys'),
      ]);
      const verdict = await verifyInclusion({
        event,
        leafIndex: ev.leafIndex,
        proof,
        checkpoint,
        keys: keys.keys,
      });
      setState({ busy: false, verdict, checkpoint });
    } catch (e) {
      setState({ busy: false, error: errorText(e) });
    }
  }
  const titles: Record<string, string> = {
    leaf: t(
      '1. Băm sự kiện thành lá (SHA-256, 0x00 ‖ JSON chuẩn hóa RFC 8785)',
      '1. Leaf hash of the event (SHA-256, 0x00 ‖ RFC 8785 JSON)',
    ),
    path: t(
      '2. Đi theo đường kiểm chứng lên gốc (0x01 ‖ trái ‖ phải)',
      '2. Audit path up to the root (0x01 ‖ left ‖ right)',
    ),
    root: t('3. So gốc tính được với gốc của điểm kiểm tra', '3. Computed root against the checkpoint root'),
    signature: t('4. Kiểm tra chữ ký Ed25519 của điểm kiểm tra', '4. Ed25519 signature of the checkpoint'),
  };
  return (
    <div>
      <Button type="primary" onClick={run} loading={state.busy} data-testid="verify-proof">
        {t('Kiểm tra bằng chứng trong trình duyệt', 'Verify the proof in this browser')}
      </Button>
      {state.error && <Alert style={{ marginTop: 12 }} type="warning" title={state.error} />}
      {state.checkpoint && (
        <Typography.Paragraph type="secondary" style={{ marginTop: 12 }}>
          {t('Điểm kiểm tra', 'Checkpoint')}: {state.checkpoint.origin} · {t('kích thước', 'size')}{' '}
          {state.checkpoint.treeSize} · {state.checkpoint.timestamp}
        </Typography.Paragraph>
      )}
      {state.verdict && (
        <>
          {state.verdict.steps.map((s) => (
            <div key={s.id} style={{ marginBottom: 8 }} data-step={s.id} data-ok={s.ok}>
              {s.ok ? (
                <CheckCircleFilled style={{ color: '#389e0d' }} />
              ) : (
                <CloseCircleFilled style={{ color: '#cf1322' }} />
              )}{' '}
              <Typography.Text strong>{titles[s.id]}</Typography.Text>
              <div>
                <Typography.Text code style={{ wordBreak: 'break-all' }}>
                  {s.detail}
                </Typography.Text>
              </div>
              {s.hashes?.map((h, i) => (
                <div
                  key={i}
                  style={{ fontFamily: 'monospace', fontSize: 12, wordBreak: 'break-all', paddingLeft: 16 }}
                >
                  {h.side === 'left'
                    ? `H(${h.sibling.slice(0, 12)}… ‖ ·)`
                    : `H(· ‖ ${h.sibling.slice(0, 12)}…)`}{' '}
                  = {h.result}
                </div>
              ))}
            </div>
          ))}
          <Alert
            role="status"
            data-testid="proof-verdict"
            type={state.verdict.ok ? 'success' : 'error'}
            title={
              state.verdict.ok
                ? t(
                    'Đã xác minh: sự kiện nằm trong nhật ký có điểm kiểm tra đã ký.',
                    'Verified: the event is in the log under the signed checkpoint.',
                  )
                : t(
                    'KHÔNG xác minh được: nhật ký hoặc bằng chứng không khớp.',
                    'NOT verified: the log or the proof does not match.',
                  )
            }
          />
        </>
      )}
    </div>
  );
}

interface WitnessNode {
  nodeId: string;
  origin: string;
  lastWitnessed: { treeSize: number; rootHash: string; at: string } | null;
  cosigned: number;
  refused: number;
  inconsistent: number;
}

function Witness() {
  const { t } = useI18n();
  const nodes = useQuery({
    queryKey: ['witness-nodes'],
    queryFn: () => api.get<{ items: WitnessNode[] }>('/api/v1/audit/witness/nodes'),
  });
  return (
    <>
      {nodes.error && <Alert type="error" title={errorText(nodes.error)} />}
      <Table
        size="small"
        rowKey="nodeId"
        loading={nodes.isLoading}
        dataSource={nodes.data?.items ?? []}
        pagination={false}
        columns={[
          { title: t('Nút', 'Node'), dataIndex: 'nodeId' },
          { title: 'Origin', dataIndex: 'origin' },
          {
            title: t('Đã chứng kiến', 'Last witnessed'),
            dataIndex: 'lastWitnessed',
            render: (v: WitnessNode['lastWitnessed']) => (v ? `${v.treeSize} @ ${v.at}` : '—'),
          },
          { title: t('Đồng ký', 'Cosigned'), dataIndex: 'cosigned' },
          { title: t('Từ chối', 'Refused'), dataIndex: 'refused' },
          {
            title: t('Không nhất quán', 'Inconsistent'),
            dataIndex: 'inconsistent',
            render: (v: number) => (
              <Tag color={v > 0 ? 'red' : 'green'}>{v > 0 ? `INCONSISTENT ×${v}` : 'CONSISTENT'}</Tag>
            ),
          },
        ]}
      />
    </>
  );
}

export default function AuditEvents() {
  const { t } = useI18n();
  const [filters, setFilters] = useState<Filters>({});
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [open, setOpen] = useState<AuditEvent>();
  const cursor = cursors[cursors.length - 1];
  const events = useQuery({
    queryKey: ['audit-events', filters, cursor],
    placeholderData: (p) => p,
    queryFn: () =>
      api.get<Page<AuditEvent>>(
        `/api/v1/audit/events${qs({
          action: filters.action,
          actor: filters.actor,
          organizationCode: filters.organizationCode,
          resourceId: filters.resourceId,
          from: filters.range?.[0]?.toISOString(),
          to: filters.range?.[1]?.toISOString(),
          limit: 50,
          cursor,
        })}`,
      ),
  });
  return (
    <section aria-labelledby="audit-title">
      <Typography.Title level={2} id="audit-title" style={{ fontSize: 20 }}>
        {t('Nhật ký kiểm toán', 'Audit log')}
      </Typography.Title>
      <Tabs
        items={[
          {
            key: 'events',
            label: t('Sự kiện', 'Events'),
            children: (
              <>
                <Form<Filters>
                  layout="inline"
                  onFinish={(v) => {
                    setFilters(v);
                    setCursors([null]);
                  }}
                  style={{ marginBottom: 12, rowGap: 8 }}
                >
                  <Form.Item htmlFor="f-action" name="action" label={t('Hành động', 'Action')}>
                    <Input id="f-action" placeholder="document.sent" allowClear />
                  </Form.Item>
                  <Form.Item htmlFor="f-actor" name="actor" label={t('Chủ thể', 'Actor')}>
                    <Input id="f-actor" allowClear />
                  </Form.Item>
                  <Form.Item htmlFor="f-org" name="organizationCode" label={t('Cơ quan', 'Organization')}>
                    <Input id="f-org" allowClear />
                  </Form.Item>
                  <Form.Item htmlFor="f-resource" name="resourceId" label={t('Đối tượng', 'Resource')}>
                    <Input id="f-resource" allowClear />
                  </Form.Item>
                  <Form.Item name="range" label={t('Thời gian', 'Time')}>
                    <DatePicker.RangePicker showTime />
                  </Form.Item>
                  <Button htmlType="submit" type="primary">
                    {t('Lọc', 'Filter')}
                  </Button>
                </Form>
                {events.error && <Alert type="error" title={errorText(events.error)} />}
                <Table<AuditEvent>
                  size="small"
                  rowKey="id"
                  loading={events.isFetching}
                  dataSource={events.data?.items ?? []}
                  pagination={false}
                  scroll={{ x: 1000 }}
                  columns={[
                    { title: '#', dataIndex: 'leafIndex', width: 80 },
                    { title: t('Thời điểm', 'Time'), dataIndex: 'time', width: 200 },
                    { title: t('Dịch vụ', 'Service'), dataIndex: 'service', width: 120 },
                    { title: t('Hành động', 'Action'), dataIndex: 'action' },
                    {
                      title: t('Chủ thể', 'Actor'),
                      key: 'actor',
                      render: (_, e) =>
                        `${e.actor.type}:${e.actor.sub.slice(0, 8)} ${e.actor.organizationCode ?? ''}`,
                    },
                    {
                      title: t('Đối tượng', 'Resource'),
                      key: 'res',
                      render: (_, e) => `${e.resource.type}:${e.resource.id.slice(0, 12)}`,
                    },
                    {
                      title: t('Kết quả', 'Outcome'),
                      dataIndex: 'outcome',
                      width: 100,
                      render: (v: string) => <Tag color={v === 'success' ? 'green' : 'red'}>{v}</Tag>,
                    },
                    {
                      title: '',
                      key: 'proof',
                      width: 130,
                      render: (_, e) => (
                        <Button size="small" onClick={() => setOpen(e)} data-testid={`proof-${e.leafIndex}`}>
                          {t('Bằng chứng', 'Proof')}
                        </Button>
                      ),
                    },
                  ]}
                />
                <Space style={{ marginTop: 12 }}>
                  <Button disabled={cursors.length < 2} onClick={() => setCursors((c) => c.slice(0, -1))}>
                    {t('Trang trước', 'Previous')}
                  </Button>
                  <Button
                    disabled={!events.data?.nextCursor}
                    onClick={() => setCursors((c) => [...c, events.data!.nextCursor])}
                  >
                    {t('Trang sau', 'Next')}
                  </Button>
                </Space>
              </>
            ),
          },
          { key: 'witness', label: t('Chứng kiến (witness)', 'Witness verdicts'), children: <Witness /> },
        ]}
      />
      <Drawer
        open={!!open}
        onClose={() => setOpen(undefined)}
        size={720}
        title={open ? `${t('Sự kiện', 'Event')} #${open.leafIndex} — ${open.action}` : ''}
        destroyOnHidden
      >
        {open && (
          <>
            <pre
              style={{ fontSize: 12, background: '#fafafa', padding: 8, overflow: 'auto', maxHeight: 240 }}
            >
              {JSON.stringify(open, null, 2)}
            </pre>
            <ProofPanel ev={open} />
          </>
        )}
      </Drawer>
    </section>
  );
}
