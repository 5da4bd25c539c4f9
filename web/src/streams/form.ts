/**
 * The add/edit form of a streaming destination: URL, name, verification token, active, up to 20
 * custom headers and event type filters. Saved by GitLab's mutations, one step after another;
 * the API's errors are shown next to the field they are about.
 */
import { mutate, type Payload } from '../api';
import { clear, h, messageOfError, nextId, region, say } from '../dom';
import type { Destination, StreamingDestination, StreamingHeader } from '../types';
import { typeCheckboxes } from '../event_types';
import { DEST_FIELDS, HEADER_LIMIT, HEADER_LIMIT_MESSAGE, rowIdOf } from './config';
import type { StreamsContext } from './context';
import { filtersFieldset, formCloser } from './form_parts';
import { namespaceFilterField } from './namespace_filters';

interface HeaderRow {
  id: string | null;
  orig: Pick<StreamingHeader, 'key' | 'value' | 'active'> | null;
  key: HTMLInputElement;
  value: HTMLInputElement;
  active: HTMLInputElement;
  remove: HTMLButtonElement;
  err: HTMLElement;
  tr: HTMLTableRowElement;
}

/** A save step that failed with errors already shown next to their fields (nothing more to say). */
class Shown extends Error {}

const unchanged = (r: HeaderRow) => r.orig && r.orig.key === r.key.value && r.orig.value === r.value.value && !!r.orig.active === r.active.checked;
const append = (el: HTMLElement, errors: string[]) => say(el, (el.textContent ? `${el.textContent}; ` : '') + errors.join('; '));

/**
 * Open the form: `dest` null adds a destination, otherwise edits it. Focus returns to `opener` when
 * it closes. `picker` (adding only) switches to another category's form; `streaming` is the same
 * destination as the consolidated API lists it (its namespace filters).
 */
export function openForm(
  ctx: StreamsContext,
  dest: Destination | null,
  opener: HTMLElement | null,
  picker: HTMLElement | null = null,
  streaming: StreamingDestination | null = null,
): void {
  const { cfg, scope, formHost, addBtn } = ctx;
  clear(formHost);
  addBtn.disabled = true;
  const state: { dest: Destination | null } = { dest };
  const formErr = region('error');
  const ids = { url: nextId('dest-url'), name: nextId('dest-name'), token: nextId('dest-token'), active: nextId('dest-active') };
  const [urlErr, nameErr, tokenErr, headersErr, filtersErr] = [region('error'), region('error'), region('error'), region('error'), region('error')];
  const url = h('input', { id: ids.url, type: 'text', inputmode: 'url', autocomplete: 'off', value: dest ? dest.destinationUrl : '', 'aria-describedby': urlErr.id, required: true });
  const name = h('input', { id: ids.name, type: 'text', autocomplete: 'off', value: dest ? dest.name : '', 'aria-describedby': `${ids.name}-hint ${nameErr.id}` });
  const token = h('input', { id: ids.token, type: 'text', autocomplete: 'off', spellcheck: 'false', 'aria-describedby': `${ids.token}-hint ${tokenErr.id}` });
  const active = h('input', { id: ids.active, type: 'checkbox', checked: dest ? !!dest.active : true });
  const heading = h('h3', { id: nextId('form-title') });
  /** The heading names the destination being edited, and where it sends. */
  const title = (d: Destination | null) => {
    clear(heading).append(...(d ? ['Edit destination ', h('q', { class: 'editing-name', text: d.name }), h('span', { class: 'hint', text: ` (${d.destinationUrl})` })] : ['Add streaming destination']));
  };
  title(dest);
  const rowsBody = h('tbody');
  const rows: HeaderRow[] = [];
  const removedHeaders: HeaderRow[] = [];
  const addHeader = h('button', { type: 'button', class: 'secondary' }, ['Add header']);

  const renumber = () =>
    rows.forEach((r, i) => {
      r.key.setAttribute('aria-label', `Header ${i + 1} key`);
      r.value.setAttribute('aria-label', `Header ${i + 1} value`);
      r.active.setAttribute('aria-label', `Header ${i + 1} active`);
      r.remove.setAttribute('aria-label', `Remove header ${i + 1}`);
    });
  const addRow = (hd: StreamingHeader | null): HeaderRow => {
    const err = region('error');
    const key = h('input', { type: 'text', autocomplete: 'off', value: hd ? hd.key : '', 'aria-describedby': err.id });
    const value = h('input', { type: 'text', autocomplete: 'off', value: hd ? hd.value : '' });
    const activeBox = h('input', { type: 'checkbox', checked: hd ? !!hd.active : true });
    const remove = h('button', { type: 'button', class: 'secondary' }, ['Remove']);
    const tr = h('tr', {}, [h('td', {}, [key, err]), h('td', {}, [value]), h('td', {}, [activeBox]), h('td', {}, [remove])]);
    const r: HeaderRow = { id: hd ? hd.id : null, orig: hd, key, value, active: activeBox, remove, err, tr };
    remove.addEventListener('click', () => {
      const i = rows.indexOf(r);
      rows.splice(i, 1);
      if (r.id) removedHeaders.push(r);
      r.tr.remove();
      say(headersErr, '');
      renumber();
      (rows[i] ? rows[i].key : rows[i - 1] ? rows[i - 1]!.key : addHeader).focus();
    });
    rows.push(r);
    rowsBody.appendChild(tr);
    renumber();
    return r;
  };
  addHeader.addEventListener('click', () => {
    // The same rule and words as the API: at most 20 headers per destination.
    if (rows.length >= HEADER_LIMIT) {
      say(headersErr, HEADER_LIMIT_MESSAGE);
      return;
    }
    say(headersErr, '');
    addRow(null).key.focus();
  });
  for (const hd of dest?.headers?.nodes || []) addRow(hd);
  const typeBoxes = typeCheckboxes(dest?.eventTypeFilters || []);
  const ns = namespaceFilterField(streaming?.namespaceFilters ?? null);
  const submit = h('button', { type: 'submit' }, [dest ? 'Save changes' : 'Add destination']);
  const cancel = h('button', { type: 'button', class: 'secondary' }, ['Cancel']);
  const tokenField = h('div', { class: 'field' }, [
    h('label', { for: ids.token, text: 'Verification token (optional)' }),
    h('span', { class: 'hint', id: `${ids.token}-hint`, text: '16 to 24 characters, sent as X-Gitlab-Event-Streaming-Token. Generated when left empty; it cannot be changed later.' }),
    token,
    tokenErr,
  ]);
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': heading.id }, [
    heading,
    picker,
    formErr,
    h('div', { class: 'field' }, [h('label', { for: ids.url, text: 'Destination URL' }), url, urlErr]),
    h('div', { class: 'field' }, [h('label', { for: ids.name, text: 'Name' }), h('span', { class: 'hint', id: `${ids.name}-hint`, text: 'Optional; at most 72 characters.' }), name, nameErr]),
    !dest && cfg.withTokenField ? tokenField : null,
    h('div', { class: 'field inline' }, [active, h('label', { for: ids.active, text: 'Active (events are streamed to this destination)' })]),
    h('fieldset', {}, [
      h('legend', { text: 'Custom HTTP headers (at most 20)' }),
      h('table', { class: 'headers-table' }, [h('thead', {}, [h('tr', {}, ['Key', 'Value', 'Active', ''].map((c) => h('th', { scope: 'col', text: c })))]), rowsBody]),
      h('div', { class: 'actions' }, [addHeader]),
      headersErr,
    ]),
    filtersFieldset(typeBoxes.element, filtersErr),
    ns.element,
    h('div', { class: 'actions' }, [submit, cancel]),
  ]);
  const close = formCloser(ctx, opener, cancel, () => !!state.dest && !dest);
  const placeDestErrors = (errors: string[]) => {
    for (const m of errors) {
      const target = /^(destination ?url|url)\b/i.test(m) ? urlErr : /^name\b/i.test(m) ? nameErr : /^verification token\b/i.test(m) ? tokenErr : formErr;
      target.textContent = target.textContent ? `${target.textContent}; ${m}` : m;
    }
  };

  let problems = false;
  /** Show a step's errors where they belong; the later steps still run. */
  const note = (errors: string[], where: (errors: string[]) => void) => {
    if (errors.length) {
      problems = true;
      where(errors);
    }
  };

  /** Create the destination, or update its own fields; a failure stops the save. */
  const saveDestination = async (): Promise<Destination> => {
    if (!state.dest) {
      const input: Record<string, unknown> = { destinationUrl: url.value };
      if (scope.kind === 'group') input.groupPath = scope.path;
      if (name.value.trim()) input.name = name.value;
      if (cfg.withTokenField && token.value !== '') input.verificationToken = token.value;
      // The filters go with the create (its one transaction), so a filtered destination never
      // receives an event outside them, its own creation event included.
      const filters = typeBoxes.checked();
      if (filters.length) input.eventTypeFilters = filters;
      const p = await mutate(cfg.create, input, `${cfg.result} { ${DEST_FIELDS} }`);
      if (p.errors.length) {
        placeDestErrors(p.errors);
        throw new Shown();
      }
      const created = p[cfg.result] as Destination;
      state.dest = created;
      return created;
    }
    const current = state.dest;
    const upd: Record<string, unknown> = { id: current.id };
    if (url.value !== current.destinationUrl) upd.destinationUrl = url.value;
    if (name.value !== current.name) upd.name = name.value;
    if (active.checked !== !!current.active) upd.active = active.checked;
    if (Object.keys(upd).length === 1) return current;
    const p = await mutate(cfg.update, upd, `${cfg.result} { ${DEST_FIELDS} }`);
    if (p.errors.length) {
      placeDestErrors(p.errors);
      throw new Shown();
    }
    state.dest = (p[cfg.result] as Destination | null) || current;
    return state.dest;
  };

  // Filters first: headers added afterwards record events the filter then already governs.
  const saveFilters = async (saved: Destination) => {
    const current = saved.eventTypeFilters || [];
    const wanted = typeBoxes.checked();
    const add = wanted.filter((t) => !current.includes(t));
    const remove = current.filter((t) => !wanted.includes(t));
    const showF = (x: string[]) => append(filtersErr, x);
    if (add.length) {
      const p = await mutate(cfg.eventsAdd, { destinationId: saved.id, eventTypeFilters: add }, 'eventTypeFilters');
      note(p.errors, showF);
      if (!p.errors.length) saved.eventTypeFilters = (p.eventTypeFilters as string[] | undefined) || current.concat(add);
    }
    if (remove.length) {
      const p = await mutate(cfg.eventsRemove, { destinationId: saved.id, eventTypeFilters: remove });
      note(p.errors, showF);
      if (!p.errors.length) saved.eventTypeFilters = (saved.eventTypeFilters || []).filter((t) => !remove.includes(t));
    }
  };

  const saveHeaders = async (saved: Destination) => {
    for (const r of removedHeaders.slice()) {
      const p = await mutate(cfg.headerDestroy, { headerId: r.id });
      if (p.errors.length) note(p.errors, (x) => say(headersErr, x.join('; ')));
      else removedHeaders.splice(removedHeaders.indexOf(r), 1);
    }
    for (const r of rows) {
      const shown = (x: string[]) => say(r.err, x.join('; '));
      const values = { key: r.key.value, value: r.value.value, active: r.active.checked };
      let p: Payload;
      if (!r.id) {
        p = await mutate(cfg.headerCreate, { destinationId: saved.id, ...values }, 'header { id key value active }');
        if (p.errors.length) {
          note(p.errors, /limited to/i.test(p.errors.join(' ')) ? (x) => say(headersErr, x.join('; ')) : shown);
          continue;
        }
        const header = p.header as StreamingHeader | null;
        r.id = header ? header.id : r.id;
      } else {
        if (unchanged(r)) continue;
        p = await mutate(cfg.headerUpdate, { headerId: r.id, ...values });
        if (p.errors.length) {
          note(p.errors, shown);
          continue;
        }
      }
      r.orig = values;
    }
  };

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    for (const r of [formErr, urlErr, nameErr, tokenErr, headersErr, filtersErr]) say(r, '');
    for (const r of rows) say(r.err, '');
    say(ns.err, '');
    if (!ns.check()) {
      ns.input.focus();
      return;
    }
    submit.disabled = true;
    problems = false;
    try {
      const creating = !state.dest;
      const saved = await saveDestination();
      await saveFilters(saved);
      // Namespace filters are the consolidated API's (GitLab 18), on the same row's consolidated GID.
      note(await ns.save(ctx, cfg.consolidatedGid(rowIdOf(saved.id))), () => undefined);
      // A new destination is deactivated after its filters are set, so that even the event of
      // its deactivation reaches it only through them.
      if (creating && !active.checked) {
        const p2 = await mutate(cfg.update, { id: saved.id, active: false });
        note(p2.errors, (x) => say(formErr, x.join('; ')));
      }
      await saveHeaders(saved);
      if (problems) {
        title(state.dest);
        submit.textContent = 'Save changes';
        if (tokenField.isConnected) tokenField.remove();
        if (!formErr.textContent) say(formErr, 'The destination is saved, but some changes were not: see the messages below.');
      } else {
        const verb = dest ? 'saved' : 'added';
        close();
        await ctx.reload();
        say(ctx.listStatus, `Destination ${saved.name || ''} ${verb}.`);
      }
    } catch (e2) {
      if (!(e2 instanceof Shown)) say(formErr, messageOfError(e2));
    }
    submit.disabled = false;
    const firstErr = form.querySelector('.error:not(:empty)');
    if (firstErr) {
      // Move focus to the field the first error is about (its container's input).
      const fieldInput = firstErr.parentElement?.querySelector('input');
      (fieldInput || submit).focus();
    }
  });
  formHost.appendChild(form);
  url.focus();
}
