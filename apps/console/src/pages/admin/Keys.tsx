import { useQuery } from '@tanstack/react-query';
import { Alert, Card, Table, Typography } from 'antd';
import { api } from '../../api/client';
import { errorText } from '../../components/errors';
import { useI18n } from '../../i18n';

/** The public halves of the signing keys: identity's JWKS (tokens) and audit's checkpoint keys. */
export default function Keys() {
  const { t } = useI18n();
  const jwks = useQuery({
    queryKey: ['jwks'],
    queryFn: () =>
      fetch('/.well-known/jwks.json').then((r) => r.json() as Promise<{ keys: Record<string, string>[] }>),
  });
  const audit = useQuery({
    queryKey: ['audit-keys'],
    queryFn: () =>
      api.get<{ keys: { keyId: string; algorithm: string; createdAt: string }[] }>('/api/v1/audit/keys'),
    retry: false,
  });
  return (
    <section aria-labelledby="keys-title">
      <Typography.Title level={2} id="keys-title" style={{ fontSize: 20 }}>
        {t('Khóa ký', 'Signing keys')}
      </Typography.Title>
      <Card
        size="small"
        title={t('Khóa ký token (JWKS của identity)', 'Token signing keys (identity JWKS)')}
        style={{ marginBottom: 16 }}
      >
        {jwks.error && <Alert type="error" title={errorText(jwks.error)} />}
        <Table
          size="small"
          rowKey="kid"
          pagination={false}
          dataSource={jwks.data?.keys ?? []}
          columns={[
            { title: 'kid', dataIndex: 'kid' },
            { title: 'alg', dataIndex: 'alg' },
            { title: 'kty', dataIndex: 'kty' },
            { title: 'use', dataIndex: 'use' },
          ]}
        />
        <Typography.Paragraph type="secondary" style={{ marginTop: 8 }}>
          {t(
            'Khóa được xoay vòng tự động (KEY_ROTATION_DAYS); API công khai chưa có thao tác xoay khóa thủ công.',
            'Keys rotate on schedule (KEY_ROTATION_DAYS); the public API has no manual rotation yet.',
          )}
        </Typography.Paragraph>
      </Card>
      <Card
        size="small"
        title={t('Khóa ký điểm kiểm tra nhật ký (Ed25519)', 'Audit checkpoint keys (Ed25519)')}
      >
        {audit.error && <Alert type="warning" title={errorText(audit.error)} />}
        <Table
          size="small"
          rowKey="keyId"
          pagination={false}
          dataSource={audit.data?.keys ?? []}
          columns={[
            { title: 'keyId', dataIndex: 'keyId' },
            { title: t('Thuật toán', 'Algorithm'), dataIndex: 'algorithm' },
            { title: t('Tạo lúc', 'Created'), dataIndex: 'createdAt' },
          ]}
        />
      </Card>
    </section>
  );
}
