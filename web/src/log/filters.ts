/**
 * The log's filters and page, kept in the page's URL (query string): dates, event type, author,
 * entity (the instance log only: the API filters groups' and projects' logs by no entity) and
 * the page number. Back and Forward move between views, and a bookmark reloads the same view.
 */
import { rest } from '../api';
import { enc, h, nextId } from '../dom';
import { dayBound } from '../time';
import type { Scope, User } from '../types';
import { typePicker } from './type_picker';

/** What the URL holds: the filters as typed, and the page (from 1). */
export interface LogView {
  from: string;
  to: string;
  type: string;
  author: string;
  entityType: string;
  entityId: string;
  page: number;
}

const KEYS: Array<[keyof Omit<LogView, 'page'>, string]> = [
  ['from', 'created_after'], ['to', 'created_before'], ['type', 'event_type'], ['author', 'author'], ['entityType', 'entity_type'], ['entityId', 'entity_id'],
];

/** GitLab's AuditEventFinder::VALID_ENTITY_TYPES, as the instance log filters by them. */
const ENTITY_TYPES = ['User', 'Group', 'Project', 'Gitlab::Audit::InstanceScope'];

/** The view the current URL names. */
export function viewFromUrl(): LogView {
  const q = new URLSearchParams(location.search);
  const page = Number(q.get('page'));
  const view = { page: Number.isSafeInteger(page) && page >= 1 ? page : 1 } as LogView;
  for (const [k, p] of KEYS) view[k] = q.get(p) || '';
  return view;
}

/** The URL of a view (this page's path and hash, the view in the query string). */
export function urlOfView(v: LogView): string {
  const q = new URLSearchParams();
  for (const [k, p] of KEYS) if (v[k]) q.set(p, v[k]);
  if (v.page > 1) q.set('page', String(v.page));
  const qs = q.toString();
  return `${location.pathname}${qs ? `?${qs}` : ''}${location.hash}`;
}

/** A clear error of the filter form (shown next to it; nothing is loaded). */
export class FilterError extends Error {}

const authorIds = new Map<string, number>();

/** The author filter's user id: a number as it is, a username (with or without @) looked up. */
async function authorId(author: string): Promise<number | undefined> {
  const a = author.trim().replace(/^@/, '');
  if (!a) return undefined;
  if (/^\d{1,15}$/.test(a)) return Number(a);
  const known = authorIds.get(a);
  if (known !== undefined) return known;
  const r = await rest<User[]>(`/api/v4/users?username=${enc(a)}`);
  const user = Array.isArray(r.body) ? r.body[0] : undefined;
  if (!user) throw new FilterError(`No user has the username @${a}.`);
  authorIds.set(a, user.id);
  return user.id;
}

/** The API's query parameters for a view's filters (page and sorting left out). */
export async function apiFilters(v: LogView, scope: Scope): Promise<URLSearchParams> {
  const p = new URLSearchParams();
  if (v.from && v.to && v.from > v.to) throw new FilterError('From must be on or before To.');
  if (v.from) p.set('created_after', dayBound(v.from, false));
  if (v.to) p.set('created_before', dayBound(v.to, true));
  if (v.type) p.set('event_type', v.type);
  const author = await authorId(v.author);
  if (author !== undefined) p.set('author_id', String(author));
  if (scope.kind === 'instance') {
    if (v.entityId && !v.entityType) throw new FilterError('Choose the entity type of the entity ID.');
    if (v.entityId && !/^\d{1,15}$/.test(v.entityId)) throw new FilterError('The entity ID is a number.');
    if (v.entityType) p.set('entity_type', v.entityType);
    if (v.entityId) p.set('entity_id', v.entityId);
  }
  return p;
}

export interface FilterForm {
  form: HTMLFormElement;
  /** The view the form describes (page 1). */
  read: () => LogView;
  /** Show a view's filters in the form. */
  show: (v: LogView) => void;
  from: HTMLInputElement;
}

export function filterForm(scope: Scope, extra: HTMLElement[]): FilterForm {
  const ids = { from: nextId('from'), to: nextId('to'), author: nextId('author'), entityType: nextId('entity-type'), entityId: nextId('entity-id') };
  const from = h('input', { id: ids.from, type: 'date', name: 'created_after' });
  const to = h('input', { id: ids.to, type: 'date', name: 'created_before' });
  const type = typePicker();
  const author = h('input', { id: ids.author, type: 'text', name: 'author', autocomplete: 'off', placeholder: 'username or id', spellcheck: 'false' });
  const entityType = h('select', { id: ids.entityType, name: 'entity_type' }, [h('option', { value: '', text: 'Any' }), ...ENTITY_TYPES.map((t) => h('option', { value: t, text: t }))]);
  const entityId = h('input', { id: ids.entityId, type: 'text', inputmode: 'numeric', name: 'entity_id', autocomplete: 'off' });
  const instance = scope.kind === 'instance';
  const form = h('form', { class: 'toolbar', role: 'search', 'aria-label': 'Filter audit events', novalidate: true }, [
    h('div', { class: 'field' }, [h('label', { for: ids.from, text: 'From' }), from]),
    h('div', { class: 'field' }, [h('label', { for: ids.to, text: 'To' }), to]),
    type.field,
    h('div', { class: 'field' }, [h('label', { for: ids.author, text: 'Author' }), author]),
    instance ? h('div', { class: 'field' }, [h('label', { for: ids.entityType, text: 'Entity type' }), entityType]) : null,
    instance ? h('div', { class: 'field' }, [h('label', { for: ids.entityId, text: 'Entity ID' }), entityId]) : null,
    h('button', { type: 'submit' }, ['Apply filters']),
    ...extra,
  ]);
  return {
    form,
    from,
    read: () => ({
      from: from.value, to: to.value, type: type.value(), author: author.value.trim(),
      entityType: instance ? entityType.value : '', entityId: instance ? entityId.value.trim() : '', page: 1,
    }),
    show: (v) => {
      from.value = v.from;
      to.value = v.to;
      type.set(v.type);
      author.value = v.author;
      entityType.value = ENTITY_TYPES.includes(v.entityType) ? v.entityType : '';
      entityId.value = v.entityId;
    },
  };
}
