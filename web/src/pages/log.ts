/** The audit log of a group, a project or the instance: filters, keyset pages, and the CSV export. */
import { ApiFailure, authHeaders, getToken, messageOf, readBody, rest } from '../api';
import { clear, enc, h, messageOfError, nextId, region, say, timeEl } from '../dom';
import type { AuditEvent, Scope } from '../types';

function logEndpoint(scope: Scope): string {
  if (scope.kind === 'group') return `/api/v4/groups/${enc(scope.path)}/audit_events`;
  if (scope.kind === 'project') return `/api/v4/projects/${enc(scope.path)}/audit_events`;
  return '/api/v4/audit_events';
}

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
const present = (v: unknown) => v !== undefined && v !== null;

/** The Action column: GitLab's custom message, or its change text ("Changed X from A to B"). */
function actionOf(ev: AuditEvent): string {
  const d = ev.details || {};
  if (d.custom_message) return String(d.custom_message);
  if (d.change) return `Changed ${show(d.change)}${present(d.from) ? ` from ${show(d.from)}` : ''}${present(d.to) ? ` to ${show(d.to)}` : ''}`;
  if (d.add) return `Added ${show(d.add)}${d.as ? ` as ${show(d.as)}` : ''}`;
  if (d.remove) return `Removed ${show(d.remove)}`;
  return String(ev.event_type || '');
}

/** GitLab's REST entity keeps target_* and entity_path inside details; accept both places. */
function field(ev: AuditEvent, name: keyof AuditEvent & string): unknown {
  const own = ev[name];
  if (own !== undefined && own !== null && own !== '') return own;
  const inDetails = ev.details?.[name];
  return inDetails !== undefined && inDetails !== null ? inDetails : '';
}

function targetOf(ev: AuditEvent): string {
  const details = field(ev, 'target_details');
  if (details !== '') return String(details);
  const type = field(ev, 'target_type');
  const id = field(ev, 'target_id');
  return type ? `${String(type)}${id !== '' ? ` ${String(id)}` : ''}` : '';
}

function authorOf(ev: AuditEvent): string {
  const fromDetails = ev.details?.author_name;
  if (fromDetails) return String(fromDetails);
  return ev.author_name || (ev.author_id !== undefined ? `User ${ev.author_id}` : '');
}

function eventRow(ev: AuditEvent): HTMLTableRowElement {
  const entityPath = field(ev, 'entity_path');
  return h('tr', { 'data-event-id': ev.id }, [
    h('td', { 'data-label': 'Author', text: authorOf(ev) }),
    h('td', { 'data-label': 'Action' }, [actionOf(ev), h('br'), h('span', { class: 'hint', text: ev.event_type || '' })]),
    h('td', { 'data-label': 'Target' }, [targetOf(ev), entityPath ? h('br') : null, entityPath ? h('span', { class: 'hint', text: String(entityPath) }) : null]),
    h('td', { 'data-label': 'At' }, [timeEl(ev.created_at)]),
  ]);
}

/** Download the CSV of the filtered log with the token (a navigation could not send it). */
async function downloadCsv(url: string): Promise<string> {
  const res = await fetch(url, { headers: authHeaders({ Accept: 'text/csv' }), credentials: 'omit' });
  if (!res.ok) throw new ApiFailure(messageOf(await readBody(res), res.status), res.status);
  const m = /filename="?([^";]+)"?/.exec(res.headers.get('Content-Disposition') || '');
  const name = m ? m[1]! : 'audit_events.csv';
  const blobUrl = URL.createObjectURL(await res.blob());
  const a = h('a', { href: blobUrl, download: name, hidden: true });
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(blobUrl), 10000);
  return name;
}

export function renderLog(panel: HTMLElement, scope: Scope): void {
  const idFrom = nextId('from');
  const idTo = nextId('to');
  const idType = nextId('type');
  const from = h('input', { id: idFrom, type: 'date', name: 'created_after' });
  const to = h('input', { id: idTo, type: 'date', name: 'created_before' });
  const type = h('input', { id: idType, type: 'text', name: 'event_type', list: 'event-types', autocomplete: 'off', placeholder: 'any' });
  const filterErr = region('error');
  const form = h('form', { class: 'toolbar', role: 'search', 'aria-label': 'Filter audit events', novalidate: true }, [
    h('div', { class: 'field' }, [h('label', { for: idFrom, text: 'From' }), from]),
    h('div', { class: 'field' }, [h('label', { for: idTo, text: 'To' }), to]),
    h('div', { class: 'field' }, [h('label', { for: idType, text: 'Event type' }), type]),
    h('button', { type: 'submit' }, ['Apply filters']),
  ]);
  const csvBtn = h('button', { type: 'button', class: 'secondary' }, ['Download CSV']);
  const csvErr = region('error');
  const csvStatus = region('status');
  const tbody = h('tbody');
  const table = h('table', { class: 'log-table' }, [
    h('caption', { text: 'Audit events, newest first' }),
    h('thead', {}, [h('tr', {}, ['Author', 'Action', 'Target', 'At'].map((c) => h('th', { scope: 'col', text: c })))]),
    tbody,
  ]);
  const prev = h('button', { type: 'button', class: 'secondary', disabled: true }, ['Previous']);
  const next = h('button', { type: 'button', class: 'secondary', disabled: true }, ['Next']);
  const pageStatus = region('status');
  const loadErr = region('error');
  panel.append(
    h('h2', { text: 'Log' }), form, filterErr, h('div', { class: 'toolbar' }, [csvBtn]), csvErr, csvStatus, loadErr, table,
    h('nav', { class: 'pager', 'aria-label': 'Audit log pages' }, [prev, next]), pageStatus,
  );

  let pages: string[] = [];
  let index = 0;
  let nextUrl: string | null = null;
  const filterParams = () => {
    const p = new URLSearchParams();
    if (from.value) p.set('created_after', new Date(`${from.value}T00:00:00`).toISOString());
    if (to.value) p.set('created_before', new Date(`${to.value}T23:59:59.999`).toISOString());
    if (type.value.trim()) p.set('event_type', type.value.trim());
    return p;
  };
  const firstPage = () => {
    const p = filterParams();
    p.set('pagination', 'keyset');
    p.set('order_by', 'id');
    p.set('sort', 'desc');
    p.set('per_page', '20');
    return `${logEndpoint(scope)}?${p.toString()}`;
  };
  const sameOrigin = (link: string) => {
    const u = new URL(link, location.origin);
    return u.pathname + u.search;
  };
  const load = async (url: string) => {
    say(loadErr, '');
    prev.disabled = true;
    next.disabled = true;
    table.setAttribute('aria-busy', 'true');
    try {
      const r = await rest<AuditEvent[]>(url);
      clear(tbody);
      const events = Array.isArray(r.body) ? r.body : [];
      for (const ev of events) tbody.appendChild(eventRow(ev));
      if (!events.length) tbody.appendChild(h('tr', {}, [h('td', { colspan: '4', text: 'No events match.' })]));
      const m = /<([^>]+)>\s*;\s*rel="next"/.exec(r.response.headers.get('Link') || '');
      nextUrl = m ? sameOrigin(m[1]!) : null;
      next.disabled = !nextUrl;
      prev.disabled = index === 0;
      say(pageStatus, `Page ${index + 1}, ${events.length} events.`);
    } catch (e) {
      clear(tbody);
      const message = messageOfError(e);
      say(loadErr, e instanceof ApiFailure && e.status === 401 && !getToken() ? `Sign in to read the audit log (${message}).` : message);
      prev.disabled = index === 0;
    }
    table.removeAttribute('aria-busy');
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    say(filterErr, '');
    if (from.value && to.value && from.value > to.value) {
      say(filterErr, 'From must be on or before To.');
      from.focus();
      return;
    }
    pages = [firstPage()];
    index = 0;
    void load(pages[0]!);
  });
  next.addEventListener('click', () => {
    if (!nextUrl) return;
    pages = pages.slice(0, index + 1);
    pages.push(nextUrl);
    index += 1;
    void load(pages[index]!);
  });
  prev.addEventListener('click', () => {
    if (index === 0) return;
    index -= 1;
    void load(pages[index]!);
  });
  csvBtn.addEventListener('click', async () => {
    say(csvErr, '');
    say(csvStatus, 'Preparing the CSV…');
    csvBtn.disabled = true;
    const qs = filterParams().toString();
    try {
      const name = await downloadCsv(logEndpoint(scope) + (qs ? `?${qs}` : ''));
      say(csvStatus, `Downloaded ${name}.`);
    } catch (e) {
      say(csvStatus, '');
      say(csvErr, messageOfError(e));
    }
    csvBtn.disabled = false;
  });
  pages = [firstPage()];
  void load(pages[0]!);
}
