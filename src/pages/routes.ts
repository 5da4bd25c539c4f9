/**
 * Which web page a path names. Pure: no I/O, so the page router and its tests agree on one
 * definition. Paths follow GitLab's own page URLs (`/groups/:path/-/audit_events`,
 * `/:namespace/:project/-/audit_events`, `/admin/audit_events`, `/:namespace/:project/-/releases`).
 */

/** A page the Worker serves, with the full path of the group or project it is about. */
export type PageRoute =
  | { kind: 'sign_in' }
  | { kind: 'group_audit_events'; fullPath: string }
  | { kind: 'project_audit_events'; fullPath: string }
  | { kind: 'admin_audit_events' }
  | { kind: 'project_releases'; fullPath: string };

/** GitLab's path segment format (letters, digits, `_`, `-`, `.`; not starting with `-` or `.`). */
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

function segments(path: string): string[] | null {
  const parts = path.split('/');
  for (const part of parts) if (!SEGMENT.test(part)) return null;
  return parts;
}

/**
 * The page a pathname names, or null. A trailing slash is tolerated. The release download
 * routes (`.../-/releases/:tag/downloads/...`) never match: only the exact `/-/releases` page does.
 */
export function matchPageRoute(pathname: string): PageRoute | null {
  let path: string;
  try {
    path = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  if (path === '/' || path === '/-/sign_in') return { kind: 'sign_in' };
  if (path === '/admin/audit_events') return { kind: 'admin_audit_events' };

  const group = /^\/groups\/(.+)\/-\/audit_events$/.exec(path);
  if (group) {
    const parts = segments(group[1]!);
    return parts ? { kind: 'group_audit_events', fullPath: parts.join('/') } : null;
  }
  const project = /^\/(.+)\/-\/(audit_events|releases)$/.exec(path);
  if (project) {
    const parts = segments(project[1]!);
    // A project lives in a namespace: at least two segments; `groups/...` is the group page.
    if (!parts || parts.length < 2 || parts[0] === 'groups' || parts[0] === 'admin') return null;
    const fullPath = parts.join('/');
    return project[2] === 'releases' ? { kind: 'project_releases', fullPath } : { kind: 'project_audit_events', fullPath };
  }
  return null;
}

/** The page's title (also its h1). */
export function titleOf(route: PageRoute): string {
  switch (route.kind) {
    case 'sign_in':
      return 'Sign in';
    case 'group_audit_events':
      return `Audit events · ${route.fullPath}`;
    case 'project_audit_events':
      return `Audit events · ${route.fullPath}`;
    case 'admin_audit_events':
      return 'Audit events · Admin area';
    case 'project_releases':
      return `Releases · ${route.fullPath}`;
  }
}

/** The `data-*` attributes the client reads from the page's body (besides `data-page`). */
export function pageData(route: PageRoute): Record<string, string> {
  return { 'full-path': 'fullPath' in route ? route.fullPath : '' };
}
