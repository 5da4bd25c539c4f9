/** "New release" on a project's releases: tag, name, description, release date and asset links, created in one POST (audited by the API). */
import { rest } from '../api';
import { enc, h, messageOfError, nextId, region, say } from '../dom';
import type { Project, Release } from '../types';
import { linkParams, linkRow, releaseFields, type LinkRow } from './release_links';

/** The form; `onCancel` closes it. A created release opens its own page. */
export function newReleaseForm(project: Project, onCancel: () => void): HTMLFormElement {
  const ids = { tag: nextId('tag') };
  const err = region('error');
  const tag = h('input', { id: ids.tag, type: 'text', autocomplete: 'off', required: true });
  const { name, description, released, els } = releaseFields(null, true);
  const rows: LinkRow[] = [];
  const linksHost = h('div');
  const addLink = h('button', { type: 'button', class: 'secondary' }, ['Add link']);
  addLink.addEventListener('click', () => {
    const r = linkRow(rows.length + 1, null);
    rows.push(r);
    linksHost.appendChild(r.el);
    r.name.focus();
  });
  const submit = h('button', { type: 'submit' }, ['Create release']);
  const cancel = h('button', { type: 'button', class: 'secondary' }, ['Cancel']);
  cancel.addEventListener('click', onCancel);
  const heading = h('h2', { id: nextId('new-release'), text: 'New release' });
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': heading.id }, [
    heading,
    err,
    h('div', { class: 'field' }, [h('label', { for: ids.tag, text: 'Tag name' }), tag]),
    ...els,
    h('fieldset', {}, [h('legend', { text: 'Asset links' }), linksHost, h('div', { class: 'actions' }, [addLink])]),
    h('div', { class: 'actions' }, [submit, cancel]),
  ]);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    say(err, '');
    if (!tag.value.trim()) {
      say(err, 'Enter a tag name.');
      tag.focus();
      return;
    }
    const body: Record<string, unknown> = { tag_name: tag.value.trim(), assets: { links: rows.map(linkParams) } };
    if (name.value.trim()) body.name = name.value;
    if (description.value) body.description = description.value;
    if (released.value.trim()) body.released_at = released.value.trim();
    submit.disabled = true;
    try {
      const created = (await rest<Release>(`/api/v4/projects/${enc(String(project.id))}/releases`, { method: 'POST', body })).body;
      location.assign(new URL(created._links.self).pathname);
    } catch (e2) {
      say(err, messageOfError(e2));
    }
    submit.disabled = false;
  });
  return form;
}
