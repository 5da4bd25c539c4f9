/** The instance admin page (`/admin`): users, groups and projects of the instance, CSV exports and tracked downloads per month, and the instance audit events. */
import { signedInUser } from '../account';
import { rest } from '../api';
import { renderBreadcrumbs } from '../breadcrumbs';
import { h, messageOfError, region, say } from '../dom';
import { instanceFiguresSection } from '../downloads/instance_figures';
import type { Group, Project, User } from '../types';

function table<T>(caption: string, columns: string[], rows: T[], cells: (x: T) => Array<Node | string>): HTMLElement {
  return h('table', { class: 'log-table' }, [
    h('caption', { text: caption }),
    h('thead', {}, [h('tr', {}, columns.map((c) => h('th', { scope: 'col', text: c })))]),
    h('tbody', {}, rows.map((x) => h('tr', {}, cells(x).map((c, i) => h('td', { 'data-label': columns[i] }, [c]))))),
  ]);
}

export async function renderAdmin(app: HTMLElement): Promise<void> {
  renderBreadcrumbs([{ label: 'Admin area' }]);
  const user = signedInUser();
  if (!user?.is_admin) {
    app.appendChild(h('p', { class: 'notice', 'data-state': 'not-allowed', text: 'The Admin area needs an administrator account.' }));
    return;
  }
  const err = region('error');
  app.append(h('p', {}, [h('a', { href: '/admin/audit_events' }, ['Instance audit events and streams'])]), instanceFiguresSection(), err);
  try {
    const [users, groups, projects] = await Promise.all([
      rest<User[]>('/api/v4/users?per_page=100'),
      rest<Group[]>('/api/v4/groups?per_page=100'),
      rest<Project[]>('/api/v4/projects?per_page=100'),
    ]);
    const total = (r: { response: Response; body: unknown[] }) => r.response.headers.get('X-Total') ?? String(r.body.length);
    app.append(
      h('h2', { text: `Users (${total(users)})` }),
      table('Users, newest first', ['Username', 'Name', 'Administrator'], users.body, (u) => [h('a', { href: `/${u.username}` }, [`@${u.username}`]), u.name, u.is_admin ? 'yes' : 'no']),
      h('h2', { text: `Groups (${total(groups)})` }),
      table('Groups', ['Group', 'Visibility'], groups.body, (g) => [h('a', { href: `/groups/${g.full_path}` }, [g.full_path]), g.visibility]),
      h('h2', { text: `Projects (${total(projects)})` }),
      table('Projects, newest first', ['Project', 'Visibility'], projects.body, (p) => [h('a', { href: `/${p.path_with_namespace}` }, [p.path_with_namespace]), p.visibility]),
    );
  } catch (e) {
    say(err, messageOfError(e));
  }
}
