/**
 * The audit log of a group, a project or the instance: filters and page in the URL (log/filters),
 * totals from the X-Total headers, rows that open to their full details (log/row, log/details),
 * times in UTC or the viewer's zone, and the CSV export of the filtered log.
 */
import { ApiFailure, authHeaders, getToken, messageOf, readBody, rest } from '../api';
import { clear, enc, h, messageOfError, region, say } from '../dom';
import { FilterError, apiFilters, filterForm, urlOfView, viewFromUrl, type LogView } from '../log/filters';
import { eventRow } from '../log/row';
import { useViewStyles } from '../styles';
import { zoneToggle } from '../time';
import type { AuditEvent, Scope } from '../types';

const PER_PAGE = 20;

function logEndpoint(scope: Scope): string {
  if (scope.kind === 'group') return `/api/v4/groups/${enc(scope.path)}/audit_events`;
  if (scope.kind === 'project') return `/api/v4/projects/${enc(scope.path)}/audit_events`;
  return '/api/v4/audit_events';
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

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

export function renderLog(panel: HTMLElement, scope: Scope): void {
  useViewStyles();
  const filterErr = region('error');
  const filters = filterForm(scope, []);
  const csvBtn = h('button', { type: 'button', class: 'secondary' }, ['Download CSV']);
  const csvErr = region('error');
  const csvStatus = region('status');
  const tbody = h('tbody');
  const table = h('table', { class: 'log-table' }, [
    h('caption', { text: 'Audit events, newest first' }),
    h('thead', {}, [h('tr', {}, ['Author', 'Action', 'Target', 'At', 'Details'].map((c) => h('th', { scope: 'col', text: c })))]),
    tbody,
  ]);
  const prev = h('button', { type: 'button', class: 'secondary', disabled: true }, ['Previous']);
  const next = h('button', { type: 'button', class: 'secondary', disabled: true }, ['Next']);
  const pageStatus = region('status');
  const totals = h('p', { class: 'hint totals', 'aria-live': 'polite' });
  const loadErr = region('error');
  panel.append(
    h('h2', { text: 'Log' }), filters.form, filterErr, h('div', { class: 'toolbar' }, [csvBtn, zoneToggle()]), csvErr, csvStatus, loadErr,
    totals, table, h('nav', { class: 'pager', 'aria-label': 'Audit log pages' }, [prev, next]), pageStatus,
  );

  let view: LogView = viewFromUrl();
  let loading = 0;
  const load = async () => {
    const mine = ++loading;
    say(loadErr, '');
    say(filterErr, '');
    prev.disabled = true;
    next.disabled = true;
    table.setAttribute('aria-busy', 'true');
    try {
      const p = await apiFilters(view, scope);
      p.set('page', String(view.page));
      p.set('per_page', String(PER_PAGE));
      const r = await rest<AuditEvent[]>(`${logEndpoint(scope)}?${p.toString()}`);
      if (mine !== loading) return;
      clear(tbody);
      const events = Array.isArray(r.body) ? r.body : [];
      for (const ev of events) tbody.appendChild(eventRow(ev));
      if (!events.length) tbody.appendChild(h('tr', {}, [h('td', { colspan: '5', text: 'No events match.' })]));
      const total = Number(r.response.headers.get('X-Total') || events.length);
      const pages = Number(r.response.headers.get('X-Total-Pages') || 1);
      next.disabled = !r.response.headers.get('X-Next-Page');
      prev.disabled = view.page <= 1;
      say(totals, `${plural(total, 'event')} in total, ${plural(pages, 'page')}.`);
      say(pageStatus, `Page ${view.page}, ${events.length} events.`);
    } catch (e) {
      if (mine !== loading) return;
      clear(tbody);
      say(totals, '');
      say(pageStatus, '');
      const message = messageOfError(e);
      if (e instanceof FilterError) say(filterErr, message);
      else say(loadErr, e instanceof ApiFailure && e.status === 401 && !getToken() ? `Sign in to read the audit log (${message}).` : message);
      prev.disabled = view.page <= 1;
    }
    table.removeAttribute('aria-busy');
  };
  /** Show another view: a new history entry (Back returns to the previous view), then load it. */
  const go = (v: LogView) => {
    view = v;
    const url = urlOfView(v);
    if (url !== location.pathname + location.search + location.hash) history.pushState({ auditLog: true }, '', url);
    void load();
  };
  filters.form.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = filters.read();
    if (v.from && v.to && v.from > v.to) {
      say(filterErr, 'From must be on or before To.');
      filters.from.focus();
      return;
    }
    go(v);
  });
  next.addEventListener('click', () => go({ ...view, page: view.page + 1 }));
  prev.addEventListener('click', () => go({ ...view, page: Math.max(1, view.page - 1) }));
  window.addEventListener('popstate', () => {
    view = viewFromUrl();
    filters.show(view);
    void load();
  });
  csvBtn.addEventListener('click', async () => {
    say(csvErr, '');
    say(csvStatus, 'Preparing the CSV…');
    csvBtn.disabled = true;
    try {
      const qs = (await apiFilters(view, scope)).toString();
      const name = await downloadCsv(logEndpoint(scope) + (qs ? `?${qs}` : ''));
      say(csvStatus, `Downloaded ${name}.`);
    } catch (e) {
      say(csvStatus, '');
      say(csvErr, messageOfError(e));
    }
    csvBtn.disabled = false;
  });
  filters.show(view);
  void load();
}
