/**
 * The platform counts days and years in Vietnam time (registers, reports, due dates: documents README), so the
 * console does too, whatever zone the browser is in: at 00:30 on 1 December in Hà Nội a browser set to UTC still
 * says 30 November, and a report "up to today" would leave out everything sent since midnight.
 */
const VN_DAY = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'Asia/Ho_Chi_Minh',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});

/** Today's date in Vietnam, `YYYY-MM-DD`. */
export function vnToday(now: Date = new Date()): string {
  const parts = Object.fromEntries(VN_DAY.formatToParts(now).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}`;
}

/** The current year in Vietnam. */
export function vnYear(now: Date = new Date()): number {
  return Number(vnToday(now).slice(0, 4));
}
