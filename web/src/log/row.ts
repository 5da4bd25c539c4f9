/**
 * One row of the audit log (Author, Action, Target, At, and a Details button that opens the
 * event's full details in a row of its own below it).
 */
import { h } from '../dom';
import { zonedTime } from '../time';
import type { AuditEvent } from '../types';
import { changesOf, eventDetails, shown } from './details';

const present = (v: unknown) => v !== undefined && v !== null && v !== '';

/** The Action column: GitLab's custom message, or its change text ("Changed X from A to B"). */
export function actionOf(ev: AuditEvent): string {
  const d = ev.details || {};
  if (d.custom_message) return String(d.custom_message);
  const changes = changesOf(d);
  if (changes.length) {
    return changes.map((c) => `Changed ${c.field}${present(c.from) ? ` from ${shown(c.from)}` : ''}${present(c.to) ? ` to ${shown(c.to)}` : ''}`).join('; ');
  }
  if (d.add) return `Added ${shown(d.add)}${d.as ? ` as ${shown(d.as)}` : ''}`;
  if (d.remove) return `Removed ${shown(d.remove)}`;
  return String(ev.event_type || '');
}

/** GitLab's REST entity keeps target_* and entity_path inside details; accept both places. */
function field(ev: AuditEvent, name: keyof AuditEvent & string): unknown {
  const own = ev[name];
  if (own !== undefined && own !== null && own !== '') return own;
  const inDetails = ev.details?.[name];
  return inDetails !== undefined && inDetails !== null ? inDetails : '';
}

export function targetOf(ev: AuditEvent): string {
  const details = field(ev, 'target_details');
  if (details !== '') return String(details);
  const type = field(ev, 'target_type');
  const id = field(ev, 'target_id');
  return type ? `${String(type)}${id !== '' ? ` ${String(id)}` : ''}` : '';
}

export function authorOf(ev: AuditEvent): string {
  const fromDetails = ev.details?.author_name;
  if (fromDetails) return String(fromDetails);
  return ev.author_name || (ev.author_id !== undefined ? `User ${ev.author_id}` : '');
}

/** The event's row; its Details button inserts (and removes) the details row after it. */
export function eventRow(ev: AuditEvent): HTMLTableRowElement {
  const entityPath = field(ev, 'entity_path');
  const author = authorOf(ev);
  const target = targetOf(ev);
  const detailsId = `event-details-${ev.id}`;
  const toggle = h('button', { type: 'button', class: 'secondary', 'aria-expanded': 'false', 'aria-controls': detailsId, 'aria-label': `Details of event ${ev.id}` }, ['Details']);
  const row = h('tr', { 'data-event-id': ev.id }, [
    h('td', { 'data-label': 'Author', text: author }),
    h('td', { 'data-label': 'Action' }, [actionOf(ev), h('br'), h('span', { class: 'hint', text: ev.event_type || '' })]),
    h('td', { 'data-label': 'Target' }, [target, entityPath ? h('br') : null, entityPath ? h('span', { class: 'hint', text: String(entityPath) }) : null]),
    h('td', { 'data-label': 'At' }, [zonedTime(ev.created_at)]),
    h('td', { 'data-label': 'Details' }, [toggle]),
  ]);
  let detailsRow: HTMLTableRowElement | null = null;
  toggle.addEventListener('click', () => {
    if (detailsRow) {
      detailsRow.remove();
      detailsRow = null;
      toggle.setAttribute('aria-expanded', 'false');
      return;
    }
    detailsRow = h('tr', { class: 'details-row', id: detailsId, 'data-details-of': ev.id }, [
      h('td', { colspan: '5' }, [eventDetails(ev, author, target)]),
    ]);
    row.after(detailsRow);
    toggle.setAttribute('aria-expanded', 'true');
  });
  return row;
}
