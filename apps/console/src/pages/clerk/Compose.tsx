import { InboxOutlined } from '@ant-design/icons';
import {
  Alert,
  App,
  Button,
  Card,
  Checkbox,
  Col,
  DatePicker,
  Form,
  Input,
  List,
  Row,
  Select,
  Space,
  TreeSelect,
  Typography,
  Upload,
} from 'antd';
import dayjs, { type Dayjs } from 'dayjs';
import { useMemo, useState } from 'react';
import { useNavigate } from 'react-router';
import { api } from '../../api/client';
import type { Attachment, DocumentView, RecipientRule } from '../../api/types';
import { errorText } from '../../components/errors';
import { fold, orgTree, useOrganizations, type OrgNode } from '../../components/orgs';
import { SignatureVerdict } from '../../components/SignatureVerdict';
import { useRecipientGroups } from './RecipientGroups';
import { label, SECRECY, URGENCY, useI18n } from '../../i18n';
import { vnToday } from '../../vn-time';

const TYPES: [string, string, string][] = [
  ['CV', 'Công văn', 'Official letter'],
  ['QD', 'Quyết định', 'Decision'],
  ['TB', 'Thông báo', 'Notice'],
  ['BC', 'Báo cáo', 'Report'],
  ['KH', 'Kế hoạch', 'Plan'],
  ['CT', 'Chỉ thị', 'Directive'],
  ['NQ', 'Nghị quyết', 'Resolution'],
  ['HD', 'Hướng dẫn', 'Guidance'],
];

interface FormValues {
  number: string;
  notation: string;
  type: string;
  subject: string;
  content?: string;
  promulgationPlace?: string;
  promulgationDate: Dayjs;
  signerPosition: string;
  signerName: string;
  signerCompetence?: string;
  secrecy: string;
  urgency: string;
  steering?: boolean;
  dueDate?: Dayjs;
  recipients?: string[];
  recipientGroups?: string[];
  recipientRules?: { under?: string; level?: RecipientRule['level']; sector?: RecipientRule['sector'] }[];
}

const LEVELS: [NonNullable<RecipientRule['level']>, string, string][] = [
  ['central', 'Trung ương', 'Central'],
  ['province', 'Tỉnh', 'Province'],
  ['district', 'Huyện', 'District'],
  ['commune', 'Xã', 'Commune'],
];
const SECTORS: [NonNullable<RecipientRule['sector']>, string, string][] = [
  ['party', 'Khối Đảng', 'Party'],
  ['state', 'Khối Nhà nước', 'State'],
];

/** Compose: save the metadata, upload the signed PDF(s) and see each verdict, then send. */
export default function Compose() {
  const { t, lang } = useI18n();
  const { message } = App.useApp();
  const nav = useNavigate();
  const orgs = useOrganizations();
  const groups = useRecipientGroups();
  const tree = useMemo(() => orgTree(orgs.data ?? []), [orgs.data]);
  const [doc, setDoc] = useState<DocumentView>();
  const [attachments, setAttachments] = useState<Attachment[]>([]);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const [form] = Form.useForm<FormValues>();
  const secrecy = Form.useWatch('secrecy', form);

  async function save(v: FormValues) {
    setBusy(true);
    setError(undefined);
    try {
      const created = await api.post<DocumentView>('/api/v1/documents', {
        number: v.number.trim(),
        notation: v.notation.trim(),
        type: v.type,
        typeName: TYPES.find((x) => x[0] === v.type)?.[1],
        subject: v.subject.trim(),
        content: v.content || undefined,
        promulgationPlace: v.promulgationPlace || undefined,
        promulgationDate: v.promulgationDate.format('YYYY-MM-DD'),
        signer: {
          position: v.signerPosition,
          fullName: v.signerName,
          competence: v.signerCompetence || undefined,
        },
        secrecy: v.secrecy,
        urgency: v.urgency,
        steering: !!v.steering,
        dueDate: v.dueDate?.format('YYYY-MM-DD'),
        recipients: v.recipients ?? [],
        recipientGroups: v.recipientGroups ?? [],
        recipientRules: (v.recipientRules ?? [])
          .filter((r) => r.under)
          .map((r) => ({
            under: r.under!,
            ...(r.level ? { level: r.level } : {}),
            ...(r.sector ? { sector: r.sector } : {}),
          })),
      });
      setDoc(created);
      message.success(t('Đã lưu văn bản. Đính kèm tệp rồi gửi.', 'Saved. Attach files, then send.'));
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  async function send() {
    if (!doc) return;
    setBusy(true);
    setError(undefined);
    try {
      await api.post(`/api/v1/documents/${doc.id}/send`);
      message.success(t('Đã gửi văn bản.', 'Sent.'));
      nav(`/documents/${doc.id}`);
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section aria-labelledby="compose-title">
      <Typography.Title level={2} id="compose-title" style={{ fontSize: 20 }}>
        {t('Soạn văn bản đi', 'Compose an outgoing document')}
      </Typography.Title>
      {error && (
        <Alert
          role="alert"
          type="error"
          title={error}
          style={{ marginBottom: 12 }}
          data-testid="compose-error"
        />
      )}
      <Form<FormValues>
        form={form}
        layout="vertical"
        onFinish={save}
        disabled={!!doc}
        initialValues={{
          secrecy: 'none',
          urgency: 'normal',
          type: 'CV',
          promulgationDate: dayjs(vnToday()),
          recipients: [],
        }}
      >
        <Row gutter={16}>
          <Col xs={24} md={6}>
            <Form.Item label={t('Số', 'Number')} name="number" rules={[{ required: true, max: 20 }]}>
              <Input id="number" />
            </Form.Item>
          </Col>
          <Col xs={24} md={6}>
            <Form.Item label={t('Ký hiệu', 'Notation')} name="notation" rules={[{ required: true, max: 50 }]}>
              <Input id="notation" placeholder="CV-VPTW" />
            </Form.Item>
          </Col>
          <Col xs={24} md={6}>
            <Form.Item label={t('Loại văn bản', 'Type')} name="type" rules={[{ required: true }]}>
              <Select
                aria-label={t('Loại văn bản', 'Type')}
                options={TYPES.map(([v, vi, en]) => ({ value: v, label: lang === 'en' ? en : vi }))}
              />
            </Form.Item>
          </Col>
          <Col xs={24} md={6}>
            <Form.Item
              label={t('Ngày ban hành', 'Promulgation date')}
              name="promulgationDate"
              rules={[{ required: true }]}
            >
              <DatePicker style={{ width: '100%' }} />
            </Form.Item>
          </Col>
        </Row>
        <Form.Item label={t('Trích yếu', 'Subject')} name="subject" rules={[{ required: true, max: 2000 }]}>
          <Input.TextArea id="subject" autoSize={{ minRows: 2 }} />
        </Form.Item>
        <Form.Item label={t('Nội dung', 'Content')} name="content">
          <Input.TextArea id="content" autoSize={{ minRows: 2, maxRows: 8 }} />
        </Form.Item>
        <Row gutter={16}>
          <Col xs={24} md={6}>
            <Form.Item label={t('Độ mật', 'Secrecy')} name="secrecy">
              <Select
                aria-label={t('Độ mật', 'Secrecy')}
                options={Object.keys(SECRECY).map((k) => ({ value: k, label: label(SECRECY, k, lang) }))}
              />
            </Form.Item>
          </Col>
          <Col xs={24} md={6}>
            <Form.Item label={t('Độ khẩn', 'Urgency')} name="urgency">
              <Select
                aria-label={t('Độ khẩn', 'Urgency')}
                options={Object.keys(URGENCY).map((k) => ({ value: k, label: label(URGENCY, k, lang) }))}
              />
            </Form.Item>
          </Col>
          <Col xs={24} md={6}>
            <Form.Item label={t('Hạn xử lý', 'Due date')} name="dueDate">
              <DatePicker style={{ width: '100%' }} />
            </Form.Item>
          </Col>
          <Col xs={24} md={6}>
            <Form.Item label=" " name="steering" valuePropName="checked">
              <Checkbox>{t('Văn bản chỉ đạo, điều hành', 'Steering document')}</Checkbox>
            </Form.Item>
          </Col>
        </Row>
        {secrecy && secrecy !== 'none' && (
          <Alert
            type="warning"
            style={{ marginBottom: 12 }}
            title={t(
              'Văn bản mật không được gửi qua mạng: chỉ được vào sổ.',
              'Classified documents are never sent over the network: they are only registered.',
            )}
          />
        )}
        <Row gutter={16}>
          <Col xs={24} md={8}>
            <Form.Item
              label={t('Chức vụ người ký', 'Signer position')}
              name="signerPosition"
              rules={[{ required: true }]}
            >
              <Input id="signerPosition" />
            </Form.Item>
          </Col>
          <Col xs={24} md={8}>
            <Form.Item
              label={t('Họ tên người ký', 'Signer name')}
              name="signerName"
              rules={[{ required: true }]}
            >
              <Input id="signerName" />
            </Form.Item>
          </Col>
          <Col xs={24} md={8}>
            <Form.Item label={t('Thẩm quyền ký', 'Competence')} name="signerCompetence">
              <Input id="signerCompetence" placeholder="TM., KT., TL." />
            </Form.Item>
          </Col>
        </Row>
        <Form.Item
          label={t(
            'Nơi nhận (chọn trong cây tổ chức, gõ để tìm)',
            'Recipients (pick from the tree, type to search)',
          )}
          name="recipients"
          dependencies={['recipientGroups', 'recipientRules']}
          rules={[
            ({ getFieldValue }) => ({
              // At least one of the three must name a recipient (rules and groups are expanded at send).
              validator: (_, value?: string[]) =>
                value?.length ||
                (getFieldValue('recipientGroups') as string[] | undefined)?.length ||
                ((getFieldValue('recipientRules') as FormValues['recipientRules']) ?? []).some(
                  (r) => r?.under,
                )
                  ? Promise.resolve()
                  : Promise.reject(
                      new Error(
                        t(
                          'Chọn ít nhất một nơi nhận, nhóm hoặc quy tắc',
                          'Pick at least one recipient, group or rule',
                        ),
                      ),
                    ),
            }),
          ]}
        >
          <TreeSelect<string[]>
            id="recipients"
            aria-label={t('Nơi nhận', 'Recipients')}
            treeData={tree}
            loading={orgs.isLoading}
            multiple
            treeCheckable
            treeCheckStrictly={false}
            showCheckedStrategy={TreeSelect.SHOW_ALL}
            showSearch
            treeDefaultExpandAll
            filterTreeNode={(input, node) => (node as unknown as OrgNode).search.includes(fold(input))}
            placeholder={t('Gõ tên hoặc mã cơ quan', 'Type a name or code')}
            style={{ width: '100%' }}
            maxTagCount={12}
            data-testid="recipients"
          />
        </Form.Item>
        <Form.Item label={t('Nhóm nơi nhận', 'Recipient groups')} name="recipientGroups">
          <Select<string[]>
            id="recipientGroups"
            aria-label={t('Nhóm nơi nhận', 'Recipient groups')}
            mode="multiple"
            loading={groups.isLoading}
            optionFilterProp="label"
            options={(groups.data ?? []).map((g) => ({
              value: g.id,
              label: `${g.name} (${g.memberCount})`,
            }))}
            placeholder={t('Các nhóm của cơ quan', "Your organization's groups")}
          />
        </Form.Item>
        <Form.List name="recipientRules">
          {(fields, { add, remove }) => (
            <Form.Item
              label={t(
                'Quy tắc nơi nhận (mọi cơ quan trực thuộc, tính lúc gửi)',
                'Recipient rules (every organization under, expanded at send time)',
              )}
            >
              {fields.map((f) => (
                <Space key={f.key} align="baseline" wrap style={{ display: 'flex', marginBottom: 8 }}>
                  <Form.Item
                    name={[f.name, 'under']}
                    rules={[{ required: true, message: t('Chọn cơ quan', 'Pick an organization') }]}
                    style={{ minWidth: 320, marginBottom: 0 }}
                  >
                    <TreeSelect<string>
                      aria-label={t('Trực thuộc', 'Under')}
                      treeData={tree}
                      showSearch
                      filterTreeNode={(input, node) =>
                        (node as unknown as OrgNode).search.includes(fold(input))
                      }
                      placeholder={t('Trực thuộc cơ quan…', 'Under…')}
                    />
                  </Form.Item>
                  <Form.Item name={[f.name, 'level']} style={{ marginBottom: 0 }}>
                    <Select
                      aria-label={t('Cấp', 'Level')}
                      allowClear
                      style={{ width: 150 }}
                      placeholder={t('Mọi cấp', 'Any level')}
                      options={LEVELS.map(([value, vi, en]) => ({ value, label: lang === 'en' ? en : vi }))}
                    />
                  </Form.Item>
                  <Form.Item name={[f.name, 'sector']} style={{ marginBottom: 0 }}>
                    <Select
                      aria-label={t('Khối', 'Sector')}
                      allowClear
                      style={{ width: 150 }}
                      placeholder={t('Mọi khối', 'Any sector')}
                      options={SECTORS.map(([value, vi, en]) => ({ value, label: lang === 'en' ? en : vi }))}
                    />
                  </Form.Item>
                  <Button onClick={() => remove(f.name)}>{t('Bỏ', 'Remove')}</Button>
                </Space>
              ))}
              <Button onClick={() => add({})} data-testid="add-rule">
                {t('Thêm quy tắc', 'Add a rule')}
              </Button>
            </Form.Item>
          )}
        </Form.List>
        {!doc && (
          <Button type="primary" htmlType="submit" loading={busy}>
            {t('Lưu và đính kèm tệp', 'Save and attach files')}
          </Button>
        )}
      </Form>
      {doc && (
        <Card title={t('Tệp đính kèm', 'Attachments')} style={{ marginTop: 16 }}>
          <Upload.Dragger
            accept="application/pdf,.pdf"
            multiple
            showUploadList={false}
            customRequest={({ file, onSuccess, onError }) => {
              api
                .upload<Attachment>(`/api/v1/documents/${doc.id}/attachments`, file as File)
                .then((a) => {
                  setAttachments((list) => [...list, a]);
                  onSuccess?.(a);
                })
                .catch((e) => {
                  setError(errorText(e));
                  onError?.(e as Error);
                });
            }}
          >
            <p className="ant-upload-drag-icon">
              <InboxOutlined />
            </p>
            <p>
              {t('Kéo thả hoặc bấm để chọn tệp PDF đã ký số', 'Drop or click to choose signed PDF files')}
            </p>
          </Upload.Dragger>
          <List
            dataSource={attachments}
            locale={{ emptyText: t('Chưa có tệp', 'No file yet') }}
            renderItem={(a) => (
              <List.Item>
                <Space direction="vertical" size={2}>
                  <Typography.Text strong>
                    {a.name} ({Math.ceil(a.size / 1024)} KB)
                  </Typography.Text>
                  <SignatureVerdict value={a.signature} />
                </Space>
              </List.Item>
            )}
          />
          <Space style={{ marginTop: 12 }}>
            <Button type="primary" onClick={send} loading={busy} data-testid="send">
              {t('Gửi văn bản', 'Send')}
            </Button>
            <Button onClick={() => nav(`/documents/${doc.id}`)}>{t('Để sau', 'Later')}</Button>
          </Space>
        </Card>
      )}
    </section>
  );
}
