/** A user's page (`/:username`, their `web_url`): name, username, and their personal projects the viewer can see. */
import { rest } from '../api';
import { renderBreadcrumbs } from '../breadcrumbs';
import { enc, h } from '../dom';
import { failureNotice } from '../states';
import type { Project, User } from '../types';

export async function renderUser(app: HTMLElement, username: string): Promise<void> {
  renderBreadcrumbs([{ label: `@${username}` }]);
  try {
    const users = (await rest<User[]>(`/api/v4/users?username=${enc(username)}`)).body;
    const user = users[0];
    if (!user) throw new Error(`User @${username} is not visible.`);
    app.appendChild(h('p', { class: 'lead', text: `${user.name} (@${user.username})` }));
    const projects = (await rest<Project[]>('/api/v4/projects?per_page=100')).body.filter((p) => p.namespace.kind === 'user' && p.namespace.full_path === username);
    app.appendChild(h('h2', { text: 'Personal projects' }));
    app.appendChild(
      projects.length
        ? h('ul', { class: 'links' }, projects.map((p) => h('li', {}, [h('a', { href: `/${p.path_with_namespace}` }, [p.name])])))
        : h('p', { class: 'hint', text: 'No personal projects you can see.' }),
    );
  } catch (e) {
    app.appendChild(failureNotice(e, 'user'));
  }
}
