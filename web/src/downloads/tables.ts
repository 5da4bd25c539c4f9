/** The download figures as tables (what the charts show, for screen readers and for reading exact numbers). */
import { h } from '../dom';
import type { DailySeries, DownloadStats, MonthFigures } from './figures';

/** A table with a caption, column headers and the first cell of each row as its row header. */
export function figuresTable(caption: string, columns: string[], rows: Array<Array<string | number>>): HTMLTableElement {
  return h('table', { class: 'log-table figures' }, [
    h('caption', { text: caption }),
    h('thead', {}, [h('tr', {}, columns.map((c) => h('th', { scope: 'col', text: c })))]),
    h(
      'tbody',
      {},
      rows.map((r) => h('tr', {}, r.map((c, i) => (i === 0 ? h('th', { scope: 'row', 'data-label': columns[0], text: String(c) }) : h('td', { 'data-label': columns[i], text: String(c) }))))),
    ),
  ]);
}

/** The days with downloads, one column per link and the day's total; null when no day has any. */
export function dailyTable(stats: DownloadStats, s: DailySeries): HTMLTableElement | null {
  const rows = s.days.flatMap((d, j) => (s.total[j] ? [[d, ...s.perLink.map((row) => row[j]!), s.total[j]!]] : []));
  if (!rows.length) return null;
  return figuresTable('Downloads per UTC day (days with downloads)', ['Day', ...stats.links.map((l) => l.name), 'Total'], rows);
}

export function monthsTable(months: MonthFigures[]): HTMLTableElement {
  return figuresTable('CSV exports and tracked downloads per UTC month', ['Month', 'CSV exports', 'Tracked downloads'], months.map((m) => [m.month, m.audit_csv_exports, m.tracked_downloads]));
}
