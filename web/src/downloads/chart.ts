/**
 * The download charts, part of the charts bundle (/-/ui/charts.js, with uPlot; imported by
 * web/src/charts.ts, which the client loads on first use through downloads/charts_loader.ts):
 * a release's downloads per UTC day, stacked by link, and the instance's CSV exports and tracked
 * downloads per month. Canvas only (`aria-hidden`): the pages put the same figures in a sentence
 * and a table beside each chart.
 */
import uPlot from 'uplot';
import { clear, h } from '../dom';
import { dailySeries, linkColour, type DownloadStats, type MonthFigures } from './figures';

export interface DownloadChartsApi {
  renderDailyDownloads: typeof renderDailyDownloads;
  renderMonthlyFigures: typeof renderMonthlyFigures;
}

declare global {
  interface Window {
    /** Set by /-/ui/charts.js when it runs. */
    auditEventsDownloadCharts?: DownloadChartsApi;
  }
}

const DAY_S = 86_400;

/** A key entry coloured through the CSSOM (the CSP allows it; a style attribute it would not). */
function keyEntry(text: string, colour: string): HTMLElement {
  const el = h('span', { class: 'key', text });
  el.style.color = colour;
  return el;
}

/** A figure: title, the plot (hidden from screen readers) and its key. */
function figure(title: string, keys: HTMLElement[]): { box: HTMLElement; plot: HTMLElement } {
  const plot = h('div', { 'aria-hidden': 'true' });
  const box = h('figure', { class: 'chart' }, [h('h4', { text: title }), plot, h('p', { class: 'chart-key', 'aria-hidden': 'true' }, keys)]);
  return { box, plot };
}

const chartWidth = (host: HTMLElement, share: number) => Math.max(260, Math.min(720, (host.parentElement?.clientWidth || 600) * share - 48));

/** Every `step`-th of `xs`, counted back from the last (the newest always labelled), so ticks sit under bars. */
function everyNth(xs: number[], step: number): number[] {
  return xs.filter((_, i) => (xs.length - 1 - i) % step === 0);
}

/** Whole numbers only on the count axis (no "0.5 downloads"). */
const COUNT_AXIS: uPlot.Axis = { size: 48, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000, 1e6, 1e7, 1e8] };

/**
 * A release's downloads per day into `host`, stacked by link: each link's bar reaches the sum of
 * it and the links before it, drawn tallest first so that each shows its own segment.
 */
export function renderDailyDownloads(host: HTMLElement, stats: DownloadStats): void {
  const s = dailySeries(stats);
  const xs = s.days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000);
  const stacked: number[][] = [];
  s.perLink.forEach((row, i) => stacked.push(row.map((n, j) => n + (i ? stacked[i - 1]![j]! : 0))));
  const order = stacked.map((_, i) => i).reverse();
  const bars = uPlot.paths.bars!({ size: [0.8, 16] });
  const { box, plot } = figure('Downloads per day', stats.links.map((l, i) => keyEntry(l.name, linkColour(i))));
  clear(host).appendChild(box);
  const width = chartWidth(host, 1);
  // A day's label ("11-28") needs about 60 px: label every step-th day so that labels never touch.
  const step = Math.ceil(xs.length / Math.max(2, Math.floor((width - 60) / 60)));
  new uPlot(
    {
      width,
      height: 180,
      legend: { show: false },
      cursor: { show: false },
      scales: { x: { time: false, range: [xs[0]! - DAY_S / 2, xs[xs.length - 1]! + DAY_S / 2] }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      axes: [
        { splits: () => everyNth(xs, step), values: (_u, ticks) => ticks.map((t) => new Date(t * 1000).toISOString().slice(5, 10)) },
        COUNT_AXIS,
      ],
      series: [{}, ...order.map((i) => ({ label: stats.links[i]!.name, stroke: linkColour(i), fill: linkColour(i), paths: bars, points: { show: false } }))],
    },
    [xs, ...order.map((i) => stacked[i]!)],
    plot,
  );
}

/** The instance's months into `host`: two small bar charts (their scales differ by far), CSV exports and tracked downloads. */
export function renderMonthlyFigures(host: HTMLElement, months: MonthFigures[]): void {
  const xs = months.map((_, i) => i);
  const bars = uPlot.paths.bars!({ size: [0.7, 28] });
  const one = (title: string, colour: string, ys: number[]) => {
    const { box, plot } = figure(title, []);
    new uPlot(
      {
        width: chartWidth(host, 0.5),
        height: 160,
        legend: { show: false },
        cursor: { show: false },
        scales: { x: { time: false, range: [-0.5, months.length - 0.5] }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
        axes: [{ splits: () => everyNth(xs, Math.ceil(xs.length / 6)), values: (_u, ticks) => ticks.map((t) => months[t]?.month ?? '') }, COUNT_AXIS],
        series: [{}, { label: title, stroke: colour, fill: colour, paths: bars, points: { show: false } }],
      },
      [xs, ys],
      plot,
    );
    return box;
  };
  clear(host).appendChild(
    h('div', { class: 'charts' }, [
      one('CSV exports per month', '#6f2da8', months.map((m) => m.audit_csv_exports)),
      one('Tracked downloads per month', '#1a56c4', months.map((m) => m.tracked_downloads)),
    ]),
  );
}

window.auditEventsDownloadCharts = { renderDailyDownloads, renderMonthlyFigures };
