import { useQuery } from '@tanstack/react-query';
import { Card, Col, Row, Tag, Typography } from 'antd';
import { useI18n } from '../../i18n';

const SERVICES = ['identity', 'documents', 'integration-bus', 'audit'];

async function probe(service: string) {
  // The one origin forwards /health/<service>/ready to each service's readiness endpoint.
  const r = await fetch(`/health/${service}/ready`, { signal: AbortSignal.timeout(4000) });
  let body: unknown = null;
  try {
    body = await r.json();
  } catch {
    /* not JSON */
  }
  return { ok: r.ok, status: r.status, body };
}

export default function Health() {
  const { t } = useI18n();
  const results = useQuery({
    queryKey: ['health'],
    refetchInterval: 10_000,
    queryFn: () =>
      Promise.all(
        SERVICES.map((s) =>
          probe(s).then(
            (r) => ({ service: s, ...r }),
            (e: Error) => ({ service: s, ok: false, status: 0, body: e.message }),
          ),
        ),
      ),
  });
  return (
    <section aria-labelledby="health-title">
      <Typography.Title level={2} id="health-title" style={{ fontSize: 20 }}>
        {t('Tình trạng dịch vụ', 'Service health')}
      </Typography.Title>
      <Row gutter={[16, 16]}>
        {(results.data ?? SERVICES.map((s) => ({ service: s, ok: false, status: -1, body: null }))).map(
          (r) => (
            <Col xs={24} md={12} key={r.service}>
              <Card
                size="small"
                title={r.service}
                extra={
                  <Tag
                    color={r.status === -1 ? 'default' : r.ok ? 'green' : 'red'}
                    data-testid={`health-${r.service}`}
                  >
                    {r.status === -1
                      ? '…'
                      : r.ok
                        ? t('Sẵn sàng', 'Ready')
                        : `${t('Không sẵn sàng', 'Not ready')} (${r.status || t('không kết nối', 'unreachable')})`}
                  </Tag>
                }
              >
                <pre style={{ fontSize: 12, margin: 0, whiteSpace: 'pre-wrap' }}>
                  {JSON.stringify(r.body, null, 2)}
                </pre>
              </Card>
            </Col>
          ),
        )}
      </Row>
    </section>
  );
}
