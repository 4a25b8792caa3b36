import { useQuery } from '@tanstack/react-query';
import { Alert, Breadcrumb, Button, Card, DatePicker, Space, Statistic, Table, Typography } from 'antd';
import type { Dayjs } from 'dayjs';
import { useMemo, useState } from 'react';
import type { Organization } from '../../api/types';
import { Chart } from '../../components/Chart';
import { errorText } from '../../components/errors';
import { subtreeCodes, useOrganizations } from '../../components/orgs';
import { useAuth } from '../../auth';
import { useI18n } from '../../i18n';
import { reportDefaultRange, reportQuery, type OrgFigures } from '../../queries';

interface Row {
  code: string;
  name: string;
  registered: number;
  sent: number;
  received: number;
  electronic: number | null;
  signed: number | null;
  onTime: number | null;
  hasChildren: boolean;
}

/**
 * Sums a subtree exactly: each share is numerator / denominator added over the organizations (the report
 * gives the denominators: electronicEligible, sent + received, dueResolved).
 */
function aggregate(code: string, name: string, figs: OrgFigures[], hasChildren: boolean): Row {
  let registered = 0,
    sent = 0,
    received = 0,
    signed = 0,
    onTimeW = 0,
    onTimeN = 0;
  for (const f of figs) {
    const reg =
      f.electronicEligible ?? f.registered ?? (f.electronicShare ? f.sent / f.electronicShare : f.sent);
    registered += reg;
    sent += f.sent;
    received += f.received;
    signed += (f.signedShare ?? 0) * (f.sent + f.received);
    if (f.onTimeShare !== null) {
      const n = f.dueResolved ?? Math.max(f.received, 1);
      onTimeW += f.onTimeShare * n;
      onTimeN += n;
    }
  }
  return {
    code,
    name,
    registered: Math.round(registered),
    sent,
    received,
    electronic: registered ? sent / registered : null,
    signed: sent + received ? signed / (sent + received) : null,
    onTime: onTimeN ? onTimeW / onTimeN : null,
    hasChildren,
  };
}

const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(1)} %`);

/** Programme indicators vs the 95 % / 100 % targets, per organization, drilled down the tree. */
export default function Indicators() {
  const { t } = useI18n();
  const { me } = useAuth();
  const [range, setRange] = useState<[Dayjs, Dayjs]>(() => [...reportDefaultRange()]);
  const [focus, setFocus] = useState<string>();
  const orgs = useOrganizations();
  // The same query the app starts on a full load of this page (queries.ts).
  const report = useQuery(reportQuery(range[0].format('YYYY-MM-DD'), range[1].format('YYYY-MM-DD')));
  const byCode = useMemo(() => new Map((orgs.data ?? []).map((o) => [o.code, o])), [orgs.data]);
  const current = focus ?? me?.organizationCode ?? '';
  const rows = useMemo<Row[]>(() => {
    const all = orgs.data ?? [];
    const figs = report.data?.organizations ?? [];
    const children = all.filter((o) => o.parentCode === current);
    const own = figs.filter((f) => f.code === current);
    const out: Row[] = [
      aggregate(current, `${byCode.get(current)?.name ?? current} (${t('tự thân', 'itself')})`, own, false),
    ];
    for (const c of children) {
      const codes = subtreeCodes(all, c.code);
      out.push(
        aggregate(
          c.code,
          c.name,
          figs.filter((f) => codes.has(f.code)),
          all.some((o) => o.parentCode === c.code),
        ),
      );
    }
    // Organizations in the report that the directory does not list (another node's, or deleted) still count.
    if (!all.length) return figs.map((f) => aggregate(f.code, f.code, [f], false));
    return out;
  }, [orgs.data, report.data, current, byCode, t]);
  const path: Organization[] = [];
  for (let o = byCode.get(current); o; o = o.parentCode ? byCode.get(o.parentCode) : undefined)
    path.unshift(o);
  const subtree = useMemo(() => subtreeCodes(orgs.data ?? [], current), [orgs.data, current]);
  const total = aggregate(
    current,
    '',
    (report.data?.organizations ?? []).filter((f) => subtree.has(f.code)),
    true,
  );

  const option = useMemo(
    () => ({
      tooltip: { trigger: 'axis', valueFormatter: (v: number) => `${v?.toFixed?.(1)} %` },
      legend: { top: 0 },
      grid: { left: 48, right: 24, bottom: 72, top: 40 },
      xAxis: { type: 'category', data: rows.map((r) => r.code), axisLabel: { rotate: 30 } },
      yAxis: { type: 'value', max: 100, axisLabel: { formatter: '{value} %' } },
      series: [
        {
          name: t('Gửi điện tử', 'Sent electronically'),
          type: 'bar',
          data: rows.map((r) => (r.electronic === null ? null : +(r.electronic * 100).toFixed(1))),
          markLine: {
            silent: true,
            symbol: 'none',
            data: [
              {
                yAxis: 95,
                name: '95 %',
                label: { formatter: t('Mục tiêu 95 %', 'Target 95 %') },
                lineStyle: { color: '#fa8c16' },
              },
              {
                yAxis: 100,
                name: '100 %',
                label: { formatter: t('Mục tiêu 100 %', 'Target 100 %') },
                lineStyle: { color: '#cf1322' },
              },
            ],
          },
        },
        {
          name: t('Có chữ ký số', 'Signed'),
          type: 'bar',
          data: rows.map((r) => (r.signed === null ? null : +(r.signed * 100).toFixed(1))),
        },
        {
          name: t('Xử lý đúng hạn', 'On time'),
          type: 'bar',
          data: rows.map((r) => (r.onTime === null ? null : +(r.onTime * 100).toFixed(1))),
        },
      ],
    }),
    [rows, t],
  );

  return (
    <section aria-labelledby="ind-title">
      <Typography.Title level={2} id="ind-title" style={{ fontSize: 20 }}>
        {t('Chỉ tiêu chương trình chuyển đổi số', 'Programme indicators')}
      </Typography.Title>
      <Space wrap style={{ marginBottom: 12 }}>
        <DatePicker.RangePicker
          aria-label={t('Kỳ báo cáo', 'Period')}
          value={range}
          allowClear={false}
          onChange={(v) => v?.[0] && v[1] && setRange([v[0], v[1]])}
        />
        <Breadcrumb
          items={path.map((o) => ({
            title: (
              <Button type="link" size="small" onClick={() => setFocus(o.code)}>
                {o.name}
              </Button>
            ),
          }))}
        />
      </Space>
      {report.error && <Alert type="error" title={errorText(report.error)} />}
      <Space wrap size="large" style={{ marginBottom: 12 }}>
        <Card size="small">
          <Statistic
            title={t('Tỷ lệ gửi điện tử (mục tiêu 95 %)', 'Sent electronically (target 95 %)')}
            value={pct(total.electronic)}
          />
        </Card>
        <Card size="small">
          <Statistic
            title={t('Tỷ lệ có chữ ký số (mục tiêu 100 %)', 'Signed (target 100 %)')}
            value={pct(total.signed)}
          />
        </Card>
        <Card size="small">
          <Statistic title={t('Tỷ lệ xử lý đúng hạn', 'Handled on time')} value={pct(total.onTime)} />
        </Card>
      </Space>
      <Card
        size="small"
        title={t('Theo đơn vị (bấm cột để xem cấp dưới)', 'By organization (click a bar to drill down)')}
      >
        <Chart
          option={option}
          label={t('Biểu đồ chỉ tiêu theo đơn vị', 'Indicators by organization')}
          onClick={(code) => {
            const r = rows.find((x) => x.code === code);
            if (r?.hasChildren) setFocus(code);
          }}
        />
      </Card>
      <Table<Row>
        style={{ marginTop: 12 }}
        size="small"
        rowKey="code"
        loading={report.isLoading || orgs.isLoading}
        dataSource={rows}
        pagination={false}
        scroll={{ x: 800 }}
        columns={[
          {
            title: t('Đơn vị', 'Organization'),
            key: 'name',
            render: (_, r) =>
              r.hasChildren ? (
                <Button type="link" size="small" onClick={() => setFocus(r.code)}>
                  {r.name}
                </Button>
              ) : (
                r.name
              ),
          },
          { title: t('Vào sổ (trừ văn bản mật)', 'Registered (not classified)'), dataIndex: 'registered' },
          { title: t('Đã gửi', 'Sent'), dataIndex: 'sent' },
          { title: t('Đã nhận', 'Received'), dataIndex: 'received' },
          { title: t('Gửi điện tử', 'Electronic'), dataIndex: 'electronic', render: pct },
          { title: t('Có chữ ký', 'Signed'), dataIndex: 'signed', render: pct },
          { title: t('Đúng hạn', 'On time'), dataIndex: 'onTime', render: pct },
        ]}
      />
    </section>
  );
}
