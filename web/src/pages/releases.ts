/** A project's releases (`/:namespace/:project/-/releases`, and the project page's tab): each release with its tracked links, and "New release". */
import { getToken, rest } from '../api';
import { pathCrumbs, renderBreadcrumbs } from '../breadcrumbs';
import { enc, h, messageOfError, region, safeHref, say, timeEl } from '../dom';
import { gatedButton, mayReadReleases, releasesNeedRole, Role } from '../roles';
import type { Project, Release, ReleaseLink } from '../types';
import { loadProject } from './project_load';
import { newReleaseForm } from './release_new';

/** The tracked URL of a link, as the API gives it: never with a token in it (issue 17). */
export function trackedHref(link: ReleaseLink): string | null {
  return safeHref(link.direct_asset_url || '');
}

/**
 * Links of a project that is not public need the signed-in user, and a navigation cannot send
 * the token header: a click asks the API for the link's URL signed for this user (valid 5
 * minutes; GET .../assets/links/:link_id/signed_url, the token in the header) and follows that.
 * The href stays the plain tracked URL (what "copy link" gives is safe to share).
 */
function needsSignedLink(project: Project | null): project is Project {
  return !!getToken() && !!project && project.visibility !== 'public';
}

/** Ask for the link's signed URL and go there; the API's words in `err` when it cannot. */
async function followSigned(project: Project, tagName: string, link: ReleaseLink, err: HTMLElement): Promise<void> {
  say(err, '');
  try {
    const path = `/api/v4/projects/${enc(String(project.id))}/releases/${enc(tagName)}/assets/links/${enc(String(link.id))}/signed_url`;
    const href = safeHref((await rest<{ url: string }>(path)).body.url);
    if (href) location.assign(href);
    else say(err, `No download URL for ${link.name}.`);
  } catch (e) {
    say(err, `Download of ${link.name}: ${messageOfError(e)}`);
  }
}

/** The list of a release's links, each its tracked URL (with its download count when the API gives one). */
export function linkList(links: ReleaseLink[], project: Project | null, tagName: string): HTMLElement {
  if (!links.length) return h('p', { class: 'hint', text: 'No asset links.' });
  const err = region('error');
  const signed = needsSignedLink(project);
  const follow = (l: ReleaseLink) => (e: Event) => {
    const m = e as MouseEvent;
    // A plain click only: a modified click (new tab, download) keeps the browser's own handling.
    if (!needsSignedLink(project) || m.button !== 0 || m.ctrlKey || m.metaKey || m.shiftKey || m.altKey) return;
    e.preventDefault();
    void followSigned(project, tagName, l, err);
  };
  const list = h(
    'ul',
    { class: 'links' },
    links.map((l) => {
      const href = trackedHref(l);
      return h('li', {}, [
        href ? h('a', { href, rel: 'noreferrer', onclick: signed ? follow(l) : null }, [l.name || href]) : h('span', { text: l.name || '' }),
        l.link_type ? h('span', { class: 'badge', text: l.link_type }) : null,
        typeof l.download_count === 'number' ? h('span', { class: 'hint download-count', text: ` ${downloadsText(l.download_count)}` }) : null,
      ]);
    }),
  );
  return h('div', {}, [list, err]);
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
            linkList(rel.assets?.links || [], project, rel.tag_name),
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
