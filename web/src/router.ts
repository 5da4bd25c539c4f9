/** Which page module renders #app, by the page the Worker named in `<body data-page>` (src/pages/routes.ts). */
import { signInNotice } from './account';
import { getToken } from './api';
import { h } from './dom';
import { renderLog } from './pages/log';
import { renderReleases } from './pages/releases';
import { renderSignIn } from './pages/sign_in';
import { renderStreams } from './streams/list';
import { renderTabs } from './tabs';

/** The `data-*` attributes of the page's body: `fullPath` and the like. */
export type PageData = DOMStringMap;

export function route(app: HTMLElement, page: string, data: PageData): void {
  const fullPath = data.fullPath || '';
  if (page === 'sign_in') {
    renderSignIn(app);
    return;
  }
  if (page === 'project_releases') {
    app.appendChild(h('p', {}, [h('a', { href: `/${fullPath}/-/audit_events` }, ['Audit events of this project'])]));
    renderReleases(app, fullPath);
    return;
  }
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
  } else if (page === 'project_audit_events') {
    app.appendChild(h('p', {}, [h('a', { href: `/${fullPath}/-/releases` }, ['Releases of this project'])]));
    const panel = h('section', { 'aria-label': 'Log' });
    app.appendChild(panel);
    renderLog(panel, { kind: 'project', path: fullPath });
  }
}
