import { useQuery } from '@tanstack/react-query';
import { Alert, Card, Descriptions, Space, Statistic, Tag, Typography } from 'antd';
import { api } from '../../api/client';
import type { LinkStateCounts, Links } from '../../api/types';
import { errorText } from '../../components/errors';
import { useI18n } from '../../i18n';

const CIRCUIT_COLOR: Record<string, string> = { closed: 'green', 'half-open': 'orange', open: 'red' };
export const QUEUE_STATES: (keyof LinkStateCounts)[] = [
  'queued',
  'sending',
  'sent',
  'failed',
  'expired',
  'dead',
];

export function when(at: string | null | undefined, never: string): string {
  return at ? new Date(at).toLocaleString() : never;
}

export function useLinks() {
  return useQuery({
    queryKey: ['links'],
    refetchInterval: 10_000,
    queryFn: () => api.get<Links>('/api/v1/exchanges/links'),
  });
}

/** The national-axis link of this node: configuration, circuit, polling and sending, queue by state. */
export default function NationalAxis() {
  const { t } = useI18n();
  const links = useLinks();
  const a = links.data?.nationalAxis;
  const never = t('chưa có', 'not yet');
  const circuitLabel: Record<string, string> = {
    closed: t('Đóng (bình thường)', 'Closed (normal)'),
    'half-open': t('Nửa mở (đang thử lại)', 'Half-open (probing)'),
    open: t('Mở (tạm ngừng gọi trục)', 'Open (calls paused)'),
  };
  return (
    <section aria-labelledby="axis-title">
      <Typography.Title level={2} id="axis-title" style={{ fontSize: 20 }}>
        {t('Trục liên thông quốc gia', 'National axis')}
      </Typography.Title>
      {links.error && <Alert type="error" title={errorText(links.error)} />}
      {a && !a.configured && (
        <Alert
          type="info"
          data-testid="axis-not-configured"
          style={{ marginBottom: 12 }}
          title={t(
            'Nút này chưa cấu hình trục quốc gia (NATIONAL_AXIS_URL): không có tuyến tới cơ quan nhà nước.',
            'This node has no national axis configured (NATIONAL_AXIS_URL): no route to state agencies.',
          )}
        />
      )}
      {a && (
        <Space direction="vertical" style={{ width: '100%' }}>
          <Card size="small" title={t('Kết nối', 'Link')}>
            <Descriptions size="small" bordered column={{ xs: 1, md: 2 }}>
              <Descriptions.Item label={t('Nút', 'Node')}>{links.data?.nodeId}</Descriptions.Item>
              <Descriptions.Item label={t('Mã hệ thống trên trục', 'System id on the axis')}>
                {a.systemId ?? '—'}
              </Descriptions.Item>
              <Descriptions.Item label={t('Ngắt mạch', 'Circuit')}>
                <Tag color={a.circuit ? CIRCUIT_COLOR[a.circuit] : 'default'} data-testid="axis-circuit">
                  {a.circuit ? circuitLabel[a.circuit] : t('không dùng', 'not used')}
                </Tag>
              </Descriptions.Item>
              <Descriptions.Item label={t('Lần hỏi trục gần nhất', 'Last poll')}>
                <span data-testid="axis-last-poll">{when(a.lastPollAt, never)}</span>
              </Descriptions.Item>
              <Descriptions.Item label={t('Lần hỏi thành công gần nhất', 'Last successful poll')}>
                {when(a.lastSuccessfulPollAt, never)}
              </Descriptions.Item>
              <Descriptions.Item label={t('Lần gửi thành công gần nhất', 'Last successful send')}>
                {when(a.lastSuccessfulSendAt, never)}
              </Descriptions.Item>
            </Descriptions>
          </Card>
          <Card size="small" title={t('Hàng đợi theo trạng thái', 'Queue by state')}>
            <Space wrap size="large" data-testid="axis-queue">
              {QUEUE_STATES.map((s) => (
                <Statistic key={s} title={s} value={a.queue[s]} />
              ))}
            </Space>
          </Card>
          <Card size="small" title={t('Lỗi gần nhất', 'Last error')}>
            {a.lastError ? (
              <Typography.Paragraph data-testid="axis-last-error">
                <Typography.Text type="secondary">{when(a.lastError.at, never)}</Typography.Text>{' '}
                {a.lastError.message}
              </Typography.Paragraph>
            ) : (
              <Typography.Text type="secondary">{t('Không có lỗi', 'No error')}</Typography.Text>
            )}
          </Card>
          <Typography.Text type="secondary">
            {t(
              'Thời điểm và trạng thái ngắt mạch là của bản chạy trả lời yêu cầu này; số lượng chỉ gồm giao dịch thuộc phạm vi của bạn.',
              'Times and circuit state are those of the replica that answered; counts cover the exchanges in your scope.',
            )}
          </Typography.Text>
        </Space>
      )}
    </section>
  );
}
