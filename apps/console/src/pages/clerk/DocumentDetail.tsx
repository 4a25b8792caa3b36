import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  Alert,
  App,
  Button,
  Card,
  Descriptions,
  Input,
  Modal,
  Space,
  Spin,
  Steps,
  Table,
  Timeline,
  Typography,
} from 'antd';
import { useState } from 'react';
import { useParams } from 'react-router';
import { api, type Page } from '../../api/client';
import type { DocumentView, RecipientStatus } from '../../api/types';
import { SignatureVerdict } from '../../components/SignatureVerdict';
import { DueDate, SecrecyTag, StatusTag, UrgencyTag } from '../../components/Tags';
import { errorText } from '../../components/errors';
import { label, STATUS, useI18n } from '../../i18n';
import { documentQuery } from '../../queries';

/** The national status path of a recipient (API.md): 01 → 03 → 04 → 05 → 06. */
const PATH = ['queued', 'sent', 'arrived', 'accepted', 'assigned', 'processing', 'completed'];
const ENDS = new Set(['rejected', 'recalled', 'recall-agreed', 'recall-refused', 'failed', 'expired']);

function RecipientTimeline({ r }: { r: RecipientStatus }) {
  const { lang } = useI18n();
  const at = PATH.indexOf(r.status);
  const end = ENDS.has(r.status);
  // The API gives each recipient's current status and its time; the steps before it are implied by the path.
  const items = PATH.map((s) => ({ title: label(STATUS, s, lang) }));
  if (end) items.push({ title: `${label(STATUS, r.status, lang)}${r.reason ? `: ${r.reason}` : ''}` });
  return (
    <Steps
      size="small"
      current={end ? items.length - 1 : Math.max(at, 0)}
      status={
        end
          ? r.status === 'recall-agreed'
            ? 'finish'
            : 'error'
          : at === PATH.length - 1
            ? 'finish'
            : 'process'
      }
      items={items}
      style={{ minWidth: 900 }}
    />
  );
}

const BAD_ENDS = new Set(['rejected', 'recall-refused', 'failed', 'expired']);

/** Every status change of one recipient, from GET /documents/{id}/recipients/{code}/history. */
function StatusHistory({ documentId, code }: { documentId: string; code: string }) {
  const { t, lang } = useI18n();
  const history = useQuery({
    queryKey: ['document', documentId, 'history', code],
    queryFn: () =>
      api.get<{ items: { status: string; statusCode?: string; reason?: string; at: string }[] }>(
        `/api/v1/documents/${documentId}/recipients/${encodeURIComponent(code)}/history?limit=500`,
      ),
  });
  if (history.error) return <Alert type="error" title={errorText(history.error)} />;
  if (!history.data) return <Spin size="small" />;
  return (
    <div data-testid={`status-history-${code}`} style={{ paddingTop: 8 }}>
      <Typography.Text type="secondary">{t('Lịch sử trạng thái', 'Status history')}</Typography.Text>
      <Timeline
        style={{ marginTop: 12 }}
        items={history.data.items.map((e) => ({
          color: BAD_ENDS.has(e.status) ? 'red' : e.status === 'completed' ? 'green' : 'blue',
          content: (
            <span data-history-status={e.status}>
              <Typography.Text strong>
                {label(STATUS, e.status, lang)}
                {e.statusCode ? ` (${e.statusCode})` : ''}
              </Typography.Text>{' '}
              <Typography.Text type="secondary">{new Date(e.at).toLocaleString()}</Typography.Text>
              {e.reason && <div>{e.reason}</div>}
            </span>
          ),
        }))}
      />
    </div>
  );
}

export default function DocumentDetail() {
  const { id = '' } = useParams();
  const { t, lang } = useI18n();
  const { message } = App.useApp();
  const qc = useQueryClient();
  const doc = useQuery(documentQuery(id));
  const d = doc.data;
  const total = d?.recipientCounts?.total ?? d?.recipients?.length ?? 0;
  // A long recipient list is paged by the API; the first 500 come with the document.
  const more = useQuery({
    queryKey: ['document', id, 'recipients'],
    enabled: !!d && d.direction === 'outgoing' && total > (d.recipients?.length ?? 0),
    queryFn: () => api.get<Page<RecipientStatus>>(`/api/v1/documents/${id}/recipients?limit=500`),
  });
  const recipients = more.data?.items ?? d?.recipients ?? [];
  const [dialog, setDialog] = useState<null | 'rejected' | 'assigned' | 'recall'>(null);
  const [text, setText] = useState('');

  const act = useMutation({
    mutationFn: (body: { status?: string; reason?: string; assignee?: string; recall?: boolean }) =>
      body.recall
        ? api.post(`/api/v1/documents/${id}/recall`, { reason: body.reason })
        : api.post(`/api/v1/documents/${id}/status`, body),
    onSuccess: () => {
      message.success(t('Đã cập nhật.', 'Updated.'));
      setDialog(null);
      setText('');
      void qc.invalidateQueries({ queryKey: ['document', id] });
      void qc.invalidateQueries({ queryKey: ['documents'] });
    },
    onError: (e) => message.error(errorText(e)),
  });

  if (doc.isLoading) return <Spin />;
  if (doc.error || !d) return <Alert type="error" title={errorText(doc.error)} />;
  const incoming = d.direction === 'incoming';
  const status = incoming ? d.status : d.state;

  return (
    <section aria-labelledby="doc-title">
      <Typography.Title level={2} id="doc-title" style={{ fontSize: 20 }}>
        {d.number}/{d.notation} — {d.subject}
      </Typography.Title>
      <Space wrap style={{ marginBottom: 12 }}>
        <StatusTag value={status} />
        <UrgencyTag value={d.urgency} />
        <SecrecyTag value={d.secrecy} />
      </Space>
      <Descriptions bordered size="small" column={{ xs: 1, md: 2 }} style={{ marginBottom: 16 }}>
        <Descriptions.Item label={t('Loại', 'Type')}>{d.typeName ?? d.type}</Descriptions.Item>
        <Descriptions.Item label={t('Ngày ban hành', 'Promulgated')}>{d.promulgationDate}</Descriptions.Item>
        <Descriptions.Item label={t('Người ký', 'Signer')}>
          {[d.signer?.competence, d.signer?.position, d.signer?.fullName].filter(Boolean).join(' ')}
        </Descriptions.Item>
        <Descriptions.Item label={t('Hạn xử lý', 'Due')}>
          <DueDate value={d.dueDate} done={status === 'completed'} />
        </Descriptions.Item>
        {incoming ? (
          <>
            <Descriptions.Item label={t('Nơi gửi', 'From')}>{d.fromOrganizationCode}</Descriptions.Item>
            <Descriptions.Item label={t('Số đến / ngày đến', 'Arrival no. / date')}>
              {d.arrivalNumber ?? '—'} / {d.arrivalDate ?? '—'}
            </Descriptions.Item>
            {d.assignee && (
              <Descriptions.Item label={t('Người xử lý', 'Assignee')}>{d.assignee}</Descriptions.Item>
            )}
            {d.reason && <Descriptions.Item label={t('Lý do', 'Reason')}>{d.reason}</Descriptions.Item>}
          </>
        ) : (
          <>
            <Descriptions.Item label={t('Số đi', 'Outgoing no.')}>
              {d.outgoingNumber ?? '—'}
            </Descriptions.Item>
            <Descriptions.Item label={t('Gửi lúc', 'Sent at')}>{d.sentAt ?? '—'}</Descriptions.Item>
            {!!d.recipientRules?.length && (
              <Descriptions.Item label={t('Quy tắc nơi nhận', 'Recipient rules')}>
                {d.recipientRules
                  .map(
                    (r) =>
                      `${t('trực thuộc', 'under')} ${r.under}` +
                      (r.level ? ` · ${r.level}` : '') +
                      (r.sector ? ` · ${r.sector}` : ''),
                  )
                  .join('; ')}
              </Descriptions.Item>
            )}
            {!!d.recipientGroups?.length && (
              <Descriptions.Item label={t('Nhóm nơi nhận', 'Recipient groups')}>
                {d.recipientGroups.length}
              </Descriptions.Item>
            )}
          </>
        )}
      </Descriptions>
      {d.content && (
        <Typography.Paragraph style={{ whiteSpace: 'pre-wrap' }}>{d.content}</Typography.Paragraph>
      )}

      <Card size="small" title={t('Tệp đính kèm', 'Attachments')} style={{ marginBottom: 16 }}>
        {d.attachments.length === 0 && (
          <Typography.Text type="secondary">{t('Không có', 'None')}</Typography.Text>
        )}
        {d.attachments.map((a) => (
          <div key={a.id} style={{ marginBottom: 8 }}>
            <Button
              type="link"
              onClick={() =>
                void api
                  .download(`/api/v1/documents/${d.id}/attachments/${a.id}/content`, a.name)
                  .catch((e) => message.error(errorText(e)))
              }
            >
              {a.name}
            </Button>
            <SignatureVerdict value={a.signature} />
          </div>
        ))}
      </Card>

      {incoming ? (
        <Card
          size="small"
          title={t('Xử lý văn bản đến', 'Handle this document')}
          style={{ marginBottom: 16 }}
        >
          <Space wrap>
            <Button
              type="primary"
              onClick={() => act.mutate({ status: 'accepted' })}
              loading={act.isPending}
              data-testid="accept"
            >
              {t('Tiếp nhận (03)', 'Accept (03)')}
            </Button>
            <Button danger onClick={() => setDialog('rejected')}>
              {t('Từ chối (02)', 'Reject (02)')}
            </Button>
            <Button onClick={() => setDialog('assigned')}>{t('Phân công (04)', 'Assign (04)')}</Button>
            <Button onClick={() => act.mutate({ status: 'processing' })}>
              {t('Đang xử lý (05)', 'Processing (05)')}
            </Button>
            <Button onClick={() => act.mutate({ status: 'completed' })}>
              {t('Hoàn thành (06)', 'Complete (06)')}
            </Button>
          </Space>
          {d.history && d.history.length > 0 && (
            <Table
              style={{ marginTop: 12 }}
              size="small"
              rowKey={(h) => `${h.at}-${h.businessType}`}
              pagination={false}
              dataSource={d.history}
              columns={[
                { title: t('Lúc', 'At'), dataIndex: 'at' },
                {
                  title: t('Nghiệp vụ', 'Business type'),
                  dataIndex: 'businessType',
                  render: (v: number, h: NonNullable<DocumentView['history']>[number]) =>
                    v === 1 && h.refused
                      ? t(
                          'Thu hồi — đã từ chối (16: đã hoàn thành)',
                          'Recall — refused (16: already completed)',
                        )
                      : ({
                          1: t('Thu hồi', 'Recall'),
                          2: t('Cập nhật', 'Update'),
                          3: t('Thay thế', 'Replace'),
                        }[v] ?? v),
                },
                { title: t('Lý do', 'Reason'), dataIndex: 'reason' },
              ]}
            />
          )}
        </Card>
      ) : (
        <Card
          size="small"
          title={`${t('Tiến trình theo nơi nhận', 'Per-recipient timeline')} (${total})`}
          extra={
            d.sentAt && (
              <Button danger onClick={() => setDialog('recall')}>
                {t('Thu hồi', 'Recall')}
              </Button>
            )
          }
        >
          {d.recipientCounts && (
            <Typography.Paragraph type="secondary">
              {Object.entries(d.recipientCounts)
                .filter(([k]) => k !== 'total')
                .map(([k, v]) => `${label(STATUS, k, lang)}: ${v}`)
                .join(' · ')}
            </Typography.Paragraph>
          )}
          <Table<RecipientStatus>
            size="small"
            rowKey="organizationCode"
            dataSource={recipients}
            pagination={{ pageSize: 20, hideOnSinglePage: true }}
            scroll={{ x: 1100 }}
            data-testid="recipients-table"
            expandable={{
              rowExpandable: (r) => r.status !== 'draft',
              expandedRowRender: (r) => <StatusHistory documentId={id} code={r.organizationCode} />,
            }}
            columns={[
              { title: t('Nơi nhận', 'Recipient'), dataIndex: 'organizationCode', width: 150, fixed: 'left' },
              {
                title: t('Trạng thái', 'Status'),
                dataIndex: 'status',
                width: 170,
                render: (v: string, r) => (
                  <>
                    <StatusTag value={v} />
                    {r.statusCode && <Typography.Text type="secondary">{r.statusCode}</Typography.Text>}
                  </>
                ),
              },
              { title: t('Cập nhật', 'Updated'), dataIndex: 'updatedAt', width: 200 },
              {
                title: t('Tiến trình', 'Timeline'),
                key: 'timeline',
                render: (_, r) => <RecipientTimeline r={r} />,
              },
            ]}
          />
        </Card>
      )}

      <Modal
        open={dialog !== null}
        title={
          dialog === 'rejected'
            ? t('Lý do từ chối', 'Reason for rejecting')
            : dialog === 'assigned'
              ? t('Phân công cho', 'Assign to')
              : t('Lý do thu hồi', 'Reason for the recall')
        }
        okText={t('Xác nhận', 'Confirm')}
        cancelText={t('Hủy', 'Cancel')}
        okButtonProps={{ disabled: !text.trim(), loading: act.isPending }}
        onCancel={() => setDialog(null)}
        onOk={() =>
          dialog === 'recall'
            ? act.mutate({ recall: true, reason: text.trim() })
            : dialog === 'rejected'
              ? act.mutate({ status: 'rejected', reason: text.trim() })
              : act.mutate({ status: 'assigned', assignee: text.trim() })
        }
      >
        <Input.TextArea
          aria-label={t('Nội dung', 'Text')}
          autoFocus
          value={text}
          onChange={(e) => setText(e.target.value)}
          autoSize={{ minRows: 2 }}
        />
      </Modal>
    </section>
  );
}
