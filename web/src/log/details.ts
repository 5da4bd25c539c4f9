/**
 * One audit event's full details, opened from its row: who, what, where, when, the request's
 * address, "what changed" as a from/to table, and every other detail the event carries.
 * The changes come in the shapes the API records them: GitLab's `change`/`from`/`to` in the
 * details, or a `changes` list of `{field|change, from, to}` (release and link updates).
 */
import { h } from '../dom';
import { typeInfo } from '../event_types';
import { zonedTime } from '../time';
import type { AuditEvent } from '../types';

export interface Change {
  field: string;
  from: unknown;
  to: unknown;
}

/** Every from/to change an event's details record. */
export function changesOf(details: Record<string, unknown> | undefined): Change[] {
  const d = details || {};
  const out: Change[] = [];
  if (d.change !== undefined && d.change !== null) out.push({ field: String(d.change), from: d.from, to: d.to });
  if (Array.isArray(d.changes)) {
    for (const c of d.changes) {
      if (!c || typeof c !== 'object') continue;
      const r = c as Record<string, unknown>;
      const field = r.field ?? r.change;
      if (field !== undefined && field !== null) out.push({ field: String(field), from: r.from, to: r.to });
    }
  }
  return out;
}

/**
 * A change value the server cut to its first 1 KB (`{truncated, length, sha256, prefix}`, see
 * README "Security"): the prefix, an ellipsis, the whole value's length and SHA-256.
 */
function truncatedText(v: unknown): string | null {
  if (!v || typeof v !== 'object') return null;
  const t = v as Record<string, unknown>;
  if (t.truncated !== true || typeof t.prefix !== 'string' || typeof t.length !== 'number' || typeof t.sha256 !== 'string') return null;
  return `${t.prefix}… (${t.length} characters, SHA-256 ${t.sha256})`;
}

/** A value as text: strings as they are, absent values as an em dash, cut values by their prefix, the rest as JSON. */
export function shown(v: unknown): string {
  if (v === undefined || v === null || v === '') return '—';
  return typeof v === 'string' ? v : truncatedText(v) ?? JSON.stringify(v);
}

/** Details keys the summary or the from/to table already shows. */
const SHOWN_ELSEWHERE = new Set(['change', 'from', 'to', 'changes', 'author_name', 'target_id', 'target_type', 'target_details', 'entity_path', 'ip_address', 'custom_message']);

function pair(term: string, value: Node | string): HTMLElement[] {
  return [h('dt', { text: term }), h('dd', {}, [value])];
}

/** The from/to table of an event's changes (null when it records none). */
export function changesTable(ev: AuditEvent): HTMLTableElement | null {
  const changes = changesOf(ev.details);
  if (!changes.length) return null;
  return h('table', { class: 'changes' }, [
    h('caption', { text: 'What changed' }),
    h('thead', {}, [h('tr', {}, ['Field', 'From', 'To'].map((c) => h('th', { scope: 'col', text: c })))]),
    h('tbody', {}, changes.map((c) =>
      h('tr', {}, [
        h('th', { scope: 'row', text: c.field }),
        h('td', { class: 'from', 'data-label': 'From', text: shown(c.from) }),
        h('td', { class: 'to', 'data-label': 'To', text: shown(c.to) }),
      ]),
    )),
  ]);
}

/** The details panel of an event (the content of its details row). */
export function eventDetails(ev: AuditEvent, author: string, target: string): HTMLElement {
  const d = ev.details || {};
  const type = typeInfo(ev.event_type || '');
  const entity = [ev.entity_type, ev.entity_id].filter((x) => x !== undefined && x !== null).join(' ');
  const summary = h('dl', { class: 'event-summary' }, [
    ...pair('Event', `#${ev.id}`),
    ...pair('Event type', h('span', {}, [type.title, ' ', h('code', { text: ev.event_type || '' })])),
    ...(d.custom_message ? pair('Message', String(d.custom_message)) : []),
    ...pair('Author', `${author}${ev.author_id !== undefined ? ` (user ${ev.author_id})` : ''}`),
    ...pair('Entity', `${entity}${d.entity_path ? ` · ${String(d.entity_path)}` : ''}`),
    ...(target ? pair('Target', target) : []),
    ...(d.ip_address ? pair('IP address', String(d.ip_address)) : []),
    ...pair('At', zonedTime(ev.created_at)),
  ]);
  const rest = Object.entries(d).filter(([k]) => !SHOWN_ELSEWHERE.has(k));
  const table = changesTable(ev);
  return h('div', { class: 'event-details' }, [
    summary,
    table ?? h('p', { class: 'hint', text: 'This event records no from/to change.' }),
    rest.length ? h('h4', { text: 'Other details' }) : null,
    rest.length ? h('dl', { class: 'event-summary' }, rest.flatMap(([k, v]) => pair(k, h('code', { text: shown(v) })))) : null,
  ]);
}
