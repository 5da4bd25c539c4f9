/** Editable rows of release asset links (name, URL, type, filepath): the new-release form and the edit page use them. */
import { h, nextId, region } from '../dom';
import type { ReleaseLink } from '../types';

export const LINK_TYPES = ['other', 'runbook', 'package', 'image'];

export interface LinkRow {
  name: HTMLInputElement;
  url: HTMLInputElement;
  type: HTMLSelectElement;
  filepath: HTMLInputElement;
  err: HTMLElement;
  el: HTMLElement;
}

/** The link's fields as the REST API takes them (`direct_asset_path` only when given). */
export function linkParams(r: LinkRow): Record<string, string> {
  const p: Record<string, string> = { name: r.name.value, url: r.url.value, link_type: r.type.value };
  if (r.filepath.value.trim()) p.direct_asset_path = r.filepath.value.trim();
  return p;
}

/** The filepath of a link from its tracked URL (`.../downloads/<filepath>`), or ''. */
function filepathOf(link: ReleaseLink): string {
  const at = link.direct_asset_url.indexOf('/downloads/');
  return at < 0 ? '' : decodeURI(link.direct_asset_url.slice(at + '/downloads'.length));
}

/** One link's labelled fields (`n` numbers the labels: "Link 1 name"). */
export function linkRow(n: number, link: ReleaseLink | null): LinkRow {
  const ids = { name: nextId('link-name'), url: nextId('link-url'), type: nextId('link-type'), filepath: nextId('link-path') };
  const err = region('error');
  const name = h('input', { id: ids.name, type: 'text', autocomplete: 'off', value: link?.name ?? '', 'aria-describedby': err.id });
  const url = h('input', { id: ids.url, type: 'text', inputmode: 'url', autocomplete: 'off', value: link?.url ?? '' });
  const type = h('select', { id: ids.type }, LINK_TYPES.map((t) => h('option', { value: t, text: t })));
  type.value = link?.link_type ?? 'other';
  const filepath = h('input', { id: ids.filepath, type: 'text', autocomplete: 'off', placeholder: '/bin/app', value: link ? filepathOf(link) : '' });
  const el = h('div', { class: 'link-row' }, [
    h('div', { class: 'field' }, [h('label', { for: ids.name, text: `Link ${n} name` }), name]),
    h('div', { class: 'field' }, [h('label', { for: ids.url, text: `Link ${n} URL` }), url]),
    h('div', { class: 'field' }, [h('label', { for: ids.type, text: `Link ${n} type` }), type]),
    h('div', { class: 'field' }, [h('label', { for: ids.filepath, text: `Link ${n} filepath (optional)` }), filepath]),
    err,
  ]);
  return { name, url, type, filepath, err, el };
}

/** The title, notes and release date fields of a release form (`release` fills them; `optionalDate`: empty means now). */
export function releaseFields(release: { name: string | null; description: string | null; released_at: string | null } | null, optionalDate: boolean) {
  const ids = { name: nextId('rel-name'), description: nextId('rel-desc'), released: nextId('rel-date') };
  const name = h('input', { id: ids.name, type: 'text', autocomplete: 'off', value: release?.name ?? '' });
  const description = h('textarea', { id: ids.description, rows: '5' });
  description.value = release?.description ?? '';
  const released = h('input', {
    id: ids.released, type: 'text', autocomplete: 'off', placeholder: '2026-01-31T12:00:00Z', value: release?.released_at ?? '', 'aria-describedby': `${ids.released}-hint`,
  });
  const els = [
    h('div', { class: 'field' }, [h('label', { for: ids.name, text: 'Release title' }), name]),
    h('div', { class: 'field' }, [h('label', { for: ids.description, text: 'Release notes' }), description]),
    h('div', { class: 'field' }, [
      h('label', { for: ids.released, text: optionalDate ? 'Released at (optional)' : 'Released at' }),
      h('span', { class: 'hint', id: `${ids.released}-hint`, text: `ISO 8601 in UTC, e.g. 2026-01-31T12:00:00Z${optionalDate ? '; now when empty' : ''}.` }),
      released,
    ]),
  ];
  return { name, description, released, els };
}
