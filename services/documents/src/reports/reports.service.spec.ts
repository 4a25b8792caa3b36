import { reportPeriod } from './reports.service';

describe('exchange report period', () => {
  // 2026-12-31T18:00Z is already 1 January 2027 in Vietnam (UTC+7).
  const now = new Date('2026-12-31T18:00:00Z');

  it('covers the current year (Vietnam time) without from/to', () => {
    expect(reportPeriod({}, now)).toMatchObject({ from: '2027-01-01', to: '2027-12-31' });
  });

  it('completes a half-open period within the given year', () => {
    expect(reportPeriod({ from: '2025-06-01' }, now)).toMatchObject({ from: '2025-06-01', to: '2025-12-31' });
    expect(reportPeriod({ to: '2024-03-01' }, now)).toMatchObject({ from: '2024-01-01', to: '2024-03-01' });
    expect(reportPeriod({ from: '2025-06-01', to: '2025-07-01' }, now)).toMatchObject({
      from: '2025-06-01',
      to: '2025-07-01',
    });
  });
});
