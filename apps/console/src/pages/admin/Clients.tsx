import { useQuery } from '@tanstack/react-query';
import { App, Button, Card, Form, Input, Modal, Select, Space, Table, Tag, Typography } from 'antd';
import { useState } from 'react';
import { api, qs, type Page } from '../../api/client';
import { useAuth } from '../../auth';
import { errorText } from '../../components/errors';
import { useOrganizations } from '../../components/orgs';
import { ROLES } from '../../components/roles';
import { useI18n } from '../../i18n';

interface ClientView {
  clientId: string;
  name: string;
  organizationCode: string;
  roles: string[];
  createdAt: string;
  updatedAt: string;
  previousSecretValidUntil?: string;
}

interface Secret {
  clientId: string;
  clientSecret: string;
  previousSecretValidUntil?: string;
}

/**
 * Connected systems: the list (GET /api/v1/clients: an org-admin's subtree, everything for a system-admin; never a
 * secret) with rotation and deletion per row; a new or rotated secret is shown once, in a dialog, and never kept.
 */
export default function Clients() {
  const { t } = useI18n();
  const { me } = useAuth();
  const { message, modal } = App.useApp();
  const orgs = useOrganizations();
  const [secret, setSecret] = useState<Secret>();
  const [busy, setBusy] = useState(false);
  const [filter, setFilter] = useState<string>();
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const list = useQuery({
    queryKey: ['clients', filter, cursor],
    queryFn: () =>
      api.get<Page<ClientView>>(`/api/v1/clients${qs({ organizationCode: filter, cursor, limit: 50 })}`),
  });

  async function run(fn: () => Promise<Secret | void>) {
    setBusy(true);
    try {
      const s = await fn();
      if (s) setSecret(s);
      await list.refetch();
    } catch (e) {
      message.error(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  const rotate = (c: ClientView) =>
    run(() => api.post<Secret>(`/api/v1/clients/${encodeURIComponent(c.clientId)}/rotate-secret`));
  const remove = (c: ClientView) =>
    modal.confirm({
      title: t(
        `Xóa hệ thống “${c.name}”? Mọi token của nó bị từ chối.`,
        `Delete the system “${c.name}”? All its tokens are refused.`,
      ),
      okText: t('Xóa', 'Delete'),
      cancelText: t('Hủy', 'Cancel'),
      okButtonProps: { danger: true },
      onOk: () =>
        run(async () => {
          await api.del(`/api/v1/clients/${encodeURIComponent(c.clientId)}`);
          message.success(t('Đã xóa.', 'Deleted.'));
        }),
    });

  return (
    <section aria-labelledby="clients-title">
      <Typography.Title level={2} id="clients-title" style={{ fontSize: 20 }}>
        {t('Hệ thống kết nối', 'Connected systems')}
      </Typography.Title>
      <Space align="start" wrap>
        <Card size="small" title={t('Đăng ký hệ thống', 'Register a system')} style={{ width: 420 }}>
          <Form
            layout="vertical"
            initialValues={{ organizationCode: me?.organizationCode, roles: ['exchange'] }}
            onFinish={(v) => run(() => api.post<Secret>('/api/v1/clients', v))}
          >
            <Form.Item
              htmlFor="client-name"
              name="name"
              label={t('Tên hệ thống', 'Name')}
              rules={[{ required: true }]}
            >
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
          title={t('Danh sách hệ thống kết nối', 'Connected systems')}
          style={{ minWidth: 420, flex: 1 }}
          extra={
            <Select
              aria-label={t('Lọc theo cơ quan', 'Filter by organization')}
              allowClear
              showSearch
              optionFilterProp="label"
              placeholder={t('Mọi cơ quan', 'All organizations')}
              style={{ width: 260 }}
              value={filter}
              onChange={(v) => {
                setFilter(v);
                setCursors([]);
              }}
              options={(orgs.data ?? []).map((o) => ({ value: o.code, label: `${o.name} (${o.code})` }))}
            />
          }
        >
          <Table<ClientView>
            data-testid="clients-table"
            rowKey="clientId"
            size="small"
            loading={list.isLoading}
            dataSource={list.data?.items ?? []}
            pagination={false}
            scroll={{ x: true }}
            locale={{ emptyText: t('Chưa có hệ thống nào.', 'No systems yet.') }}
            columns={[
              { title: t('Tên', 'Name'), dataIndex: 'name' },
              {
                title: 'client_id',
                dataIndex: 'clientId',
                render: (v: string) => <Typography.Text code>{v}</Typography.Text>,
              },
              { title: t('Cơ quan', 'Organization'), dataIndex: 'organizationCode' },
              {
                title: t('Vai trò', 'Roles'),
                dataIndex: 'roles',
                render: (roles: string[]) => roles.map((r) => <Tag key={r}>{r}</Tag>),
              },
              {
                title: t('Cập nhật', 'Updated'),
                dataIndex: 'updatedAt',
                render: (v: string, c) => (
                  <>
                    {new Date(v).toLocaleString()}
                    {c.previousSecretValidUntil && (
                      <div>
                        <Typography.Text type="secondary">
                          {t('khóa cũ còn dùng đến', 'previous secret until')}{' '}
                          {new Date(c.previousSecretValidUntil).toLocaleString()}
                        </Typography.Text>
                      </div>
                    )}
                  </>
                ),
              },
              {
                title: t('Thao tác', 'Actions'),
                key: 'actions',
                render: (_: unknown, c) => (
                  <Space>
                    <Button
                      size="small"
                      loading={busy}
                      onClick={() => void rotate(c)}
                      data-testid={`rotate-${c.clientId}`}
                    >
                      {t('Đổi khóa bí mật', 'Rotate secret')}
                    </Button>
                    <Button
                      size="small"
                      danger
                      onClick={() => remove(c)}
                      data-testid={`delete-${c.clientId}`}
                    >
                      {t('Xóa', 'Delete')}
                    </Button>
                  </Space>
                ),
              },
            ]}
          />
          <Space style={{ marginTop: 12 }}>
            <Button disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
              {t('Trang trước', 'Previous')}
            </Button>
            <Button
              disabled={!list.data?.nextCursor}
              onClick={() => list.data?.nextCursor && setCursors([...cursors, list.data.nextCursor])}
            >
              {t('Trang sau', 'Next')}
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
