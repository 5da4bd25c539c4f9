/**
 * A release's edit page (`.../-/releases/:tag/edit`, its `_links.edit_url`): title, notes and
 * release date, and its links (change, delete, add), each saved through the REST API, which
 * records the audit events.
 */
import { rest } from '../api';
import { renderBreadcrumbs } from '../breadcrumbs';
import { enc, h, messageOfError, region, say } from '../dom';
import { Role, roleHint } from '../roles';
import type { ReleaseLink } from '../types';
import { loadRelease, releaseCrumbs } from './release';
import { linkParams, linkRow, releaseFields } from './release_links';

export async function renderReleaseEdit(app: HTMLElement, fullPath: string, namespaceKind: string, tag: string): Promise<void> {
  renderBreadcrumbs([...releaseCrumbs(fullPath, namespaceKind, tag), { label: 'Edit' }]);
  const loaded = await loadRelease(app, fullPath, tag);
  if (!loaded) return;
  const { project, level, release } = loaded;
  if (level < Role.Developer) {
    app.appendChild(h('p', { class: 'notice', 'data-state': 'not-allowed', text: `Editing a release: ${roleHint(Role.Developer, level)}` }));
    return;
  }
  const base = `/api/v4/projects/${enc(String(project.id))}/releases/${enc(tag)}`;
  const status = region('status');
  const err = region('error');
  const { name, description, released, els } = releaseFields(release, false);
  const save = h('button', { type: 'submit' }, ['Save release']);
  const form = h('form', { class: 'card', novalidate: true, 'aria-label': 'Release' }, [
    err,
    ...els,
    h('div', { class: 'actions' }, [save, h('a', { href: new URL(release._links.self).pathname }, ['Back to the release'])]),
  ]);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    say(err, '');
    say(status, '');
    save.disabled = true;
    const body: Record<string, unknown> = { name: name.value, description: description.value };
    if (released.value.trim() && released.value.trim() !== release.released_at) body.released_at = released.value.trim();
    try {
      await rest(base, { method: 'PUT', body });
      say(status, `Release ${tag} saved.`);
    } catch (e2) {
      say(err, messageOfError(e2));
    }
    save.disabled = false;
  });

  const links = h('div', { class: 'cards' });
  let count = 0;
  /** One saved link's card: its fields, Save and Delete. */
  const linkCard = (link: ReleaseLink): HTMLElement => {
    count += 1;
    const row = linkRow(count, link);
    const saveLink = h('button', { type: 'button', class: 'secondary' }, [`Save link ${link.name}`]);
    const del = h('button', { type: 'button', class: 'danger' }, [`Delete link ${link.name}`]);
    const card = h('div', { class: 'card', 'data-link-id': link.id }, [row.el, h('div', { class: 'actions' }, [saveLink, del])]);
    saveLink.addEventListener('click', async () => {
      say(row.err, '');
      try {
        await rest(`${base}/assets/links/${link.id}`, { method: 'PUT', body: linkParams(row) });
        say(status, `Link ${row.name.value} saved.`);
      } catch (e) {
        say(row.err, messageOfError(e));
      }
    });
    del.addEventListener('click', async () => {
      say(row.err, '');
      try {
        await rest(`${base}/assets/links/${link.id}`, { method: 'DELETE' });
        card.remove();
        say(status, `Link ${link.name} deleted.`);
      } catch (e) {
        say(row.err, messageOfError(e));
      }
    });
    return card;
  };
  for (const l of release.assets?.links || []) links.appendChild(linkCard(l));

  const fresh = linkRow(0, null);
  for (const [input, label] of [[fresh.name, 'New link name'], [fresh.url, 'New link URL'], [fresh.type, 'New link type'], [fresh.filepath, 'New link filepath (optional)']] as const) {
    const el = fresh.el.querySelector(`label[for="${input.id}"]`);
    if (el) el.textContent = label;
  }
  const add = h('button', { type: 'button' }, ['Add link']);
  add.addEventListener('click', async () => {
    say(fresh.err, '');
    try {
      const created = (await rest<ReleaseLink>(`${base}/assets/links`, { method: 'POST', body: linkParams(fresh) })).body;
      links.appendChild(linkCard(created));
      for (const input of [fresh.name, fresh.url, fresh.filepath]) input.value = '';
      say(status, `Link ${created.name} added.`);
    } catch (e) {
      say(fresh.err, messageOfError(e));
    }
  });
  app.append(
    status,
    form,
    h('h2', { text: 'Asset links' }),
    links,
    h('div', { class: 'card', role: 'group', 'aria-label': 'New link' }, [fresh.el, h('div', { class: 'actions' }, [add])]),
  );
}
