/**
 * A destination's last 24 hours in two small uPlot charts (canvas; uPlot sets sizes through the
 * CSSOM, which the CSP's `style-src 'self'` allows): deliveries and failed attempts per hour, and
 * the delivery latency (median time from the event's routing to the receiver's 2xx, per hour).
 * Built from the delivery log's own data (deliveries and their attempts); the sentence under
 * the charts says the same in words for screen readers.
 */
import uPlot from 'uplot';
import { clear, h, messageOfError } from '../dom';
import type { StreamsContext } from './context';
import { fetchDeliveries, type DeliveryEntry, type DeliveryTarget } from './delivery_data';

const HOUR = 3600_000;
/** At most this many deliveries are read for the charts (5 pages of 100). */
const MAX_PAGES = 5;
const CHART_FIELDS = 'createdAt deliveredAt status attempts { status createdAt }';

export interface HourlySeries {
  /** Start of each hour, in seconds (uPlot's x values). */
  hours: number[];
  delivered: number[];
  failedAttempts: number[];
  /** Median seconds from routing to delivery, null in an hour without deliveries. */
  latency: Array<number | null>;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Bucket deliveries into the 24 hours ending at `now`. */
export function hourly(entries: Array<Pick<DeliveryEntry, 'createdAt' | 'deliveredAt'> & { attempts: Array<{ status: string; createdAt: string }> }>, now: number): HourlySeries {
  const start = Math.floor(now / HOUR) * HOUR - 23 * HOUR;
  const hours = Array.from({ length: 24 }, (_, i) => (start + i * HOUR) / 1000);
  const delivered = new Array<number>(24).fill(0);
  const failedAttempts = new Array<number>(24).fill(0);
  const waits: number[][] = Array.from({ length: 24 }, () => []);
  const slot = (iso: string) => {
    const i = Math.floor((Date.parse(iso) - start) / HOUR);
    return i >= 0 && i < 24 ? i : -1;
  };
  for (const e of entries) {
    if (e.deliveredAt) {
      const i = slot(e.deliveredAt);
      if (i >= 0) {
        delivered[i]! += 1;
        waits[i]!.push(Math.max(0, (Date.parse(e.deliveredAt) - Date.parse(e.createdAt)) / 1000));
      }
    }
    for (const a of e.attempts) {
      const i = a.status === 'FAILED' ? slot(a.createdAt) : -1;
      if (i >= 0) failedAttempts[i]! += 1;
    }
  }
  return { hours, delivered, failedAttempts, latency: waits.map((w) => (w.length ? median(w) : null)) };
}

async function lastDay(ctx: StreamsContext, d: DeliveryTarget, since: number): Promise<DeliveryEntry[]> {
  const out: DeliveryEntry[] = [];
  let after: string | null = null;
  for (let i = 0; i < MAX_PAGES; i++) {
    const r = await fetchDeliveries(ctx, d, { first: 100, after, fields: CHART_FIELDS });
    if (!r) break;
    out.push(...r.page.nodes);
    const oldest = r.page.nodes[r.page.nodes.length - 1];
    // Newest first: once a page reaches past the window, older pages hold nothing for it
    // (a delivery's attempts come after its creation; a retry older than a day is not charted).
    if (!r.page.pageInfo.hasNextPage || !oldest || Date.parse(oldest.createdAt) < since) break;
    after = r.page.pageInfo.endCursor;
  }
  return out;
}

/** A chart with its title and a key (our own, styled by class: uPlot's legend is off). */
function chartBox(title: string, keys: Array<[string, string]>, width: number, opts: Omit<uPlot.Options, 'width' | 'height'>, data: uPlot.AlignedData): HTMLElement {
  const plot = h('div', { 'aria-hidden': 'true' });
  const key = h('p', { class: 'chart-key', 'aria-hidden': 'true' }, keys.map(([cls, text]) => h('span', { class: `key ${cls}`, text })));
  const box = h('figure', { class: 'chart' }, [h('h5', { text: title }), plot, key]);
  new uPlot({ ...opts, legend: { show: false }, cursor: { show: false }, width, height: 160 }, data, plot);
  return box;
}

/** Draw (or redraw) the charts of a destination into `host`. */
export async function renderDeliveryCharts(ctx: StreamsContext, d: DeliveryTarget, host: HTMLElement): Promise<void> {
  const now = Date.now();
  let entries: DeliveryEntry[];
  try {
    entries = await lastDay(ctx, d, now - 24 * HOUR);
  } catch (e) {
    clear(host).appendChild(h('p', { class: 'error', text: `The charts could not load: ${messageOfError(e)}` }));
    return;
  }
  const s = hourly(entries, now);
  const width = Math.max(260, Math.min(420, (host.parentElement?.clientWidth || 480) / 2 - 24));
  // Half an hour of room on each side, so that the first and last hours' bars show whole.
  const scales: uPlot.Scales = { x: { time: false, range: [s.hours[0]! - 1800, s.hours[23]! + 1800] } };
  const axes: uPlot.Axis[] = [{ values: (_u, ticks) => ticks.map((t) => `${String(new Date(t * 1000).getUTCHours()).padStart(2, '0')}h`) }, { size: 40 }];
  const bars = uPlot.paths.bars!({ size: [0.7, 12] });
  const total = s.delivered.reduce((a, b) => a + b, 0);
  const failed = s.failedAttempts.reduce((a, b) => a + b, 0);
  const waits = s.latency.filter((x): x is number => x !== null);
  const summary = `Last 24 hours (UTC hours): ${total} delivered, ${failed} failed attempts${waits.length ? `; median delivery latency per hour between ${Math.min(...waits).toFixed(1)} s and ${Math.max(...waits).toFixed(1)} s` : ''}.`;
  clear(host);
  host.append(
    h('div', { class: 'charts' }, [
      chartBox('Deliveries and failed attempts per hour', [['delivered', 'Delivered'], ['failed', 'Failed attempts']], width, {
        axes,
        scales,
        series: [
          {},
          { label: 'Delivered', stroke: '#1d6b34', fill: 'rgba(29,107,52,.45)', paths: bars, points: { show: false } },
          { label: 'Failed attempts', stroke: '#b3261e', fill: 'rgba(179,38,30,.45)', paths: bars, points: { show: false } },
        ],
      }, [s.hours, s.delivered, s.failedAttempts]),
      chartBox('Delivery latency (median seconds)', [['latency', 'Median seconds from routing to 2xx']], width, {
        axes,
        scales,
        series: [{}, { label: 'Latency (s)', stroke: '#1a56c4', width: 2, points: { show: true, size: 6 }, spanGaps: false }],
      }, [s.hours, s.latency]),
    ]),
    h('p', { class: 'hint chart-summary', text: summary }),
  );
}
