import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Alert, App, Button, Form, Input, Modal, Space, Table, TreeSelect, Typography } from 'antd';
import { useMemo, useState } from 'react';
import { api, type Page } from '../../api/client';
import type { RecipientGroup } from '../../api/types';
import { useAuth } from '../../auth';
import { errorText } from '../../components/errors';
import { fold, orgTree, useOrganizations, type OrgNode } from '../../components/orgs';
import { useI18n } from '../../i18n';

const READERS = ['clerk', 'org-admin', 'leader', 'specialist'];

/** The caller organization's groups, all pages (500 a page); only asked for by roles that may read them. */
export function useRecipientGroups() {
  const { me } = useAuth();
  return useQuery({
    queryKey: ['recipient-groups'],
    enabled: !!me?.roles.some((r) => READERS.includes(r)),
    queryFn: async () => {
      const all: RecipientGroup[] = [];
      let cursor: string | null = null;
      for (let i = 0; i < 20; i++) {
        const page: Page<RecipientGroup> = await api.get<Page<RecipientGroup>>(
          `/api/v1/recipient-groups?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        );
        all.push(...page.items);
        cursor = page.nextCursor;
        if (!cursor) break;
      }
      return all;
    },
  });
}

interface Editing {
  id?: string;
  name: string;
  members: string[];
}

/** Recipient groups: named recipient lists of the organization, chosen when composing a document. */
export default function RecipientGroups() {
  const { t } = useI18n();
  const { me } = useAuth();
  const { message, modal } = App.useApp();
  const qc = useQueryClient();
  const groups = useRecipientGroups();
  const orgs = useOrganizations();
  const tree = useMemo(() => orgTree(orgs.data ?? []), [orgs.data]);
  const names = useMemo(() => new Map((orgs.data ?? []).map((o) => [o.code, o.name])), [orgs.data]);
  const [editing, setEditing] = useState<Editing>();
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [form] = Form.useForm<Editing>();
  const canChange = !!me?.roles.some((r) => r === 'clerk' || r === 'org-admin');
  const canRead = !!me?.roles.some((r) => READERS.includes(r));

  function open(g?: RecipientGroup) {
    const e = g ? { id: g.id, name: g.name, members: g.members } : { name: '', members: [] };
    setEditing(e);
    setError(undefined);
    form.setFieldsValue(e);
  }

  async function save(v: Editing) {
    setBusy(true);
    setError(undefined);
    try {
      const body = { name: v.name, members: v.members ?? [] };
      if (editing?.id) await api.put(`/api/v1/recipient-groups/${editing.id}`, body);
      else await api.post('/api/v1/recipient-groups', body);
      await qc.invalidateQueries({ queryKey: ['recipient-groups'] });
      message.success(t('Đã lưu nhóm nơi nhận.', 'Group saved.'));
      setEditing(undefined);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  function remove(g: RecipientGroup) {
    modal.confirm({
      title: t(`Xóa nhóm "${g.name}"?`, `Delete the group "${g.name}"?`),
      content: t(
        'Văn bản đã gửi vẫn giữ nguyên danh sách nơi nhận.',
        'Documents already sent keep their recipients.',
      ),
      onOk: async () => {
        try {
          await api.del(`/api/v1/recipient-groups/${g.id}`);
          await qc.invalidateQueries({ queryKey: ['recipient-groups'] });
        } catch (e) {
          message.error(errorText(e));
        }
      },
    });
  }

  return (
    <section aria-labelledby="groups-title">
      <Space style={{ width: '100%', justifyContent: 'space-between' }}>
        <Typography.Title level={2} id="groups-title" style={{ fontSize: 20 }}>
          {t('Nhóm nơi nhận', 'Recipient groups')}
        </Typography.Title>
        {canChange && (
          <Button type="primary" onClick={() => open()} data-testid="new-group">
            {t('Thêm nhóm', 'New group')}
          </Button>
        )}
      </Space>
      {!canRead && (
        <Alert
          type="info"
          style={{ marginBottom: 12 }}
          title={t(
            'Nhóm nơi nhận do văn thư hoặc quản trị của từng cơ quan quản lý.',
            "Recipient groups are kept by each organization's clerks and administrators.",
          )}
        />
      )}
      {groups.error && <Alert type="error" title={errorText(groups.error)} style={{ marginBottom: 12 }} />}
      <Table<RecipientGroup>
        rowKey="id"
        loading={groups.isLoading}
        dataSource={groups.data ?? []}
        pagination={{ pageSize: 50 }}
        data-testid="groups-table"
        columns={[
          { title: t('Tên nhóm', 'Name'), dataIndex: 'name' },
          { title: t('Số nơi nhận', 'Members'), dataIndex: 'memberCount', width: 120 },
          {
            title: t('Nơi nhận', 'Recipients'),
            render: (_, g) =>
              g.members
                .slice(0, 5)
                .map((c) => names.get(c) ?? c)
                .join(', ') + (g.members.length > 5 ? ` (+${g.members.length - 5})` : ''),
          },
          ...(canChange
            ? [
                {
                  title: '',
                  width: 170,
                  render: (_: unknown, g: RecipientGroup) => (
                    <Space>
                      <Button size="small" onClick={() => open(g)}>
                        {t('Sửa', 'Edit')}
                      </Button>
                      <Button size="small" danger onClick={() => remove(g)}>
                        {t('Xóa', 'Delete')}
                      </Button>
                    </Space>
                  ),
                },
              ]
            : []),
        ]}
      />
      <Modal
        open={!!editing}
        title={editing?.id ? t('Sửa nhóm nơi nhận', 'Edit group') : t('Thêm nhóm nơi nhận', 'New group')}
        onCancel={() => setEditing(undefined)}
        onOk={() => form.submit()}
        okText={t('Lưu', 'Save')}
        confirmLoading={busy}
        width={720}
        destroyOnHidden
      >
        {error && <Alert role="alert" type="error" title={error} style={{ marginBottom: 12 }} />}
        <Form<Editing> form={form} layout="vertical" onFinish={save} preserve={false}>
          <Form.Item
            htmlFor="group-name"
            name="name"
            label={t('Tên nhóm', 'Name')}
            rules={[{ required: true, whitespace: true, max: 200 }]}
          >
            <Input id="group-name" />
          </Form.Item>
          <Form.Item name="members" label={t('Nơi nhận', 'Members')}>
            <TreeSelect<string[]>
              id="group-members"
              aria-label={t('Nơi nhận', 'Members')}
              treeData={tree}
              loading={orgs.isLoading}
              multiple
              treeCheckable
              showCheckedStrategy={TreeSelect.SHOW_ALL}
              showSearch
              filterTreeNode={(input, node) => (node as unknown as OrgNode).search.includes(fold(input))}
              placeholder={t('Gõ tên hoặc mã cơ quan', 'Type a name or code')}
              style={{ width: '100%' }}
              maxTagCount={20}
            />
          </Form.Item>
        </Form>
      </Modal>
    </section>
  );
}
