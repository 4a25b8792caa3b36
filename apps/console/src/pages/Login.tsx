import { Alert, Button, Card, Form, Input, Segmented, Typography } from 'antd';
import { useState } from 'react';
import { useLocation, useNavigate } from 'react-router';
import { login, OAuthError } from '../api/client';
import { useI18n } from '../i18n';

export function LoginPage() {
  const { t, lang, setLang } = useI18n();
  const nav = useNavigate();
  const loc = useLocation();
  const [needOtp, setNeedOtp] = useState(false);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  async function submit(v: { username: string; password: string; otp?: string }) {
    setBusy(true);
    setError(undefined);
    try {
      await login(v.username.trim(), v.password, v.otp?.trim());
      nav((loc.state as { from?: string } | null)?.from ?? '/', { replace: true });
    } catch (e) {
      if (e instanceof OAuthError && e.otpRequired) {
        setNeedOtp(true);
        setError(
          t('Tài khoản này cần mã xác thực một lần (OTP).', 'This account needs a one-time code (TOTP).'),
        );
      } else if (e instanceof OAuthError && e.status === 429) {
        setError(t('Quá nhiều lần thử, vui lòng đợi.', 'Too many attempts, please wait.'));
      } else if (e instanceof OAuthError) {
        setError(
          t(
            'Tên đăng nhập, mật khẩu hoặc mã OTP không đúng, hoặc tài khoản bị khóa.',
            'Wrong user name, password or code, or the account is locked.',
          ),
        );
      } else {
        setError(t('Không kết nối được máy chủ.', 'The server does not answer.'));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <main
      style={{
        minHeight: '100vh',
        display: 'grid',
        placeItems: 'center',
        background: '#f5f5f5',
        padding: 16,
      }}
    >
      <Card style={{ width: '100%', maxWidth: 400 }}>
        <div style={{ display: 'flex', justifyContent: 'space-between', alignItems: 'center' }}>
          <Typography.Title level={1} style={{ fontSize: 22, margin: 0, color: '#b71c1c' }}>
            Liên thông
          </Typography.Title>
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
        </div>
        <Typography.Paragraph type="secondary">
          {t(
            'Trao đổi văn bản điện tử giữa các cơ quan Đảng',
            'Electronic document exchange between party agencies',
          )}
        </Typography.Paragraph>
        {error && <Alert role="alert" type="error" title={error} style={{ marginBottom: 16 }} />}
        <Form layout="vertical" onFinish={submit} requiredMark={false}>
          <Form.Item
            label={t('Tên đăng nhập', 'User name')}
            name="username"
            rules={[{ required: true, message: t('Nhập tên đăng nhập', 'Enter your user name') }]}
          >
            <Input id="username" autoComplete="username" autoFocus />
          </Form.Item>
          <Form.Item
            label={t('Mật khẩu', 'Password')}
            name="password"
            rules={[{ required: true, message: t('Nhập mật khẩu', 'Enter your password') }]}
          >
            <Input.Password id="password" autoComplete="current-password" />
          </Form.Item>
          {needOtp && (
            <Form.Item label={t('Mã OTP', 'One-time code')} name="otp" rules={[{ required: true, len: 6 }]}>
              <Input id="otp" autoComplete="one-time-code" inputMode="numeric" maxLength={6} autoFocus />
            </Form.Item>
          )}
          <Button type="primary" htmlType="submit" block loading={busy}>
            {t('Đăng nhập', 'Log in')}
          </Button>
        </Form>
      </Card>
    </main>
  );
}
