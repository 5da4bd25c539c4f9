/**
 * The audit event type catalogue as the pages show it: read from the page shell's
 * `<datalist id="event-types">` (src/audit/catalogue.ts: name, description, feature category),
 * with readable names ("Release external artifact download") instead of raw snake_case, grouped
 * by category; and the grouped, searchable checkbox list the Streams form filters with.
 */
import { h, nextId } from './dom';

export interface EventTypeInfo {
  /** The raw type, as the API and the stream name it. */
  name: string;
  /** The readable name. */
  title: string;
  description: string;
  /** The readable category (GitLab's feature_category). */
  category: string;
}

/** "release_external_artifact_download" → "Release external artifact download". */
export function readable(snake: string): string {
  const words = snake.replace(/_/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

let cache: EventTypeInfo[] | null = null;

/** Every catalogued type, by category then readable name. */
export function catalogue(): EventTypeInfo[] {
  if (cache) return cache;
  const list = document.getElementById('event-types') as HTMLDataListElement | null;
  const types = list
    ? Array.from(list.options, (o) => ({
        name: o.value,
        title: readable(o.value),
        description: o.label && o.label !== o.value ? o.label : '',
        category: readable(o.dataset.category || 'other'),
      }))
    : [];
  types.sort((a, b) => a.category.localeCompare(b.category) || a.title.localeCompare(b.title));
  cache = types;
  return types;
}

/** The catalogue entry of a raw type (or a bare entry for a type the catalogue lacks). */
export function typeInfo(name: string): EventTypeInfo {
  return catalogue().find((t) => t.name === name) ?? { name, title: readable(name), description: '', category: 'Other' };
}

/** Whether a type matches a search: every word in its name, readable name, description or category. */
export function matches(t: EventTypeInfo, query: string): boolean {
  const hay = `${t.name} ${t.title} ${t.description} ${t.category}`.toLowerCase();
  return query
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .every((w) => hay.includes(w));
}

/** The types grouped by category, in catalogue order. */
export function grouped(types: EventTypeInfo[]): Array<[string, EventTypeInfo[]]> {
  const groups = new Map<string, EventTypeInfo[]>();
  for (const t of types) groups.set(t.category, [...(groups.get(t.category) ?? []), t]);
  return [...groups];
}

/**
 * A raw type from what a person typed: the raw name itself, or a readable name (any case);
 * anything else is returned trimmed (the API then finds no events of it).
 */
export function resolveType(input: string): string {
  const v = input.trim();
  if (!v) return '';
  const lower = v.toLowerCase();
  const hit = catalogue().find((t) => t.name === v || t.title.toLowerCase() === lower);
  return hit ? hit.name : v;
}

export interface TypeCheckboxes {
  element: HTMLElement;
  /** The checked raw types. */
  checked: () => string[];
}

/**
 * Checkboxes for every catalogued type (and the `selected` types it lacks), grouped by category
 * in fieldsets, each labelled with its readable name and raw type, with a search box that hides
 * the types that do not match.
 */
export function typeCheckboxes(selected: string[]): TypeCheckboxes {
  const known = catalogue();
  const extra = selected.filter((s) => !known.some((t) => t.name === s)).map(typeInfo);
  const boxes: Array<{ info: EventTypeInfo; box: HTMLInputElement; label: HTMLElement }> = [];
  const searchId = nextId('type-search');
  const search = h('input', { id: searchId, type: 'search', autocomplete: 'off', placeholder: 'release, token, member…' });
  const count = h('p', { class: 'hint', 'aria-live': 'polite' });
  const groups = grouped([...known, ...extra]).map(([category, types]) => {
    const items = types.map((info) => {
      const box = h('input', { type: 'checkbox', value: info.name, checked: selected.includes(info.name) });
      const label = h('label', { title: info.description || null }, [box, h('span', {}, [info.title, ' ', h('code', { text: info.name })])]);
      boxes.push({ info, box, label });
      return label;
    });
    return { fieldset: h('fieldset', { class: 'type-group' }, [h('legend', { text: category }), ...items]), types };
  });
  const filter = () => {
    const q = search.value;
    let shown = 0;
    for (const b of boxes) {
      const on = matches(b.info, q) || b.box.checked;
      b.label.hidden = !on;
      if (on) shown += 1;
    }
    for (const g of groups) g.fieldset.hidden = g.types.every((t) => boxes.find((b) => b.info === t)!.label.hidden);
    count.textContent = q.trim() ? `${shown} of ${boxes.length} event types shown.` : '';
  };
  search.addEventListener('input', filter);
  const element = h('div', { class: 'type-checkboxes' }, [
    h('div', { class: 'field' }, [h('label', { for: searchId, text: 'Search types' }), search]),
    count,
    h('div', { class: 'filters' }, groups.map((g) => g.fieldset)),
  ]);
  return { element, checked: () => boxes.filter((b) => b.box.checked).map((b) => b.info.name) };
}
