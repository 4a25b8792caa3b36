import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Card, Form, Input, Select, Switch, Table, Typography } from 'antd';
import { useState } from 'react';
import { api, qs, type Page } from '../../api/client';
import { useAuth } from '../../auth';
import { errorText } from '../../components/errors';
import { useOrganizations } from '../../components/orgs';
import { ROLES } from '../../components/roles';
import { useI18n } from '../../i18n';

interface User {
  id: string;
  username: string;
  fullName: string;
  organizationCode: string;
  roles: string[];
  disabled: boolean;
}

export default function Users() {
  const { t } = useI18n();
  const { me } = useAuth();
  const { message } = App.useApp();
  const qc = useQueryClient();
  const orgs = useOrganizations();
  const [org, setOrg] = useState<string | undefined>(me?.organizationCode);
  const users = useQuery({
    queryKey: ['users', org],
    queryFn: () => api.get<Page<User>>(`/api/v1/users${qs({ organizationCode: org, limit: 500 })}`),
  });
  const update = useMutation({
    mutationFn: ({ id, ...body }: { id: string; roles?: string[]; disabled?: boolean }) =>
      api.patch<User>(`/api/v1/users/${id}`, body),
    onSuccess: () => void qc.invalidateQueries({ queryKey: ['users'] }),
    onError: (e) => message.error(errorText(e)),
  });
  const create = useMutation({
    mutationFn: (v: Omit<User, 'id' | 'disabled'> & { password: string }) =>
      api.post<User>('/api/v1/users', v),
    onSuccess: () => {
      message.success(t('Đã tạo người dùng.', 'User created.'));
      void qc.invalidateQueries({ queryKey: ['users'] });
    },
    onError: (e) => message.error(errorText(e)),
  });
  const orgOptions = (orgs.data ?? []).map((o) => ({ value: o.code, label: `${o.name} (${o.code})` }));
  return (
    <section aria-labelledby="users-title">
      <Typography.Title level={2} id="users-title" style={{ fontSize: 20 }}>
        {t('Người dùng', 'Users')}
      </Typography.Title>
      <Select
        aria-label={t('Cơ quan', 'Organization')}
        showSearch
        optionFilterProp="label"
        allowClear
        value={org}
        onChange={setOrg}
        options={orgOptions}
        style={{ width: 420, maxWidth: '100%', marginBottom: 12 }}
      />
      {users.error && <Alert type="error" title={errorText(users.error)} />}
      <Table<User>
        size="small"
        rowKey="id"
        loading={users.isFetching}
        dataSource={users.data?.items ?? []}
        pagination={{ pageSize: 50, hideOnSinglePage: true }}
        scroll={{ x: 900 }}
        columns={[
          { title: t('Tên đăng nhập', 'User name'), dataIndex: 'username' },
          { title: t('Họ tên', 'Full name'), dataIndex: 'fullName' },
          { title: t('Cơ quan', 'Organization'), dataIndex: 'organizationCode' },
          {
            title: t('Vai trò', 'Roles'),
            dataIndex: 'roles',
            width: 320,
            render: (roles: string[], u) => (
              <Select
                aria-label={`${t('Vai trò của', 'Roles of')} ${u.username}`}
                mode="multiple"
                size="small"
                value={roles}
                style={{ width: '100%' }}
                onChange={(v) => update.mutate({ id: u.id, roles: v })}
                options={ROLES.map((r) => ({ value: r, label: r }))}
              />
            ),
          },
          {
            title: t('Hoạt động', 'Enabled'),
            dataIndex: 'disabled',
            width: 100,
            render: (d: boolean, u) => (
              <Switch
                aria-label={`${t('Bật/tắt', 'Enable/disable')} ${u.username}`}
                checked={!d}
                onChange={(on) => update.mutate({ id: u.id, disabled: !on })}
              />
            ),
          },
        ]}
      />
      <Card size="small" title={t('Thêm người dùng', 'Add a user')} style={{ marginTop: 16, maxWidth: 640 }}>
        <Form
          layout="vertical"
          onFinish={(v) => create.mutate(v)}
          initialValues={{ organizationCode: org, roles: ['clerk'] }}
        >
          <Form.Item
            htmlFor="new-username"
            name="username"
            label={t('Tên đăng nhập', 'User name')}
            rules={[{ required: true, pattern: /^[a-z0-9][a-z0-9._-]{2,63}$/ }]}
          >
            <Input id="new-username" autoComplete="off" />
          </Form.Item>
          <Form.Item
            htmlFor="new-fullname"
            name="fullName"
            label={t('Họ tên', 'Full name')}
            rules={[{ required: true }]}
          >
            <Input id="new-fullname" />
          </Form.Item>
          <Form.Item
            htmlFor="new-password"
            name="password"
            label={t('Mật khẩu ban đầu', 'Initial password')}
            rules={[{ required: true, min: 12 }]}
          >
            <Input.Password id="new-password" autoComplete="new-password" />
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
              options={orgOptions}
            />
          </Form.Item>
          <Form.Item name="roles" label={t('Vai trò', 'Roles')} rules={[{ required: true }]}>
            <Select
              aria-label={t('Vai trò', 'Roles')}
              mode="multiple"
              options={ROLES.map((r) => ({ value: r, label: r }))}
            />
          </Form.Item>
          <Button type="primary" htmlType="submit" loading={create.isPending}>
            {t('Tạo', 'Create')}
          </Button>
        </Form>
      </Card>
    </section>
  );
}
