/**
 * A destination's delivery log (ours; GitLab has none): pages of 20, newest first, a status
 * filter, each delivery's next retry and its attempt history with the receiver's response
 * excerpts, redelivery of one event or of every failed delivery (the log refreshes after
 * either), live refresh while the tab is visible, and the last 24 hours in charts (chart.ts, in
 * the charts bundle loaded on first use).
 */
import { mutate } from '../api';
import { clear, h, messageOfError, nextId, region, say } from '../dom';
import { useViewStyles } from '../styles';
import { zonedTime } from '../time';
import { loadCharts } from './charts_loader';
import { REDELIVER } from './config';
import type { StreamsContext } from './context';
import { fetchDeliveries, PAGE_SIZE, type DeliveryEntry, type DeliveryTarget } from './delivery_data';

/** How often the open log refreshes itself while the page is visible. */
export const LIVE_REFRESH_MS = 5000;
export const REDELIVER_FAILED = 'auditEventsStreamingDeliveriesRedeliverFailed';

/** The live refresh of each open panel, stopped when the panel is filled again. */
const stoppers = new WeakMap<HTMLElement, () => void>();

function attemptsTable(n: DeliveryEntry): HTMLElement {
  if (!n.attempts.length) return h('p', { class: 'hint', text: 'No attempt yet.' });
  return h('table', { class: 'attempts' }, [
    h('caption', { text: `Attempts of event ${n.eventId}, oldest first` }),
    h('thead', {}, [h('tr', {}, ['#', 'Result', 'HTTP', 'Took', 'Error', 'Response', 'At'].map((c) => h('th', { scope: 'col', text: c })))]),
    h('tbody', {}, n.attempts.map((a) =>
      h('tr', {}, [
        h('td', { 'data-label': '#', text: String(a.attempt) }),
        h('td', { 'data-label': 'Result' }, [h('span', { class: `badge ${a.status.toLowerCase()}`, text: a.status.toLowerCase() })]),
        h('td', { 'data-label': 'HTTP', text: a.httpStatus === null ? '—' : String(a.httpStatus) }),
        h('td', { 'data-label': 'Took', text: `${a.durationMs} ms` }),
        h('td', { 'data-label': 'Error', text: a.errorClass || '—' }),
        h('td', { 'data-label': 'Response' }, [a.responseExcerpt ? h('code', { class: 'excerpt', text: a.responseExcerpt }) : '—']),
        h('td', { 'data-label': 'At' }, [zonedTime(a.createdAt)]),
      ]),
    )),
  ]);
}

/** The deliveries panel of a destination card: opened by its "Recent deliveries" button. */
export function loadDeliveries(ctx: StreamsContext, d: DeliveryTarget, host: HTMLElement): void {
  useViewStyles();
  stoppers.get(host)?.();
  clear(host);
  host.classList.add('delivery-log');
  const err = region('error');
  const done = region('status');
  const selectId = nextId('delivery-status');
  const liveId = nextId('live');
  const options: Array<[string, string]> = [['', 'All'], ['PENDING', 'Pending'], ['DELIVERED', 'Delivered'], ['FAILED', 'Failed']];
  const select = h('select', { id: selectId }, options.map(([value, text]) => h('option', { value, text })));
  const refresh = h('button', { type: 'button', class: 'secondary' }, ['Refresh']);
  const redeliverFailed = h('button', { type: 'button', class: 'secondary', disabled: true }, ['Redeliver all failed']);
  const live = h('input', { id: liveId, type: 'checkbox', checked: true });
  const counts = h('p', { class: 'hint' });
  const charts = h('div', { class: 'charts-host' });
  const tableHost = h('div');
  const prev = h('button', { type: 'button', class: 'secondary', disabled: true }, ['Newer']);
  const next = h('button', { type: 'button', class: 'secondary', disabled: true }, ['Older']);
  const pageStatus = region('status');
  host.append(
    h('h4', { text: 'Recent deliveries' }),
    charts,
    h('div', { class: 'toolbar' }, [
      h('div', { class: 'field' }, [h('label', { for: selectId, text: 'Status' }), select]),
      refresh, redeliverFailed,
      h('div', { class: 'field inline' }, [live, h('label', { for: liveId, text: 'Live refresh' })]),
    ]),
    counts, err, done, tableHost,
    h('nav', { class: 'pager', 'aria-label': `Delivery pages of ${d.name || 'the destination'}` }, [prev, next]), pageStatus,
  );

  /** Cursors of the pages shown so far: cursors[i] opens page i + 1 (null: the first page). */
  let cursors: Array<string | null> = [null];
  let index = 0;
  let endCursor: string | null = null;
  const openAttempts = new Set<string>();
  let loading = 0;

  const row = (n: DeliveryEntry): HTMLTableRowElement[] => {
    const st = n.status.toLowerCase();
    const redeliver = h('button', { type: 'button', class: 'secondary', 'aria-label': `Redeliver event ${n.eventId}` }, ['Redeliver']);
    const attemptsId = `attempts-${n.id.replace(/\W/g, '-')}`;
    const showAttempts = h('button', { type: 'button', class: 'secondary', 'aria-expanded': 'false', 'aria-controls': attemptsId, 'aria-label': `Attempts of event ${n.eventId}` }, ['Attempts']);
    const attemptsRow = h('tr', { class: 'attempts-row', id: attemptsId, hidden: true }, [h('td', { colspan: '6' }, [attemptsTable(n)])]);
    const setOpen = (on: boolean) => {
      attemptsRow.hidden = !on;
      showAttempts.setAttribute('aria-expanded', on ? 'true' : 'false');
      if (on) openAttempts.add(n.id);
      else openAttempts.delete(n.id);
    };
    showAttempts.addEventListener('click', () => setOpen(attemptsRow.hidden));
    setOpen(openAttempts.has(n.id));
    redeliver.addEventListener('click', () => void act(redeliver, async () => {
      const p = await mutate(REDELIVER, { destinationId: d.id, eventId: n.eventId }, 'delivery { status }');
      return p.errors.length ? p.errors : `Event ${n.eventId} queued for redelivery.`;
    }));
    const last = `${n.attemptsCount}${n.lastHttpStatus ? ` (HTTP ${n.lastHttpStatus})` : ''}${n.lastError ? ` ${n.lastError}` : ''}`;
    const main = h('tr', { 'data-event-id': n.eventId, 'data-delivery-id': n.id }, [
      h('td', { 'data-label': 'Event', text: `${n.eventId}${n.eventType ? ` · ${n.eventType}` : ''}` }),
      h('td', { 'data-label': 'Status' }, [h('span', { class: `badge ${st}`, text: st })]),
      h('td', { 'data-label': 'Attempts' }, [last, ' ', showAttempts]),
      h('td', { 'data-label': 'Next retry' }, [n.nextRetryAt ? zonedTime(n.nextRetryAt) : '—']),
      h('td', { 'data-label': 'Updated' }, [n.updatedAt ? zonedTime(n.updatedAt) : '']),
      h('td', { 'data-label': 'Action' }, [redeliver]),
    ]);
    return [main, attemptsRow];
  };

  const load = async (opts: { poll?: boolean; charts?: boolean } = {}) => {
    // A poll never pulls the rows from under the keyboard.
    if (opts.poll && tableHost.contains(document.activeElement)) return;
    const mine = ++loading;
    if (!opts.poll) say(err, '');
    try {
      const r = await fetchDeliveries(ctx, d, { status: select.value, after: cursors[index] });
      if (mine !== loading) return;
      if (!r) {
        say(err, 'This destination no longer exists.');
        return;
      }
      const c = r.counts;
      const countsText = `${c.total} deliveries: ${c.delivered} delivered, ${c.pending} pending, ${c.failed} failed.`;
      // The charts follow the counts: a poll that sees them change redraws them too.
      if (opts.poll && countsText !== counts.textContent) opts.charts = true;
      say(counts, countsText);
      redeliverFailed.disabled = c.failed === 0;
      endCursor = r.page.pageInfo.hasNextPage ? r.page.pageInfo.endCursor : null;
      next.disabled = !endCursor;
      prev.disabled = index === 0;
      const first = index * PAGE_SIZE + 1;
      say(pageStatus, r.page.nodes.length ? `Deliveries ${first} to ${first + r.page.nodes.length - 1} of ${r.page.count}.` : '');
      clear(tableHost);
      if (!r.page.nodes.length) {
        tableHost.appendChild(h('p', { class: 'hint', text: select.value ? 'No deliveries in this status.' : 'No deliveries yet.' }));
      } else {
        tableHost.appendChild(
          h('table', { class: 'log-table' }, [
            h('caption', { text: `Deliveries of ${d.name || ''}, newest first` }),
            h('thead', {}, [h('tr', {}, ['Event', 'Status', 'Attempts', 'Next retry', 'Updated', 'Action'].map((c2) => h('th', { scope: 'col', text: c2 })))]),
            h('tbody', {}, r.page.nodes.flatMap(row)),
          ]),
        );
      }
    } catch (e) {
      if (mine === loading && !opts.poll) say(err, messageOfError(e));
    }
    if (opts.charts) void drawCharts();
  };
  const drawCharts = () =>
    loadCharts().then(
      (c) => c.renderDeliveryCharts(ctx, d, charts),
      (e) => clear(charts).appendChild(h('p', { class: 'error', text: messageOfError(e) })),
    );

  /** Run a redelivery; its errors or message are shown, then the log (and charts) refresh. */
  const act = async (btn: HTMLButtonElement, run: () => Promise<string[] | string>) => {
    say(err, '');
    say(done, '');
    btn.disabled = true;
    try {
      const out = await run();
      if (Array.isArray(out)) say(err, out.join('; '));
      else say(done, out);
    } catch (e) {
      say(err, messageOfError(e));
    }
    btn.disabled = false;
    await load({ charts: true });
  };

  select.addEventListener('change', () => {
    cursors = [null];
    index = 0;
    void load();
  });
  refresh.addEventListener('click', () => void load({ charts: true }));
  next.addEventListener('click', () => {
    if (!endCursor) return;
    cursors = cursors.slice(0, index + 1).concat(endCursor);
    index += 1;
    void load();
  });
  prev.addEventListener('click', () => {
    if (index === 0) return;
    index -= 1;
    void load();
  });
  redeliverFailed.addEventListener('click', () => void act(redeliverFailed, async () => {
    // Every failed delivery still in the log (the API re-sends at most 1000 per call).
    const p = await mutate(REDELIVER_FAILED, { destinationId: d.id, since: new Date(0).toISOString() }, 'redeliveredCount');
    if (p.errors.length) return p.errors;
    const n = Number(p.redeliveredCount || 0);
    return `${n} failed deliver${n === 1 ? 'y' : 'ies'} queued for redelivery${n >= 1000 ? ' (at most 1000 at a time: press again for more)' : ''}.`;
  }));

  // Live refresh: while the panel is on screen, the page visible and the box checked.
  const onScreen = () => host.isConnected && host.getClientRects().length > 0;
  const poll = () => {
    if (!host.isConnected) stop();
    else if (live.checked && document.visibilityState === 'visible' && onScreen()) void load({ poll: true });
  };
  const timer = setInterval(poll, LIVE_REFRESH_MS);
  const stop = () => {
    clearInterval(timer);
    document.removeEventListener('visibilitychange', poll);
  };
  stoppers.set(host, stop);
  document.addEventListener('visibilitychange', poll);
  void load({ charts: true });
}
