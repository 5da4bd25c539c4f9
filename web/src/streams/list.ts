/** The Streams tab: the destinations of a group or of the instance, as cards with their secrets, actions and deliveries. */
import { gql, mutate } from '../api';
import { clear, h, messageOfError, nextId, region, say } from '../dom';
import type { Destination } from '../types';
import { STREAMS } from './config';
import { confirmDelete } from './confirm';
import type { StreamsContext } from './context';
import { loadDeliveries } from './delivery_log';
import { openForm } from './form';

/** A secret shown on request, with a copy button. */
function secretRow(label: string, value: string | undefined, extra: HTMLElement | null = null): HTMLElement {
  const lower = label.toLowerCase();
  const code = h('code', { hidden: true, text: value || '', id: nextId('secret') });
  const status = region('status');
  const reveal = h('button', { type: 'button', class: 'secondary', 'aria-expanded': 'false', 'aria-controls': code.id }, [`Reveal ${lower}`]);
  const copy = h('button', { type: 'button', class: 'secondary' }, [`Copy ${lower}`]);
  reveal.addEventListener('click', () => {
    const shown = code.hidden;
    code.hidden = !shown;
    reveal.setAttribute('aria-expanded', shown ? 'true' : 'false');
    reveal.textContent = `${shown ? 'Hide' : 'Reveal'} ${lower}`;
  });
  copy.addEventListener('click', () => {
    say(status, '');
    if (!navigator.clipboard) {
      status.className = 'error';
      say(status, 'The clipboard is not available; reveal the value and copy it by hand.');
      return;
    }
    navigator.clipboard.writeText(value || '').then(
      () => {
        status.className = 'status';
        say(status, `${label} copied to the clipboard.`);
      },
      (e) => {
        status.className = 'error';
        say(status, `Could not copy: ${messageOfError(e)}`);
      },
    );
  });
  return h('div', { class: 'secret' }, [h('strong', { text: `${label}:` }), code, reveal, copy, extra, status]);
}

/** Run a destination mutation from its card: errors in the card, else reload the list and report. */
async function act(ctx: StreamsContext, err: HTMLElement, mutation: string, input: Record<string, unknown>, done: () => void): Promise<void> {
  say(err, '');
  try {
    const p = await mutate(mutation, input);
    if (p.errors.length) {
      say(err, p.errors.join('; '));
      return;
    }
    await ctx.reload();
    done();
  } catch (e) {
    say(err, messageOfError(e));
  }
}

function renderDestination(ctx: StreamsContext, d: Destination): HTMLElement {
  const { cfg } = ctx;
  const err = region('error');
  const status = region('status');
  const filters = d.eventTypeFilters || [];
  const headers = d.headers?.nodes || [];
  const title = h('h3', {}, [d.name || '']);
  if (filters.length) title.appendChild(h('span', { class: 'badge filtered', text: 'Filtered' }));
  if (!d.active) title.appendChild(h('span', { class: 'badge inactive', text: 'Inactive' }));
  const edit = h('button', { type: 'button', class: 'secondary' }, ['Edit']);
  const del = h('button', { type: 'button', class: 'danger' }, ['Delete']);
  const deliveries = h('div', { hidden: true, id: nextId('deliveries') });
  const deliveriesBtn = h('button', { type: 'button', class: 'secondary', 'aria-expanded': 'false', 'aria-controls': deliveries.id }, ['Recent deliveries']);
  const rotate = h('button', { type: 'button', class: 'secondary' }, ['Rotate signing secret']);
  rotate.addEventListener('click', () =>
    void act(ctx, err, cfg.rotate, { destinationId: d.id }, () =>
      say(ctx.listStatus, `Signing secret of ${d.name} rotated; the previous one still signs for a while.`),
    ),
  );
  const headerText = `${headers.length} custom header${headers.length === 1 ? '' : 's'}${headers.length ? `: ${headers.map((x) => x.key).join(', ')}` : ''}`;
  const card = h('li', { class: 'card', 'data-destination-id': d.id }, [
    title,
    h('p', { class: 'meta' }, [h('span', { class: 'visually-hidden', text: 'URL: ' }), d.destinationUrl || '']),
    filters.length ? h('p', { text: `Event types: ${filters.join(', ')}` }) : h('p', { class: 'hint', text: 'All event types' }),
    h('p', { class: 'hint', text: headerText }),
    secretRow('Verification token', d.verificationToken),
    d.signingSecret !== undefined ? secretRow('Signing secret', d.signingSecret, rotate) : null,
    h('div', { class: 'actions' }, [edit, del, deliveriesBtn]),
    err,
    status,
    deliveries,
  ]);
  edit.addEventListener('click', () => openForm(ctx, d, edit));
  del.addEventListener('click', async () => {
    const yes = await confirmDelete(`Delete "${d.name || ''}" (${d.destinationUrl || ''})? Events stop streaming to it.`, del);
    if (!yes) return;
    await act(ctx, err, cfg.destroy, { id: d.id }, () => {
      say(ctx.listStatus, `Destination ${d.name || ''} deleted.`);
      ctx.addBtn.focus();
    });
  });
  deliveriesBtn.addEventListener('click', () => {
    const open = deliveries.hidden;
    deliveries.hidden = !open;
    deliveriesBtn.setAttribute('aria-expanded', open ? 'true' : 'false');
    if (open) loadDeliveries(ctx, d, deliveries);
  });
  return card;
}

export function renderStreams(panel: HTMLElement, scope: StreamsContext['scope']): void {
  const listErr = region('error');
  const list = h('ul', { class: 'cards', 'aria-label': 'Streaming destinations' });
  const ctx: StreamsContext = {
    scope,
    cfg: STREAMS[scope.kind],
    listStatus: region('status'),
    addBtn: h('button', { type: 'button' }, ['Add streaming destination']),
    formHost: h('div'),
    reload: async () => {
      say(listErr, '');
      try {
        const data = await gql(ctx.cfg.list, scope.kind === 'group' ? { fullPath: scope.path } : {});
        const nodes = ctx.cfg.nodes(data);
        clear(list);
        if (!nodes) {
          say(listErr, 'The group was not found, or you cannot manage its streams.');
          return;
        }
        for (const d of nodes) list.appendChild(renderDestination(ctx, d));
        if (!nodes.length) list.appendChild(h('li', { class: 'hint', text: 'No streaming destinations yet.' }));
      } catch (e) {
        clear(list);
        say(listErr, messageOfError(e));
      }
    },
  };
  panel.append(
    h('h2', { text: 'Streams' }),
    h('p', { class: 'hint', text: 'Every audit event is sent as a signed HTTP POST to each active destination (only the selected event types when a destination is filtered).' }),
    h('div', { class: 'toolbar' }, [ctx.addBtn]),
    ctx.listStatus,
    ctx.formHost,
    listErr,
    list,
  );
  ctx.addBtn.addEventListener('click', () => openForm(ctx, null, ctx.addBtn));
  void ctx.reload();
}
