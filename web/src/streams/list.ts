/**
 * The Streams tab: the destinations of a group or of the instance, of every category (GitLab 18's
 * consolidated list), as cards with their health, secrets, actions and deliveries.
 */
import { gql, mutate } from '../api';
import { clear, h, messageOfError, nextId, region, say } from '../dom';
import type { Destination, StreamingDestination } from '../types';
import { cardActions } from './actions';
import { openAddForm } from './add';
import { openCloudForm } from './cloud_form';
import { rowIdOf, STREAMS } from './config';
import { confirmDelete } from './confirm';
import type { StreamsContext } from './context';
import { loadDeliveries } from './delivery_log';
import { openForm } from './form';
import { healthView } from './health';

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

const CATEGORY_NAMES: Record<StreamingDestination['category'], string> = { http: 'HTTP', aws: 'Amazon S3', gcp: 'Google Cloud Logging' };

/** Where a destination sends, in one line: its URL, bucket or log. */
export function targetOf(d: StreamingDestination): string {
  const c = d.config as Record<string, string>;
  if (d.category === 'aws') return `s3://${c.bucketName || ''} in ${c.awsRegion || ''} (access key ID ${c.accessKeyXid || ''})`;
  if (d.category === 'gcp') return `projects/${c.googleProjectIdName || ''}/logs/${c.logIdName || ''} as ${c.clientEmail || ''}`;
  return c.url || '';
}

/**
 * A destination's card: category, state and health at a glance, its filters, its actions, and
 * for http destinations the legacy API's secrets and headers (`legacy`: the same row).
 */
function renderDestination(ctx: StreamsContext, d: StreamingDestination, legacy: Destination | null): HTMLElement {
  const { cfg } = ctx;
  const err = region('error');
  const status = region('status');
  const filters = d.eventTypeFilters || [];
  const namespaces = (d.namespaceFilters || []).map((f) => f.namespace.fullPath);
  const title = h('h3', {}, [d.name || '', h('span', { class: 'badge', 'data-category': d.category, text: CATEGORY_NAMES[d.category] || d.category })]);
  if (filters.length || namespaces.length) title.appendChild(h('span', { class: 'badge filtered', text: 'Filtered' }));
  title.appendChild(d.active ? h('span', { class: 'badge delivered', text: 'Active' }) : h('span', { class: 'badge inactive', text: 'Paused (inactive)' }));
  const edit = h('button', { type: 'button', class: 'secondary' }, ['Edit']);
  const del = h('button', { type: 'button', class: 'danger' }, ['Delete']);
  const deliveries = h('div', { hidden: true, id: nextId('deliveries') });
  const deliveriesBtn = h('button', { type: 'button', class: 'secondary', 'aria-expanded': 'false', 'aria-controls': deliveries.id }, ['Recent deliveries']);
  const secrets: HTMLElement[] = [];
  if (legacy) {
    const headers = legacy.headers?.nodes || [];
    const rotate = h('button', { type: 'button', class: 'secondary' }, ['Rotate signing secret']);
    // Rotation is the legacy API's (GitLab 18 has none): the legacy GID of the same row.
    rotate.addEventListener('click', () =>
      void act(ctx, err, cfg.rotate, { destinationId: legacy.id }, () =>
        say(ctx.listStatus, `Signing secret of ${d.name} rotated; the previous one still signs for a while.`),
      ),
    );
    secrets.push(
      h('p', { class: 'hint', text: `${headers.length} custom header${headers.length === 1 ? '' : 's'}${headers.length ? `: ${headers.map((x) => x.key).join(', ')}` : ''}` }),
      secretRow('Verification token', legacy.verificationToken),
    );
    if (legacy.signingSecret !== undefined) secrets.push(secretRow('Signing secret', legacy.signingSecret, rotate));
  }
  const target = targetOf(d);
  // The legacy GID for http destinations (what the legacy API and older scripts name), else the consolidated one.
  const card = h('li', { class: 'card', 'data-destination-id': legacy ? legacy.id : d.id, 'data-category': d.category }, [
    title,
    h('p', { class: 'meta' }, [h('span', { class: 'visually-hidden', text: d.category === 'http' ? 'URL: ' : 'Sends to: ' }), target]),
    filters.length ? h('p', { text: `Event types: ${filters.join(', ')}` }) : h('p', { class: 'hint', text: 'All event types' }),
    namespaces.length ? h('p', { text: `Namespaces: ${namespaces.join(', ')}` }) : null,
    healthView(d.health),
    ...secrets,
    h('div', { class: 'actions' }, [edit, ...cardActions(ctx, d, err, status), del, deliveriesBtn]),
    err,
    status,
    deliveries,
  ]);
  edit.addEventListener('click', () => (legacy ? openForm(ctx, legacy, edit, null, d) : openCloudForm(ctx, d.category, d, edit)));
  del.addEventListener('click', async () => {
    const yes = await confirmDelete(`Delete "${d.name || ''}" (${target})? Events stop streaming to it.`, del);
    if (!yes) return;
    // An http destination through the legacy API, as it was made (its event: destroy_event_streaming_destination).
    const [mutation, id] = legacy ? [cfg.destroy, legacy.id] : [cfg.cons.destroy, d.id];
    await act(ctx, err, mutation, { id }, () => {
      say(ctx.listStatus, `Destination ${d.name || ''} deleted.`);
      ctx.addBtn.focus();
    });
  });
  deliveriesBtn.addEventListener('click', () => {
    const open = deliveries.hidden;
    deliveries.hidden = !open;
    deliveriesBtn.setAttribute('aria-expanded', open ? 'true' : 'false');
    if (open) loadDeliveries(ctx, { id: d.id, name: d.name }, deliveries);
  });
  return card;
}

export function renderStreams(panel: HTMLElement, scope: StreamsContext['scope']): void {
  const listErr = region('error');
  const list = h('ul', { class: 'cards', 'aria-label': 'Streaming destinations' });
  // The health of each destination as of now (the cards do not poll; the delivery log does).
  const reloadBtn = h('button', { type: 'button', class: 'secondary' }, ['Reload destinations']);
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
        const legacy = new Map(ctx.cfg.legacyNodes(data).map((x) => [rowIdOf(x.id), x]));
        for (const d of nodes) list.appendChild(renderDestination(ctx, d, d.category === 'http' ? legacy.get(rowIdOf(d.id)) ?? null : null));
        if (!nodes.length) list.appendChild(h('li', { class: 'hint', text: 'No streaming destinations yet.' }));
      } catch (e) {
        clear(list);
        say(listErr, messageOfError(e));
      }
    },
  };
  panel.append(
    h('h2', { text: 'Streams' }),
    h('p', {
      class: 'hint',
      text: 'Every audit event goes to each destination: a signed HTTP POST (http), one object in an S3 bucket (aws) or one Cloud Logging entry (gcp); only the selected event types and namespaces when a destination is filtered. A paused destination keeps its events until it is resumed.',
    }),
    h('div', { class: 'toolbar' }, [ctx.addBtn, reloadBtn]),
    ctx.listStatus,
    ctx.formHost,
    listErr,
    list,
  );
  ctx.addBtn.addEventListener('click', () => openAddForm(ctx, 'http', ctx.addBtn));
  reloadBtn.addEventListener('click', async () => {
    reloadBtn.disabled = true;
    await ctx.reload();
    reloadBtn.disabled = false;
    say(ctx.listStatus, 'Destinations and their health reloaded.');
  });
  void ctx.reload();
}
