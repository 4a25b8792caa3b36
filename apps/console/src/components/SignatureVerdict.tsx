import { Tag, Typography } from 'antd';
import type { SignatureVerdict as Verdict } from '../api/types';
import { useI18n } from '../i18n';

/** Signer, issuer, trusted or why not: what the documents service found in an uploaded PDF. */
export function SignatureVerdict({ value }: { value: Verdict | null | undefined }) {
  const { t } = useI18n();
  if (!value || !value.present)
    return <Tag data-testid="signature-verdict">{t('Không có chữ ký số', 'Not signed')}</Tag>;
  const ok = value.valid && value.trusted;
  return (
    <span data-testid="signature-verdict">
      <Tag color={ok ? 'green' : value.valid ? 'orange' : 'red'}>
        {ok
          ? t('Chữ ký hợp lệ, tin cậy', 'Valid, trusted signature')
          : value.valid
            ? t('Chữ ký hợp lệ nhưng không tin cậy', 'Valid signature, issuer not trusted')
            : t('Chữ ký không hợp lệ', 'Invalid signature')}
      </Tag>
      <Typography.Text type="secondary">
        {value.signer && ` ${t('Người ký', 'Signer')}: ${value.signer}.`}
        {value.issuer && ` ${t('Nơi cấp', 'Issuer')}: ${value.issuer}.`}
        {value.signedAt && ` ${t('Lúc', 'At')}: ${value.signedAt}.`}
        {value.problem && ` ${t('Lý do', 'Reason')}: ${value.problem}`}
      </Typography.Text>
    </span>
  );
}
