/**
 * A group's page (`/groups/:path`, its `web_url`): tabs Overview (subgroups and projects), Audit
 * log and Streams. A tab the viewer's role does not allow says which role it needs.
 */
import { signedInUser } from '../account';
import { rest } from '../api';
import { pathCrumbs, renderBreadcrumbs } from '../breadcrumbs';
import { enc, h, messageOfError, region, say } from '../dom';
import { Role, roleHint, viewerLevel } from '../roles';
import { failureNotice } from '../states';
import { renderStreams } from '../streams/list';
import { renderTabs } from '../tabs';
import type { Group, Project } from '../types';
import { renderLog } from './log';

/** Subgroups and projects of a group, each a link to its page. */
function renderOverview(panel: HTMLElement, group: Group): void {
  const err = region('error');
  const subgroups = h('ul', { class: 'links', 'aria-label': 'Subgroups' });
  const projects = h('ul', { class: 'links', 'aria-label': 'Projects' });
  panel.append(h('h2', { text: 'Subgroups' }), subgroups, h('h2', { text: 'Projects' }), projects, err);
  const id = enc(String(group.id));
  Promise.all([rest<Group[]>(`/api/v4/groups/${id}/subgroups?per_page=100`), rest<Project[]>(`/api/v4/groups/${id}/projects?per_page=100`)]).then(
    ([g, p]) => {
      for (const s of g.body) subgroups.appendChild(h('li', {}, [h('a', { href: `/groups/${s.full_path}` }, [s.name]), h('span', { class: 'badge', text: s.visibility })]));
      if (!g.body.length) subgroups.appendChild(h('li', { class: 'hint', text: 'No subgroups you can see.' }));
      for (const x of p.body) projects.appendChild(h('li', {}, [h('a', { href: `/${x.path_with_namespace}` }, [x.name]), h('span', { class: 'badge', text: x.visibility })]));
      if (!p.body.length) projects.appendChild(h('li', { class: 'hint', text: 'No projects you can see.' }));
    },
    (e) => say(err, messageOfError(e)),
  );
}

/** A tab's content when the viewer's role is too low: the one sentence saying which role it needs. */
function needsRole(panel: HTMLElement, what: string, needed: number, level: number): void {
  panel.append(h('h2', { text: what }), h('p', { class: 'notice', 'data-state': 'not-allowed', text: `${what}: ${roleHint(needed, level)}` }));
}

export async function renderGroup(app: HTMLElement, fullPath: string): Promise<void> {
  renderBreadcrumbs(pathCrumbs(fullPath, 'group', false));
  let group: Group;
  let level: number;
  try {
    group = (await rest<Group>(`/api/v4/groups/${enc(fullPath)}`)).body;
    level = await viewerLevel('groups', group.id);
  } catch (e) {
    app.appendChild(failureNotice(e, 'group'));
    return;
  }
  app.appendChild(h('p', { class: 'meta' }, [group.description || '', h('span', { class: 'badge', text: group.visibility })]));
  const scope = { kind: 'group', path: fullPath } as const;
  const signedIn = !!signedInUser();
  renderTabs(app, [
    { id: 'overview', label: 'Overview', render: (p) => renderOverview(p, group) },
    {
      id: 'log',
      label: 'Audit log',
      render: (p) => (signedIn && level >= Role.Developer ? renderLog(p, scope) : needsRole(p, 'The audit log', Role.Developer, level)),
    },
    {
      id: 'streams',
      label: 'Streams',
      render: (p) => {
        if (group.parent_id !== null) p.append(h('h2', { text: 'Streams' }), h('p', { class: 'notice', text: 'Streaming destinations belong to the top-level group.' }));
        else if (signedIn && level >= Role.Owner) renderStreams(p, scope);
        else needsRole(p, 'Streams', Role.Owner, level);
      },
    },
  ], 'Group');
}
