import {
  AuditOutlined,
  ApartmentOutlined,
  BarChartOutlined,
  DeploymentUnitOutlined,
  FileAddOutlined,
  HeartOutlined,
  InboxOutlined,
  KeyOutlined,
  LogoutOutlined,
  SendOutlined,
  TableOutlined,
  TeamOutlined,
  ApiOutlined,
  UsergroupAddOutlined,
  GlobalOutlined,
  ClusterOutlined,
} from '@ant-design/icons';
import { Button, Layout, Menu, Segmented, Space, Spin, Typography } from 'antd';
import { lazy, Suspense, useState, type ReactNode } from 'react';
import { Navigate, Route, Routes, useLocation, useNavigate } from 'react-router';
import { useAuth } from './auth';
import { useI18n } from './i18n';
import { LoginPage } from './pages/Login';
import { PAGE_CHUNKS } from './page-chunks';

// Each page is its own chunk: the login page and the layout load first, charts and admin pages on demand
// (pages.ts; on a full load the current page's chunk is fetched at start-up, in parallel with the sign-in).
const Documents = lazy(PAGE_CHUNKS.documents);
const Compose = lazy(PAGE_CHUNKS.compose);
const DocumentDetail = lazy(PAGE_CHUNKS.document);
const Registers = lazy(PAGE_CHUNKS.registers);
const RecipientGroups = lazy(PAGE_CHUNKS.recipientGroups);
const Indicators = lazy(PAGE_CHUNKS.indicators);
const Exchanges = lazy(PAGE_CHUNKS.exchanges);
const Health = lazy(PAGE_CHUNKS.health);
const NationalAxis = lazy(PAGE_CHUNKS.nationalAxis);
const Federation = lazy(PAGE_CHUNKS.federation);
const AuditEvents = lazy(PAGE_CHUNKS.audit);
const Organizations = lazy(PAGE_CHUNKS.organizations);
const Users = lazy(PAGE_CHUNKS.users);
const Clients = lazy(PAGE_CHUNKS.clients);
const Keys = lazy(PAGE_CHUNKS.keys);

interface Entry {
  path: string;
  vi: string;
  en: string;
  icon: ReactNode;
  roles: string[];
}

const CLERKS = ['clerk', 'leader', 'specialist', 'cleared', 'org-admin'];
export const MENU: Entry[] = [
  {
    path: '/documents?direction=incoming',
    vi: 'Văn bản đến',
    en: 'Inbox',
    icon: <InboxOutlined />,
    roles: CLERKS,
  },
  {
    path: '/documents?direction=outgoing',
    vi: 'Văn bản đi',
    en: 'Outbox',
    icon: <SendOutlined />,
    roles: CLERKS,
  },
  { path: '/documents/new', vi: 'Soạn văn bản', en: 'Compose', icon: <FileAddOutlined />, roles: ['clerk'] },
  {
    path: '/recipient-groups',
    vi: 'Nhóm nơi nhận',
    en: 'Recipient groups',
    icon: <UsergroupAddOutlined />,
    roles: ['clerk', 'org-admin'],
  },
  {
    path: '/registers',
    vi: 'Sổ văn bản',
    en: 'Registers',
    icon: <TableOutlined />,
    roles: ['clerk', 'cleared'],
  },
  {
    path: '/indicators',
    vi: 'Chỉ tiêu chương trình',
    en: 'Programme indicators',
    icon: <BarChartOutlined />,
    roles: ['leader', 'operator', 'auditor'],
  },
  {
    path: '/exchanges',
    vi: 'Giao dịch liên thông',
    en: 'Exchanges',
    icon: <DeploymentUnitOutlined />,
    roles: ['operator'],
  },
  {
    path: '/national-axis',
    vi: 'Trục quốc gia',
    en: 'National axis',
    icon: <GlobalOutlined />,
    roles: ['operator'],
  },
  {
    path: '/federation',
    vi: 'Các nút liên thông',
    en: 'Federation',
    icon: <ClusterOutlined />,
    roles: ['operator'],
  },
  {
    path: '/health',
    vi: 'Tình trạng dịch vụ',
    en: 'Service health',
    icon: <HeartOutlined />,
    roles: ['operator'],
  },
  { path: '/audit', vi: 'Nhật ký kiểm toán', en: 'Audit log', icon: <AuditOutlined />, roles: ['auditor'] },
  {
    path: '/admin/organizations',
    vi: 'Cơ quan, tổ chức',
    en: 'Organizations',
    icon: <ApartmentOutlined />,
    roles: ['org-admin'],
  },
  { path: '/admin/users', vi: 'Người dùng', en: 'Users', icon: <TeamOutlined />, roles: ['org-admin'] },
  {
    path: '/admin/clients',
    vi: 'Hệ thống kết nối',
    en: 'Connected systems',
    icon: <ApiOutlined />,
    roles: ['org-admin'],
  },
  {
    path: '/admin/keys',
    vi: 'Khóa ký',
    en: 'Signing keys',
    icon: <KeyOutlined />,
    roles: ['org-admin', 'auditor'],
  },
];

function Shell({ children }: { children: ReactNode }) {
  const { me, has, logout } = useAuth();
  const { t, lang, setLang } = useI18n();
  const nav = useNavigate();
  const loc = useLocation();
  const items = MENU.filter((m) => has(...m.roles));
  const [collapsed, setCollapsed] = useState(false);
  const current = loc.pathname + loc.search;
  // A document's own page belongs to no menu entry (it may be incoming or outgoing).
  const ownPage = /^\/documents\/(?!new$)/.test(loc.pathname);
  const selected =
    items.find((m) => m.path === current)?.path ??
    (ownPage
      ? undefined
      : items
          .filter((m) => loc.pathname.startsWith(m.path.split('?')[0]))
          .sort((a, b) => b.path.length - a.path.length)[0]?.path);
  return (
    <Layout style={{ minHeight: '100vh' }}>
      <Layout.Sider
        breakpoint="lg"
        collapsedWidth={64}
        width={232}
        theme="light"
        onCollapse={setCollapsed}
        style={{ position: 'sticky', top: 0, height: '100vh', overflow: 'auto' }}
      >
        <div
          style={{
            padding: '16px 12px',
            fontWeight: 700,
            color: '#b71c1c',
            whiteSpace: 'nowrap',
            overflow: 'hidden',
          }}
        >
          {collapsed ? 'LT' : 'Liên thông'}
        </div>
        <nav aria-label={t('Chức năng', 'Pages')}>
          <Menu
            mode="inline"
            selectedKeys={selected ? [selected] : []}
            onClick={(e) => nav(e.key)}
            items={items.map((m) => ({ key: m.path, icon: m.icon, label: lang === 'en' ? m.en : m.vi }))}
          />
        </nav>
      </Layout.Sider>
      <Layout>
        <Layout.Header
          style={{
            background: '#fff',
            display: 'flex',
            justifyContent: 'flex-end',
            alignItems: 'center',
            gap: 16,
            padding: '0 16px',
          }}
        >
          <Space wrap>
            <Typography.Text data-testid="whoami">
              {me?.username ?? me?.sub} · {me?.organizationCode} · {me?.roles.join(', ')}
            </Typography.Text>
            <Segmented
              aria-label={t('Ngôn ngữ', 'Language')}
              size="small"
              value={lang}
              onChange={(v) => setLang(v as 'vi' | 'en')}
              options={[
                { label: 'VI', value: 'vi' },
                { label: 'EN', value: 'en' },
              ]}
            />
            <Button icon={<LogoutOutlined />} onClick={() => void logout().then(() => nav('/login'))}>
              {t('Đăng xuất', 'Log out')}
            </Button>
          </Space>
        </Layout.Header>
        <Layout.Content style={{ padding: 16 }}>
          <main>
            <Suspense fallback={<Spin />}>{children}</Suspense>
          </main>
        </Layout.Content>
      </Layout>
    </Layout>
  );
}

function Home() {
  const { has } = useAuth();
  const first = MENU.find((m) => has(...m.roles));
  return <Navigate to={first?.path ?? '/documents?direction=incoming'} replace />;
}

export function AppRoutes() {
  const { signedIn, loading, me } = useAuth();
  const loc = useLocation();
  if (!signedIn) {
    return (
      <Routes>
        <Route path="/login" element={<LoginPage />} />
        <Route
          path="*"
          element={<Navigate to="/login" replace state={{ from: loc.pathname + loc.search }} />}
        />
      </Routes>
    );
  }
  if (loading || !me) return <Spin style={{ margin: 48 }} />;
  return (
    <Shell>
      <Routes>
        <Route path="/" element={<Home />} />
        <Route path="/login" element={<Home />} />
        <Route path="/documents" element={<Documents />} />
        <Route path="/documents/new" element={<Compose />} />
        <Route path="/documents/:id" element={<DocumentDetail />} />
        <Route path="/registers" element={<Registers />} />
        <Route path="/recipient-groups" element={<RecipientGroups />} />
        <Route path="/indicators" element={<Indicators />} />
        <Route path="/exchanges" element={<Exchanges />} />
        <Route path="/health" element={<Health />} />
        <Route path="/national-axis" element={<NationalAxis />} />
        <Route path="/federation" element={<Federation />} />
        <Route path="/audit" element={<AuditEvents />} />
        <Route path="/admin/organizations" element={<Organizations />} />
        <Route path="/admin/users" element={<Users />} />
        <Route path="/admin/clients" element={<Clients />} />
        <Route path="/admin/keys" element={<Keys />} />
        <Route path="*" element={<Home />} />
      </Routes>
    </Shell>
  );
}
