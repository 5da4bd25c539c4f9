/** A project's releases (`/:namespace/:project/-/releases`): each release with its tracked asset links. */
import { signInNotice } from '../account';
import { getToken, rest } from '../api';
import { enc, h, messageOfError, region, safeHref, say, timeEl } from '../dom';
import type { Project, Release, ReleaseLink } from '../types';

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

/** The list of a release's links, each its tracked URL. */
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
      ]);
    }),
  );
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

export function renderReleases(app: HTMLElement, path: string): void {
  const err = region('error');
  const list = h('div');
  app.append(err, list);
  const signedIn = !!getToken();
  const project = rest<Project>(`/api/v4/projects/${enc(path)}`).then((r) => r.body, () => null);
  rest<Release[]>(`/api/v4/projects/${enc(path)}/releases`).then(
    async (r) => {
      const p = await project;
      const releases = Array.isArray(r.body) ? r.body : [];
      if (!releases.length) {
        list.appendChild(h('p', { class: 'hint', text: 'No releases yet.' }));
        return;
      }
      for (const rel of releases) {
        list.appendChild(
          h('article', { class: 'card', 'aria-labelledby': `release-${rel.tag_name}` }, [
            h('h2', { id: `release-${rel.tag_name}`, text: rel.name || rel.tag_name }),
            releaseMeta(rel),
            rel.description ? h('p', { class: 'description', text: rel.description }) : null,
            h('h3', { text: 'Assets' }),
            linkList(rel.assets?.links || [], p),
          ]),
        );
      }
    },
    (e) => {
      say(err, messageOfError(e));
      if (!signedIn) app.appendChild(signInNotice('This project'));
    },
  );
}
