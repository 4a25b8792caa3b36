import { Alert, App, Button, Card, Form, Input, Modal, Select, Space, Typography } from 'antd';
import { useState } from 'react';
import { api } from '../../api/client';
import { useAuth } from '../../auth';
import { errorText } from '../../components/errors';
import { useOrganizations } from '../../components/orgs';
import { ROLES } from '../../components/roles';
import { useI18n } from '../../i18n';

interface Secret {
  clientId: string;
  clientSecret: string;
  previousSecretValidUntil?: string;
}

/** Connected systems: the secret is shown once, in a dialog, and never kept by the page. */
export default function Clients() {
  const { t } = useI18n();
  const { me } = useAuth();
  const { message, modal } = App.useApp();
  const orgs = useOrganizations();
  const [secret, setSecret] = useState<Secret>();
  const [busy, setBusy] = useState(false);
  const [clientId, setClientId] = useState('');

  async function run(fn: () => Promise<Secret | void>) {
    setBusy(true);
    try {
      const s = await fn();
      if (s) setSecret(s);
    } catch (e) {
      message.error(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="clients-title">
      <Typography.Title level={2} id="clients-title" style={{ fontSize: 20 }}>
        {t('Hệ thống kết nối', 'Connected systems')}
      </Typography.Title>
      <Alert
        type="info"
        style={{ marginBottom: 12 }}
        title={t(
          'API công khai chưa có danh sách hệ thống kết nối; nhập mã hệ thống (client_id) để đổi khóa bí mật hoặc xóa.',
          'The public API has no list of connected systems yet; enter a client_id to rotate its secret or delete it.',
        )}
      />
      <Space align="start" wrap>
        <Card size="small" title={t('Đăng ký hệ thống', 'Register a system')} style={{ width: 420 }}>
          <Form
            layout="vertical"
            initialValues={{ organizationCode: me?.organizationCode, roles: ['exchange'] }}
            onFinish={(v) => run(() => api.post<Secret>('/api/v1/clients', v))}
          >
            <Form.Item name="name" label={t('Tên hệ thống', 'Name')} rules={[{ required: true }]}>
              <Input id="client-name" />
            </Form.Item>
            <Form.Item
              name="organizationCode"
              label={t('Cơ quan', 'Organization')}
              rules={[{ required: true }]}
            >
              <Select
                aria-label={t('Cơ quan', 'Organization')}
                showSearch
                optionFilterProp="label"
                options={(orgs.data ?? []).map((o) => ({ value: o.code, label: `${o.name} (${o.code})` }))}
              />
            </Form.Item>
            <Form.Item name="roles" label={t('Vai trò', 'Roles')} rules={[{ required: true }]}>
              <Select
                aria-label={t('Vai trò', 'Roles')}
                mode="multiple"
                options={ROLES.map((r) => ({ value: r, label: r }))}
              />
            </Form.Item>
            <Button type="primary" htmlType="submit" loading={busy}>
              {t('Tạo', 'Create')}
            </Button>
          </Form>
        </Card>
        <Card
          size="small"
          title={t('Đổi khóa bí mật / xóa', 'Rotate secret / delete')}
          style={{ width: 420 }}
        >
          <Input
            aria-label="client_id"
            placeholder="client_id"
            value={clientId}
            onChange={(e) => setClientId(e.target.value)}
            style={{ marginBottom: 12 }}
          />
          <Space>
            <Button
              disabled={!clientId.trim()}
              loading={busy}
              onClick={() =>
                run(() =>
                  api.post<Secret>(`/api/v1/clients/${encodeURIComponent(clientId.trim())}/rotate-secret`),
                )
              }
            >
              {t('Đổi khóa bí mật', 'Rotate secret')}
            </Button>
            <Button
              danger
              disabled={!clientId.trim()}
              onClick={() =>
                modal.confirm({
                  title: t(
                    'Xóa hệ thống này? Mọi token của nó bị từ chối.',
                    'Delete this system? All its tokens are refused.',
                  ),
                  onOk: () =>
                    run(async () => {
                      await api.del(`/api/v1/clients/${encodeURIComponent(clientId.trim())}`);
                      message.success(t('Đã xóa.', 'Deleted.'));
                    }),
                })
              }
            >
              {t('Xóa', 'Delete')}
            </Button>
          </Space>
        </Card>
      </Space>
      <Modal
        open={!!secret}
        title={t('Khóa bí mật — chỉ hiển thị một lần', 'Client secret — shown once')}
        onOk={() => setSecret(undefined)}
        onCancel={() => setSecret(undefined)}
        cancelButtonProps={{ style: { display: 'none' } }}
        okText={t('Tôi đã lưu lại', 'I have stored it')}
        maskClosable={false}
      >
        <Typography.Paragraph>
          client_id:{' '}
          <Typography.Text code copyable>
            {secret?.clientId}
          </Typography.Text>
        </Typography.Paragraph>
        <Typography.Paragraph>
          client_secret:{' '}
          <Typography.Text code copyable data-testid="client-secret">
            {secret?.clientSecret}
          </Typography.Text>
        </Typography.Paragraph>
        {secret?.previousSecretValidUntil && (
          <Typography.Paragraph type="secondary">
            {t('Khóa cũ còn dùng được đến', 'The previous secret works until')}{' '}
            {secret.previousSecretValidUntil}
          </Typography.Paragraph>
        )}
      </Modal>
    </section>
  );
}
