import { useMutation, useQueryClient } from '@tanstack/react-query';
import {
  Alert,
  App,
  Button,
  Card,
  Col,
  Descriptions,
  Form,
  Input,
  Row,
  Select,
  Tree,
  Typography,
} from 'antd';
import { useMemo, useState } from 'react';
import { api } from '../../api/client';
import type { Organization } from '../../api/types';
import { errorText } from '../../components/errors';
import { fold, orgTree, useOrganizations } from '../../components/orgs';
import { useI18n } from '../../i18n';

export default function Organizations() {
  const { t } = useI18n();
  const { message } = App.useApp();
  const qc = useQueryClient();
  const orgs = useOrganizations();
  const [search, setSearch] = useState('');
  const [selected, setSelected] = useState<Organization>();
  const tree = useMemo(() => orgTree(orgs.data ?? []), [orgs.data]);
  const matches = useMemo(
    () => (search ? (orgs.data ?? []).filter((o) => fold(`${o.name} ${o.code}`).includes(fold(search))) : []),
    [orgs.data, search],
  );
  const create = useMutation({
    mutationFn: (v: Organization) =>
      api.post<Organization>('/api/v1/organizations', { ...v, parentCode: v.parentCode || undefined }),
    onSuccess: () => {
      message.success(t('Đã tạo cơ quan.', 'Organization created.'));
      void qc.invalidateQueries({ queryKey: ['organizations'] });
    },
    onError: (e) => message.error(errorText(e)),
  });
  return (
    <section aria-labelledby="org-title">
      <Typography.Title level={2} id="org-title" style={{ fontSize: 20 }}>
        {t('Cây tổ chức', 'Organization tree')}
      </Typography.Title>
      {orgs.error && <Alert type="error" title={errorText(orgs.error)} />}
      <Row gutter={16}>
        <Col xs={24} lg={14}>
          <Card size="small">
            <Input.Search
              aria-label={t('Tìm cơ quan', 'Find an organization')}
              placeholder={t('Tìm theo tên hoặc mã (không dấu cũng được)', 'Name or code (accents optional)')}
              allowClear
              onChange={(e) => setSearch(e.target.value)}
              style={{ marginBottom: 8 }}
            />
            {search ? (
              <ul>
                {matches.slice(0, 50).map((o) => (
                  <li key={o.code}>
                    <Button type="link" size="small" onClick={() => setSelected(o)}>
                      {o.name} ({o.code})
                    </Button>
                  </li>
                ))}
              </ul>
            ) : (
              <Tree
                treeData={tree}
                defaultExpandAll
                onSelect={(_, info) => setSelected((info.node as unknown as { org: Organization }).org)}
              />
            )}
          </Card>
        </Col>
        <Col xs={24} lg={10}>
          {selected && (
            <Card size="small" title={selected.name} style={{ marginBottom: 16 }}>
              <Descriptions size="small" column={1}>
                <Descriptions.Item label={t('Mã', 'Code')}>{selected.code}</Descriptions.Item>
                <Descriptions.Item label={t('Cấp', 'Level')}>{selected.level}</Descriptions.Item>
                <Descriptions.Item label={t('Khối', 'Sector')}>{selected.sector}</Descriptions.Item>
                <Descriptions.Item label={t('Vùng mạng', 'Zone')}>{selected.zone}</Descriptions.Item>
                <Descriptions.Item label={t('Nút', 'Node')}>{selected.nodeId ?? '—'}</Descriptions.Item>
              </Descriptions>
            </Card>
          )}
          <Card size="small" title={t('Thêm cơ quan', 'Add an organization')}>
            <Form<Organization>
              layout="vertical"
              onFinish={(v) => create.mutate(v)}
              initialValues={{ level: 'district', sector: 'party', zone: 'party-wan' }}
            >
              <Form.Item
                htmlFor="org-code"
                name="code"
                label={t('Mã (QCVN 102)', 'Code (QCVN 102)')}
                rules={[{ required: true, pattern: /^[0-9A-Z]+(\.[0-9A-Z]+)*$/ }]}
              >
                <Input id="org-code" placeholder="000.01.02.H05" />
              </Form.Item>
              <Form.Item htmlFor="org-name" name="name" label={t('Tên', 'Name')} rules={[{ required: true }]}>
                <Input id="org-name" />
              </Form.Item>
              <Form.Item name="parentCode" label={t('Cơ quan cấp trên', 'Parent')}>
                <Select
                  aria-label={t('Cơ quan cấp trên', 'Parent')}
                  allowClear
                  showSearch
                  optionFilterProp="label"
                  options={(orgs.data ?? []).map((o) => ({ value: o.code, label: `${o.name} (${o.code})` }))}
                />
              </Form.Item>
              <Row gutter={8}>
                <Col span={8}>
                  <Form.Item name="level" label={t('Cấp', 'Level')}>
                    <Select
                      aria-label={t('Cấp', 'Level')}
                      options={['central', 'province', 'district', 'commune'].map((v) => ({
                        value: v,
                        label: v,
                      }))}
                    />
                  </Form.Item>
                </Col>
                <Col span={8}>
                  <Form.Item name="sector" label={t('Khối', 'Sector')}>
                    <Select
                      aria-label={t('Khối', 'Sector')}
                      options={['party', 'state'].map((v) => ({ value: v, label: v }))}
                    />
                  </Form.Item>
                </Col>
                <Col span={8}>
                  <Form.Item name="zone" label={t('Vùng mạng', 'Zone')}>
                    <Select
                      aria-label={t('Vùng mạng', 'Zone')}
                      options={['party-wan', 'internet'].map((v) => ({ value: v, label: v }))}
                    />
                  </Form.Item>
                </Col>
              </Row>
              <Button type="primary" htmlType="submit" loading={create.isPending}>
                {t('Tạo', 'Create')}
              </Button>
            </Form>
          </Card>
        </Col>
      </Row>
    </section>
  );
}
