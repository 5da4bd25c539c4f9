/** The landing page of a signed-in user: who they are, and the groups and projects they can see. */
import { signedInUser } from '../account';
import { rest } from '../api';
import { byId, h, messageOfError, region, say } from '../dom';
import type { Group, Project } from '../types';

/** A list filled from an API listing: one link per item, or `empty`. */
function listing<T>(heading: string, path: string, empty: string, item: (x: T) => HTMLElement): HTMLElement[] {
  const list = h('ul', { class: 'links', 'aria-label': heading });
  const err = region('error');
  rest<T[]>(path).then(
    (r) => {
      for (const x of r.body || []) list.appendChild(h('li', {}, [item(x)]));
      if (!list.firstChild) list.appendChild(h('li', { text: empty }));
    },
    (e) => say(err, messageOfError(e)),
  );
  return [h('h2', { text: heading }), err, list];
}

export function renderHome(app: HTMLElement): void {
  const user = signedInUser();
  // The shell of `/` is the sign-in page's; signed in, it is the start page.
  byId('page-title').textContent = 'Start';
  document.title = 'Start';
  app.appendChild(h('p', { text: user ? `Signed in as ${user.name} (@${user.username}).` : 'Signed in.' }));
  if (user?.is_admin) {
    app.appendChild(
      h('p', {}, [h('a', { href: '/admin/audit_events' }, ['Instance audit events (Admin area)']), ' · ', h('a', { href: '/admin' }, ['Admin area'])]),
    );
  }
  app.append(
    ...listing<Group>('Your groups', '/api/v4/groups?per_page=100', 'No groups yet.', (g) =>
      h('a', { href: `/groups/${g.full_path}` }, [g.full_path]),
    ),
    ...listing<Project>('Projects', '/api/v4/projects?per_page=100', 'No projects yet.', (p) =>
      h('a', { href: `/${p.path_with_namespace}` }, [p.path_with_namespace]),
    ),
  );
}
