/**
 * The admin page's figures: CSV exports of the audit log and tracked downloads per UTC month
 * over the last 12 months (`GET /admin/audit_events/stats?months=12`, administrators), as a
 * table, two small charts and a sentence.
 */
import { rest } from '../api';
import { useViewStyles } from '../styles';
import { clear, h, messageOfError, region, say } from '../dom';
import { loadDownloadCharts } from './charts_loader';
import { monthsSentence, type MonthFigures } from './figures';
import { monthsTable } from './tables';

export const FIGURE_MONTHS = 12;

export function instanceFiguresSection(): HTMLElement {
  useViewStyles();
  const err = region('error');
  const chart = h('div', { class: 'figures-chart' });
  const sentence = h('p', { class: 'hint chart-summary' });
  const table = h('div');
  const section = h('section', { class: 'instance-figures', 'aria-labelledby': 'instance-figures-title' }, [
    h('h2', { id: 'instance-figures-title', text: `Audit log exports and tracked downloads (last ${FIGURE_MONTHS} months)` }),
    err,
    chart,
    sentence,
    table,
  ]);
  void (async () => {
    let months: MonthFigures[];
    try {
      months = (await rest<{ months: MonthFigures[] }>(`/api/v4/admin/audit_events/stats?months=${FIGURE_MONTHS}`)).body.months;
    } catch (e) {
      say(err, `The figures could not load: ${messageOfError(e)}`);
      return;
    }
    say(sentence, monthsSentence(months));
    table.appendChild(monthsTable(months));
    try {
      (await loadDownloadCharts()).renderMonthlyFigures(chart, months);
    } catch (e) {
      clear(chart);
      say(err, `The charts could not load: ${messageOfError(e)}`);
    }
  })();
  return section;
}
