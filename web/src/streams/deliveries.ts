/** A destination's recent deliveries (ours; GitLab has none): status filter, refresh, and redelivery of one event. */
import { gql, mutate } from '../api';
import { clear, h, messageOfError, nextId, region, say, timeEl } from '../dom';
import type { Delivery, Destination } from '../types';
import { REDELIVER } from './config';
import type { StreamsContext } from './context';

interface DeliveryNode {
  id: string;
  deliveryCounts: { pending: number; delivered: number; failed: number; total: number } | null;
  deliveries: { nodes: Delivery[] } | null;
}

function deliveryRow(d: Destination, n: Delivery, err: HTMLElement, done: HTMLElement): HTMLTableRowElement {
  const redeliver = h('button', { type: 'button', class: 'secondary', 'aria-label': `Redeliver event ${n.eventId}` }, ['Redeliver']);
  redeliver.addEventListener('click', async () => {
    say(err, '');
    say(done, '');
    redeliver.disabled = true;
    try {
      const p = await mutate(REDELIVER, { destinationId: d.id, eventId: n.eventId }, 'delivery { status }');
      if (p.errors.length) say(err, p.errors.join('; '));
      else say(done, `Event ${n.eventId} queued for redelivery.`);
    } catch (e) {
      say(err, messageOfError(e));
    }
    redeliver.disabled = false;
  });
  const st = String(n.status || '').toLowerCase();
  const attempts = `${n.attemptsCount}${n.lastHttpStatus ? ` (HTTP ${n.lastHttpStatus})` : ''}${n.lastError ? ` ${n.lastError}` : ''}`;
  return h('tr', { 'data-event-id': n.eventId }, [
    h('td', { 'data-label': 'Event', text: `${n.eventId}${n.eventType ? ` · ${n.eventType}` : ''}` }),
    h('td', { 'data-label': 'Status' }, [h('span', { class: `badge ${st}`, text: st })]),
    h('td', { 'data-label': 'Attempts', text: attempts }),
    h('td', { 'data-label': 'Updated' }, [n.updatedAt ? timeEl(n.updatedAt) : '']),
    h('td', { 'data-label': 'Action' }, [redeliver]),
  ]);
}

export function loadDeliveries(ctx: StreamsContext, d: Destination, host: HTMLElement, status = ''): void {
  clear(host);
  const err = region('error');
  const done = region('status');
  const selectId = nextId('delivery-status');
  const options: Array<[string, string]> = [['', 'All'], ['PENDING', 'Pending'], ['DELIVERED', 'Delivered'], ['FAILED', 'Failed']];
  const select = h('select', { id: selectId }, options.map(([value, text]) => h('option', { value, text })));
  select.value = status;
  select.addEventListener('change', () => {
    loadDeliveries(ctx, d, host, select.value);
    host.querySelector('select')?.focus();
  });
  const refresh = h('button', { type: 'button', class: 'secondary' }, ['Refresh']);
  refresh.addEventListener('click', () => {
    loadDeliveries(ctx, d, host, select.value);
    host.querySelector('button')?.focus();
  });
  const counts = h('p', { class: 'hint' });
  host.append(
    h('h4', { text: 'Recent deliveries' }),
    h('div', { class: 'toolbar' }, [h('div', { class: 'field' }, [h('label', { for: selectId, text: 'Status' }), select]), refresh]),
    counts, err, done,
  );
  const vars: Record<string, unknown> = { status: status || null };
  if (ctx.scope.kind === 'group') vars.fullPath = ctx.scope.path;
  gql(ctx.cfg.deliveries, vars).then(
    (data) => {
      const mine = (ctx.cfg.nodes<DeliveryNode>(data) || []).find((x) => x.id === d.id);
      if (!mine) {
        say(err, 'This destination no longer exists.');
        return;
      }
      const c = mine.deliveryCounts;
      if (c) say(counts, `${c.total} deliveries: ${c.delivered} delivered, ${c.pending} pending, ${c.failed} failed.`);
      const nodes = mine.deliveries?.nodes || [];
      if (!nodes.length) {
        host.appendChild(h('p', { class: 'hint', text: 'No deliveries yet.' }));
        return;
      }
      host.appendChild(
        h('table', { class: 'log-table' }, [
          h('caption', { text: `Deliveries to ${d.name || ''}, newest first` }),
          h('thead', {}, [h('tr', {}, ['Event', 'Status', 'Attempts', 'Updated', 'Action'].map((c2) => h('th', { scope: 'col', text: c2 })))]),
          h('tbody', {}, nodes.map((n) => deliveryRow(d, n, err, done))),
        ]),
      );
    },
    (e) => say(err, messageOfError(e)),
  );
}
