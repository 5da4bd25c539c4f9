/**
 * The release page's Downloads section: each link's tracked downloads per UTC day over the last
 * 7, 30 (the default) or 90 days (`GET /projects/:id/releases/:tag/downloads/stats`), as a chart
 * stacked by link, a sentence and a table of the days with downloads.
 */
import { rest } from '../api';
import { useViewStyles } from '../styles';
import { clear, enc, h, messageOfError, nextId, region, say } from '../dom';
import type { Project, Release } from '../types';
import { loadDownloadCharts } from './charts_loader';
import { dailySeries, downloadsSentence, type DownloadStats } from './figures';
import { dailyTable } from './tables';

export const WINDOWS = [7, 30, 90];
export const DEFAULT_WINDOW = 30;

/** The UTC day `days - 1` days before today, and today: a window of `days` days ending today. */
function windowEndingToday(days: number): { from: string; to: string } {
  const now = Date.now();
  return { from: new Date(now - (days - 1) * 86_400_000).toISOString().slice(0, 10), to: new Date(now).toISOString().slice(0, 10) };
}

/** The section for a release with links (null when it has none: nothing to count). */
export function downloadsSection(project: Project, release: Release): HTMLElement | null {
  if (!release.assets?.links?.length) return null;
  useViewStyles();
  const pickId = nextId('dl-window');
  const picker = h('select', { id: pickId }, WINDOWS.map((n) => h('option', { value: String(n), text: `Last ${n} days` })));
  picker.value = String(DEFAULT_WINDOW);
  const err = region('error');
  const status = region('status');
  const chart = h('div', { class: 'downloads-chart' });
  const sentence = h('p', { class: 'hint chart-summary downloads-summary' });
  const table = h('div');
  const section = h('section', { class: 'downloads', 'aria-labelledby': `${pickId}-title` }, [
    h('h3', { id: `${pickId}-title`, text: 'Downloads' }),
    h('div', { class: 'toolbar' }, [h('label', { for: pickId, text: 'Window' }), picker]),
    status,
    err,
    chart,
    sentence,
    table,
  ]);
  const load = async () => {
    const { from, to } = windowEndingToday(Number(picker.value));
    say(err, '');
    say(status, 'Loading downloads…');
    let stats: DownloadStats;
    try {
      const path = `/api/v4/projects/${enc(String(project.id))}/releases/${enc(release.tag_name)}/downloads/stats?interval=day&from=${from}&to=${to}`;
      stats = (await rest<DownloadStats>(path)).body;
    } catch (e) {
      say(status, '');
      say(err, `The downloads could not load: ${messageOfError(e)}`);
      return;
    }
    const s = dailySeries(stats);
    say(sentence, downloadsSentence(stats, s));
    clear(table);
    const t = dailyTable(stats, s);
    if (t) table.appendChild(t);
    say(status, '');
    try {
      (await loadDownloadCharts()).renderDailyDownloads(chart, stats);
    } catch (e) {
      clear(chart);
      say(err, `The chart could not load: ${messageOfError(e)}`);
    }
  };
  picker.addEventListener('change', () => void load());
  void load();
  return section;
}
