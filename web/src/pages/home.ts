/** The landing page of a signed-in user: who they are and the groups they can see. */
import { signedInUser } from '../account';
import { rest } from '../api';
import { h, messageOfError, region, say } from '../dom';
import type { Group } from '../types';

export function renderHome(app: HTMLElement): void {
  const user = signedInUser();
  const list = h('ul', { class: 'links' });
  const err = region('error');
  app.appendChild(h('p', { text: user ? `Signed in as ${user.name} (@${user.username}).` : 'Signed in.' }));
  app.appendChild(h('h2', { text: 'Your groups' }));
  app.appendChild(err);
  app.appendChild(list);
  if (user?.is_admin) {
    app.appendChild(h('p', {}, [h('a', { href: '/admin/audit_events' }, ['Instance audit events (Admin area)'])]));
  }
  rest<Group[]>('/api/v4/groups?per_page=100').then(
    (r) => {
      for (const g of r.body || []) list.appendChild(h('li', {}, [h('a', { href: `/groups/${g.full_path}/-/audit_events` }, [g.full_path])]));
      if (!list.firstChild) list.appendChild(h('li', { text: 'No groups yet.' }));
    },
    (e) => say(err, messageOfError(e)),
  );
}
