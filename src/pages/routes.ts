/**
 * Which web page a path names. Pure: no I/O, so the page router and its tests agree on one
 * definition (whether the group, project, user or release exists is src/pages/resolve.ts's
 * question). Paths follow GitLab's own page URLs, which are the `web_url` and `_links` the API
 * returns: `/:username`, `/groups/:path`, `/:namespace/:project`, `/:namespace/:project/-/releases/:tag`
 * (and `/edit`), `/groups/:path/-/audit_events`, `/:namespace/:project/-/audit_events`,
 * `/:namespace/:project/-/releases`, `/admin`, `/admin/audit_events`.
 */

/** A page the Worker serves, with the full path of the group or project (or the user, or the release's tag) it is about. */
export type PageRoute =
  | { kind: 'sign_in' }
  | { kind: 'admin' }
  | { kind: 'admin_audit_events' }
  | { kind: 'user'; username: string }
  | { kind: 'group'; fullPath: string }
  | { kind: 'group_audit_events'; fullPath: string }
  | { kind: 'project'; fullPath: string }
  | { kind: 'project_audit_events'; fullPath: string }
  | { kind: 'project_releases'; fullPath: string }
  | { kind: 'release'; fullPath: string; tag: string }
  | { kind: 'release_edit'; fullPath: string; tag: string };

/** GitLab's path segment format (letters, digits, `_`, `-`, `.`; not starting with `-` or `.`). */
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
/** First segments that are never a user or a namespace (GitLab reserves them too). */
const RESERVED = new Set(['groups', 'admin', 'api', '-', 'users', 'favicon.ico']);

function decode(raw: string): string | null {
  try {
    return decodeURIComponent(raw);
  } catch {
    return null;
  }
}

/** Namespace/project path segments (decoded, each in GitLab's format), or null. */
function pathSegments(raw: string[]): string[] | null {
  const parts: string[] = [];
  for (const r of raw) {
    const part = decode(r);
    if (part === null || !SEGMENT.test(part)) return null;
    parts.push(part);
  }
  return parts.length ? parts : null;
}

/** A project's full path from the segments before `/-/`: at least a namespace and a project. */
function projectPath(raw: string[]): string | null {
  const parts = pathSegments(raw);
  if (!parts || parts.length < 2 || RESERVED.has(parts[0]!)) return null;
  return parts.join('/');
}

/** A project's page under `/-/` (`audit_events`, `releases`, `releases/:tag`, `releases/:tag/edit`), or null. */
function projectSubpage(fullPath: string, rest: string[]): PageRoute | null {
  if (rest.length === 1 && rest[0] === 'audit_events') return { kind: 'project_audit_events', fullPath };
  if (rest[0] !== 'releases') return null;
  if (rest.length === 1) return { kind: 'project_releases', fullPath };
  // The tag is one segment, URL-encoded (`release%2F1.0`), as the API's `_links.self` has it.
  const tag = decode(rest[1]!);
  if (tag === null || tag === '' || /[\u0000-\u001f\u007f]/.test(tag)) return null;
  if (rest.length === 2) return { kind: 'release', fullPath, tag };
  if (rest.length === 3 && rest[2] === 'edit') return { kind: 'release_edit', fullPath, tag };
  return null;
}

/**
 * The page a pathname names, or null. A trailing slash is tolerated. The release download
 * routes (`.../-/releases/:tag/downloads/...`, `.../links/:id`) never match.
 */
export function matchPageRoute(pathname: string): PageRoute | null {
  let path = pathname;
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  if (path === '/' || path === '/-/sign_in') return { kind: 'sign_in' };
  if (path === '/admin') return { kind: 'admin' };
  if (path === '/admin/audit_events') return { kind: 'admin_audit_events' };
  const segs = path.slice(1).split('/');
  const dash = segs.indexOf('-');
  const before = dash < 0 ? segs : segs.slice(0, dash);
  const rest = dash < 0 ? [] : segs.slice(dash + 1);
  if (before[0] === 'groups') {
    const parts = pathSegments(before.slice(1));
    if (!parts) return null;
    const fullPath = parts.join('/');
    if (dash < 0) return { kind: 'group', fullPath };
    return rest.length === 1 && rest[0] === 'audit_events' ? { kind: 'group_audit_events', fullPath } : null;
  }
  if (dash < 0 && before.length === 1) {
    const username = pathSegments(before);
    return username && !RESERVED.has(username[0]!) ? { kind: 'user', username: username[0]! } : null;
  }
  const fullPath = projectPath(before);
  if (!fullPath) return null;
  if (dash < 0) return { kind: 'project', fullPath };
  return projectSubpage(fullPath, rest);
}

/** The page's title (also its h1). */
export function titleOf(route: PageRoute): string {
  switch (route.kind) {
    case 'sign_in':
      return 'Sign in';
    case 'admin':
      return 'Admin area';
    case 'admin_audit_events':
      return 'Audit events · Admin area';
    case 'user':
      return `@${route.username}`;
    case 'group':
      return `Group · ${route.fullPath}`;
    case 'group_audit_events':
      return `Audit events · ${route.fullPath}`;
    case 'project':
      return `Project · ${route.fullPath}`;
    case 'project_audit_events':
      return `Audit events · ${route.fullPath}`;
    case 'project_releases':
      return `Releases · ${route.fullPath}`;
    case 'release':
      return `Release ${route.tag} · ${route.fullPath}`;
    case 'release_edit':
      return `Edit release ${route.tag} · ${route.fullPath}`;
  }
}

/** The `data-*` attributes the client reads from the page's body (besides `data-page`). */
export function pageData(route: PageRoute): Record<string, string> {
  const data: Record<string, string> = { 'full-path': 'fullPath' in route ? route.fullPath : '' };
  if ('tag' in route) data.tag = route.tag;
  if (route.kind === 'user') data.username = route.username;
  return data;
}
