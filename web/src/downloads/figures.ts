/**
 * The download figures the pages show, as the API answers them, and what the charts and the
 * screen-reader text make of them: a release's downloads per UTC day and link
 * (`GET /projects/:id/releases/:tag/downloads/stats`) and the instance's CSV exports and tracked
 * downloads per month (`GET /admin/audit_events/stats`).
 */

export interface LinkDays {
  id: number;
  name: string;
  download_count: number;
  downloads: Array<{ date: string; count: number }>;
}

export interface DownloadStats {
  interval: 'day';
  from: string;
  to: string;
  links: LinkDays[];
}

export interface MonthFigures {
  month: string;
  audit_csv_exports: number;
  tracked_downloads: number;
}

/** The window's days (every UTC day from `from` to `to`, as the API lists them) and each link's count per day. */
export interface DailySeries {
  days: string[];
  /** One row per link (in the API's order), one count per day. */
  perLink: number[][];
  total: number[];
}

/** The days of the window and each link's count on each (a day the API left out counts 0). */
export function dailySeries(stats: DownloadStats): DailySeries {
  const days: string[] = [];
  for (let d = stats.from; d <= stats.to; d = nextDay(d)) days.push(d);
  const perLink = stats.links.map((l) => {
    const byDay = new Map(l.downloads.map((x) => [x.date, x.count]));
    return days.map((d) => byDay.get(d) ?? 0);
  });
  const total = days.map((_, i) => perLink.reduce((sum, row) => sum + row[i]!, 0));
  return { days, perLink, total };
}

function nextDay(day: string): string {
  const t = Date.parse(`${day}T00:00:00Z`) + 86_400_000;
  return new Date(t).toISOString().slice(0, 10);
}

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/** The chart in one sentence: the window's total, each link's share, and the busiest day. */
export function downloadsSentence(stats: DownloadStats, s: DailySeries): string {
  const sum = s.total.reduce((a, b) => a + b, 0);
  const head = `${stats.from} to ${stats.to} (UTC days): ${plural(sum, 'download')}`;
  if (!sum) return `${head}.`;
  const perLink = stats.links.map((l, i) => `${l.name} ${s.perLink[i]!.reduce((a, b) => a + b, 0)}`).join(', ');
  let busiest = 0;
  s.total.forEach((n, i) => {
    if (n > s.total[busiest]!) busiest = i;
  });
  return `${head} (${perLink}); busiest day ${s.days[busiest]} with ${plural(s.total[busiest]!, 'download')}.`;
}

/** The months in one sentence: totals of both figures and the current month's. */
export function monthsSentence(months: MonthFigures[]): string {
  if (!months.length) return 'No months.';
  const exports = months.reduce((a, m) => a + m.audit_csv_exports, 0);
  const downloads = months.reduce((a, m) => a + m.tracked_downloads, 0);
  const last = months[months.length - 1]!;
  return (
    `${months[0]!.month} to ${last.month} (UTC months): ${plural(exports, 'CSV export')} and ${plural(downloads, 'tracked download')}; ` +
    `this month ${plural(last.audit_csv_exports, 'CSV export')} and ${plural(last.tracked_downloads, 'tracked download')}.`
  );
}

/** Colours of the links' series, each with AA contrast on white (after the sixth they repeat). */
export const LINK_COLOURS = ['#1a56c4', '#1d6b34', '#8a4b00', '#6f2da8', '#b3261e', '#00656b'];

export const linkColour = (i: number) => LINK_COLOURS[i % LINK_COLOURS.length]!;
