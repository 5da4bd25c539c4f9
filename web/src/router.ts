/** Which page module renders #app, by the page the Worker named in `<body data-page>` (src/pages/routes.ts). */
import { signInNotice } from './account';
import { getToken } from './api';
import { pathCrumbs, renderBreadcrumbs } from './breadcrumbs';
import { h } from './dom';
import { renderAdmin } from './pages/admin';
import { renderGroup } from './pages/group';
import { renderLog } from './pages/log';
import { renderProject } from './pages/project';
import { renderRelease } from './pages/release';
import { renderReleaseEdit } from './pages/release_edit';
import { renderReleases } from './pages/releases';
import { renderSignIn } from './pages/sign_in';
import { renderUser } from './pages/user';
import { renderStreams } from './streams/list';
import { renderTabs } from './tabs';

/** The `data-*` attributes of the page's body: `fullPath`, `tag`, `username`, `namespaceKind`. */
export type PageData = DOMStringMap;

/** The pages that need a token before anything can be shown (audit logs and streams). */
function renderAuditPage(app: HTMLElement, page: string, fullPath: string, namespaceKind: string): void {
  if (page === 'group_audit_events') renderBreadcrumbs([...pathCrumbs(fullPath, 'group', false), { label: 'Audit events' }]);
  else if (page === 'project_audit_events') renderBreadcrumbs([...pathCrumbs(fullPath, namespaceKind, true), { label: 'Audit events' }]);
  else renderBreadcrumbs([{ label: 'Admin area', href: '/admin' }, { label: 'Audit events' }]);
  if (!getToken()) {
    app.appendChild(signInNotice('The audit log'));
    return;
  }
  if (page === 'group_audit_events') {
    const scope = { kind: 'group', path: fullPath } as const;
    renderTabs(app, [
      { id: 'log', label: 'Log', render: (p) => renderLog(p, scope) },
      { id: 'streams', label: 'Streams', render: (p) => renderStreams(p, scope) },
    ]);
  } else if (page === 'admin_audit_events') {
    const scope = { kind: 'instance' } as const;
    renderTabs(app, [
      { id: 'log', label: 'Log', render: (p) => renderLog(p, scope) },
      { id: 'streams', label: 'Streams', render: (p) => renderStreams(p, scope) },
    ]);
  } else {
    app.appendChild(h('p', {}, [h('a', { href: `/${fullPath}/-/releases` }, ['Releases of this project'])]));
    const panel = h('section', { 'aria-label': 'Log' });
    app.appendChild(panel);
    renderLog(panel, { kind: 'project', path: fullPath });
  }
}

export function route(app: HTMLElement, page: string, data: PageData): void {
  const fullPath = data.fullPath || '';
  const namespaceKind = data.namespaceKind || 'group';
  const tag = data.tag || '';
  switch (page) {
    case 'sign_in':
      return renderSignIn(app);
    case 'admin':
      return void renderAdmin(app);
    case 'user':
      return void renderUser(app, data.username || '');
    case 'group':
      return void renderGroup(app, fullPath);
    case 'project':
      return void renderProject(app, fullPath, namespaceKind);
    case 'project_releases':
      app.appendChild(h('p', {}, [h('a', { href: `/${fullPath}/-/audit_events` }, ['Audit events of this project'])]));
      return void renderReleases(app, fullPath, namespaceKind);
    case 'release':
      return void renderRelease(app, fullPath, namespaceKind, tag);
    case 'release_edit':
      return void renderReleaseEdit(app, fullPath, namespaceKind, tag);
    case 'group_audit_events':
    case 'project_audit_events':
    case 'admin_audit_events':
      return renderAuditPage(app, page, fullPath, namespaceKind);
  }
}
