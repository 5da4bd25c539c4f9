/**
 * Does what a page is about exist? A page of a group, project, user or release that does not
 * exist answers an HTML 404 (no single-page fallback answering 200 for everything). Visibility
 * is the client's to show: a navigation carries no token (the pages keep it in sessionStorage),
 * so the Worker cannot know the viewer; a private resource's page answers 200 and the client
 * says "Sign in to see this" (signed out) or that the viewer cannot see it (signed in).
 */
import type { Env } from '../env';
import { findGroup } from '../db/namespaces';
import { findProjectByPath } from '../db/projects';
import { findRelease } from '../db/releases';
import { findUserByUsername } from '../db/users';
import type { PageRoute } from './routes';

/**
 * What the page's shell tells the client about its resource (`data-*` attributes), or null when
 * the resource does not exist.
 */
export async function resolvePage(env: Env, route: PageRoute): Promise<Record<string, string> | null> {
  switch (route.kind) {
    case 'sign_in':
    case 'admin':
    case 'admin_audit_events':
      return {};
    case 'user':
      return (await findUserByUsername(env.DB, route.username)) ? {} : null;
    case 'group':
    case 'group_audit_events':
      return (await findGroup(env.DB, route.fullPath)) ? {} : null;
    case 'project':
    case 'project_audit_events':
    case 'project_releases':
    case 'release':
    case 'release_edit': {
      const project = await findProjectByPath(env.DB, route.fullPath);
      if (!project) return null;
      if ('tag' in route && !(await findRelease(env.DB, project.id, route.tag))) return null;
      // The breadcrumbs link a group namespace to /groups/<path>, a user's to /<username>.
      return { 'namespace-kind': project.namespace.kind };
    }
  }
}
