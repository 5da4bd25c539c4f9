/** A project's releases (`/:namespace/:project/-/releases`, and the project page's tab): each release with its tracked links, and "New release". */
import { getToken, rest } from '../api';
import { pathCrumbs, renderBreadcrumbs } from '../breadcrumbs';
import { enc, h, messageOfError, region, safeHref, say, timeEl } from '../dom';
import { gatedButton, mayReadReleases, releasesNeedRole, Role } from '../roles';
import type { Project, Release, ReleaseLink } from '../types';
import { loadProject } from './project_load';
import { newReleaseForm } from './release_new';

/**
 * The tracked URL of a link. Links of non-public projects need the token; navigation cannot send
 * a header, so the URL carries it as private_token (as GitLab's download URLs accept).
 */
export function trackedHref(link: ReleaseLink, project: Project | null): string | null {
  let href = safeHref(link.direct_asset_url || '');
  const token = getToken();
  if (href && token && !(project && project.visibility === 'public')) href += `${href.includes('?') ? '&' : '?'}private_token=${enc(token)}`;
  return href;
}

/** The list of a release's links, each its tracked URL (with its download count when the API gives one). */
export function linkList(links: ReleaseLink[], project: Project | null): HTMLElement {
  if (!links.length) return h('p', { class: 'hint', text: 'No asset links.' });
  return h(
    'ul',
    { class: 'links' },
    links.map((l) => {
      const href = trackedHref(l, project);
      return h('li', {}, [
        href ? h('a', { href, rel: 'noreferrer' }, [l.name || href]) : h('span', { text: l.name || '' }),
        l.link_type ? h('span', { class: 'badge', text: l.link_type }) : null,
        typeof l.download_count === 'number' ? h('span', { class: 'hint download-count', text: ` ${downloadsText(l.download_count)}` }) : null,
      ]);
    }),
  );
}

/** "1 download", "12 downloads". */
export const downloadsText = (n: number) => `${n} download${n === 1 ? '' : 's'}`;

/** A release's total tracked downloads (the sum of its links' `download_count`, in the list's own JSON); null without counted links. */
export function releaseDownloads(rel: Release): HTMLElement | null {
  const counts = (rel.assets?.links || []).map((l) => l.download_count).filter((n): n is number => typeof n === 'number');
  if (!counts.length) return null;
  return h('p', { class: 'hint release-downloads', text: `${downloadsText(counts.reduce((a, b) => a + b, 0))} in total` });
}

/** "Tag v1 · released <time> · by <name>". */
export function releaseMeta(rel: Release): HTMLElement {
  return h('p', { class: 'meta' }, [
    'Tag ',
    h('code', { text: rel.tag_name }),
    rel.released_at ? ' · released ' : '',
    rel.released_at ? timeEl(rel.released_at) : '',
    rel.author ? ` · by ${rel.author.name}` : '',
  ]);
}

/** The releases of a project into `host`, with "New release" for Developers and above (disabled, with the role it needs, below). */
export function renderReleaseList(host: HTMLElement, project: Project, level: number): void {
  const err = region('error');
  const list = h('div');
  const formHost = h('div');
  if (getToken()) {
    const { button, el } = gatedButton('New release', Role.Developer, level);
    button.addEventListener('click', () => {
      button.disabled = true;
      const form = newReleaseForm(project, () => {
        formHost.replaceChildren();
        button.disabled = false;
        button.focus();
      });
      formHost.replaceChildren(form);
      form.querySelector('input')?.focus();
    });
    host.appendChild(h('div', { class: 'toolbar' }, [el]));
  }
  host.append(formHost, err, list);
  if (!mayReadReleases(project, level)) {
    list.appendChild(releasesNeedRole(level));
    return;
  }
  rest<Release[]>(`/api/v4/projects/${enc(String(project.id))}/releases`).then(
    (r) => {
      const releases = Array.isArray(r.body) ? r.body : [];
      if (!releases.length) list.appendChild(h('p', { class: 'hint', text: 'No releases yet.' }));
      for (const rel of releases) {
        list.appendChild(
          h('article', { class: 'card', 'aria-labelledby': `release-${rel.tag_name}` }, [
            h('h2', { id: `release-${rel.tag_name}` }, [h('a', { href: new URL(rel._links.self).pathname }, [rel.name || rel.tag_name])]),
            releaseMeta(rel),
            releaseDownloads(rel),
            rel.description ? h('p', { class: 'description', text: rel.description }) : null,
            h('h3', { text: 'Assets' }),
            linkList(rel.assets?.links || [], project),
          ]),
        );
      }
    },
    (e) => say(err, messageOfError(e)),
  );
}

export async function renderReleases(app: HTMLElement, fullPath: string, namespaceKind: string): Promise<void> {
  renderBreadcrumbs([...pathCrumbs(fullPath, namespaceKind, true), { label: 'Releases' }]);
  const loaded = await loadProject(app, fullPath);
  if (loaded) renderReleaseList(app, loaded.project, loaded.level);
}
