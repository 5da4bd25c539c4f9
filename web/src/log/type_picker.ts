/**
 * The log's event type filter: a combobox (WAI-ARIA combobox with a listbox popup). Typing
 * searches the catalogue (readable name, raw type, description, category); the matches are
 * listed grouped by category; arrow keys move, Enter or a click picks, Escape closes. The input
 * shows the readable name; `value()` gives the raw type the API filters by (a raw type typed by
 * hand works too).
 */
import { clear, h, nextId } from '../dom';
import { catalogue, grouped, matches, resolveType, typeInfo } from '../event_types';

export interface TypePicker {
  field: HTMLElement;
  input: HTMLInputElement;
  /** The raw event type chosen ('' for any). */
  value: () => string;
  /** Show a raw type (from the URL). */
  set: (raw: string) => void;
}

export function typePicker(): TypePicker {
  const id = nextId('type');
  const listId = nextId('type-list');
  const input = h('input', {
    id, type: 'text', name: 'event_type', autocomplete: 'off', placeholder: 'any', role: 'combobox',
    'aria-autocomplete': 'list', 'aria-expanded': 'false', 'aria-controls': listId,
  });
  const list = h('div', { id: listId, role: 'listbox', class: 'type-list', 'aria-label': 'Suggestions', hidden: true });
  const chosen = h('span', { class: 'hint', 'aria-live': 'polite' });
  let options: HTMLElement[] = [];
  let activeIndex = -1;

  const showChosen = () => {
    const raw = resolveType(input.value);
    chosen.textContent = raw && raw !== input.value.trim() ? raw : '';
  };
  const close = () => {
    list.hidden = true;
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    activeIndex = -1;
  };
  const pick = (raw: string) => {
    input.value = typeInfo(raw).title;
    close();
    showChosen();
  };
  const highlight = (i: number) => {
    options.forEach((o, j) => o.setAttribute('aria-selected', j === i ? 'true' : 'false'));
    activeIndex = i;
    const o = options[i];
    if (o) {
      input.setAttribute('aria-activedescendant', o.id);
      o.scrollIntoView({ block: 'nearest' });
    }
  };
  const open = () => {
    clear(list);
    options = [];
    const q = input.value;
    // A query equal to the current choice lists everything (the person is browsing again).
    const all = catalogue();
    const found = q.trim() && resolveType(q) !== q.trim() ? all : all.filter((t) => matches(t, q));
    for (const [category, types] of grouped(found)) {
      const headingId = nextId('type-group');
      const group = h('div', { role: 'group', 'aria-labelledby': headingId }, [h('div', { class: 'type-group-title', id: headingId, text: category })]);
      for (const t of types) {
        const o = h('div', { role: 'option', id: nextId('type-option'), 'aria-selected': 'false', 'data-type': t.name }, [
          t.title, ' ', h('code', { text: t.name }),
        ]);
        o.addEventListener('mousedown', (e) => e.preventDefault());
        o.addEventListener('click', () => pick(t.name));
        options.push(o);
        group.appendChild(o);
      }
      list.appendChild(group);
    }
    if (!found.length) list.appendChild(h('div', { class: 'hint', text: 'No event type matches.' }));
    list.hidden = false;
    input.setAttribute('aria-expanded', 'true');
    activeIndex = -1;
  };

  input.addEventListener('input', () => {
    open();
    showChosen();
  });
  input.addEventListener('focus', () => {
    if (!input.value) open();
  });
  input.addEventListener('blur', close);
  input.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      if (list.hidden) open();
      if (!options.length) return;
      const step = e.key === 'ArrowDown' ? 1 : -1;
      highlight((activeIndex + step + options.length) % options.length);
    } else if (e.key === 'Enter' && !list.hidden && activeIndex >= 0) {
      e.preventDefault();
      pick(options[activeIndex]!.dataset.type!);
    } else if (e.key === 'Escape' && !list.hidden) {
      e.preventDefault();
      close();
    }
  });

  const field = h('div', { class: 'field type-picker' }, [h('label', { for: id, text: 'Event type' }), input, list, chosen]);
  return {
    field,
    input,
    value: () => resolveType(input.value),
    set: (raw) => {
      input.value = raw ? typeInfo(raw).title : '';
      showChosen();
    },
  };
}
