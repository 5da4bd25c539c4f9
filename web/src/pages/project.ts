/** A project's page (`/:namespace/:project`, its `web_url`): tabs Releases (with New release) and Audit log. */
import { signedInUser } from '../account';
import { pathCrumbs, renderBreadcrumbs } from '../breadcrumbs';
import { h } from '../dom';
import { Role, roleHint } from '../roles';
import { renderTabs } from '../tabs';
import { renderLog } from './log';
import { loadProject } from './project_load';
import { renderReleaseList } from './releases';

export async function renderProject(app: HTMLElement, fullPath: string, namespaceKind: string): Promise<void> {
  renderBreadcrumbs(pathCrumbs(fullPath, namespaceKind, true));
  const loaded = await loadProject(app, fullPath);
  if (!loaded) return;
  const { project, level } = loaded;
  app.appendChild(h('p', { class: 'meta' }, [project.description || '', h('span', { class: 'badge', text: project.visibility })]));
  renderTabs(app, [
    { id: 'releases', label: 'Releases', render: (p) => renderReleaseList(p, project, level) },
    {
      id: 'log',
      label: 'Audit log',
      render: (p) => {
        if (signedInUser() && level >= Role.Developer) renderLog(p, { kind: 'project', path: fullPath });
        else p.append(h('h2', { text: 'Log' }), h('p', { class: 'notice', 'data-state': 'not-allowed', text: `The audit log: ${roleHint(Role.Developer, level)}` }));
      },
    },
  ], 'Project');
}
