/** A release's page (`.../-/releases/:tag`, its `_links.self`): title, notes, its links (each the tracked URL, with its download count), the downloads over time, its evidence, and Edit for Developers. */
import { rest } from '../api';
import { pathCrumbs, renderBreadcrumbs, type Crumb } from '../breadcrumbs';
import { enc, h } from '../dom';
import { mayReadReleases, releasesNeedRole, Role, roleHint } from '../roles';
import { failureNotice } from '../states';
import type { Project, Release } from '../types';
import { downloadsSection } from '../downloads/release_downloads';
import { loadProject } from './project_load';
import { linkList, releaseDownloads, releaseMeta } from './releases';
import { evidenceSection } from './release_evidence';

/** The crumbs down to a release: its project, Releases, the tag. */
export function releaseCrumbs(fullPath: string, namespaceKind: string, tag: string): Crumb[] {
  return [...pathCrumbs(fullPath, namespaceKind, true), { label: 'Releases', href: `/${fullPath}/-/releases` }, { label: tag, href: `/${fullPath}/-/releases/${enc(tag)}` }];
}

/** The project, the viewer's level and the release; null (after showing why) when any cannot be read. */
export async function loadRelease(app: HTMLElement, fullPath: string, tag: string): Promise<{ project: Project; level: number; release: Release } | null> {
  const loaded = await loadProject(app, fullPath);
  if (!loaded) return null;
  if (!mayReadReleases(loaded.project, loaded.level)) {
    app.appendChild(releasesNeedRole(loaded.level));
    return null;
  }
  try {
    const release = (await rest<Release>(`/api/v4/projects/${enc(String(loaded.project.id))}/releases/${enc(tag)}`)).body;
    return { ...loaded, release };
  } catch (e) {
    app.appendChild(failureNotice(e, 'release'));
    return null;
  }
}

export async function renderRelease(app: HTMLElement, fullPath: string, namespaceKind: string, tag: string): Promise<void> {
  renderBreadcrumbs(releaseCrumbs(fullPath, namespaceKind, tag));
  const loaded = await loadRelease(app, fullPath, tag);
  if (!loaded) return;
  const { project, level, release } = loaded;
  const edit =
    level >= Role.Developer
      ? h('a', { class: 'button', href: new URL(release._links.edit_url).pathname }, ['Edit release'])
      : level > 0
        ? h('span', { class: 'gated' }, [h('button', { type: 'button', disabled: true }, ['Edit release']), h('span', { class: 'hint', text: roleHint(Role.Developer, level) })])
        : null;
  app.append(
    h('h2', { text: release.name || release.tag_name }),
    releaseMeta(release),
    releaseDownloads(release) ?? '',
    release.description ? h('p', { class: 'description', text: release.description }) : h('p', { class: 'hint', text: 'No release notes.' }),
    h('h3', { text: 'Assets' }),
    linkList(release.assets?.links || [], project, release.tag_name),
    downloadsSection(project, release) ?? '',
    evidenceSection(release),
  );
  if (edit) app.appendChild(h('div', { class: 'actions' }, [edit]));
}
