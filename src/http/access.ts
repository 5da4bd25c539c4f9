/**
 * Who the REST caller is and what they may reach, shared by the resource files: the signed-in
 * caller, a `can()` check with REST's 401/403, and the group and project loaders that answer 404
 * for anything the caller may not read. Resource files import this, never each other.
 */
import { can, visibleWithoutMembership, type Action, type Resource } from '../auth/policy';
import type { Actor } from '../auth/authenticate';
import { findGroup, type ListingAccess, type Namespace } from '../db/namespaces';
import { findProject, type Project } from '../db/projects';
import { forbidden, notFound, unauthorized } from '../web/errors';
import type { App } from './context';

/** The signed-in user, or 401. */
export function requireActor(app: App): Actor {
  if (!app.actor) throw unauthorized();
  return app.actor;
}

/** The signed-in user if they may do `action` (401 anonymous, 403 otherwise). */
export async function requireAllowed(app: App, action: Action, resource?: Resource): Promise<Actor> {
  const actor = requireActor(app);
  if (!(await can(app.env.DB, actor, action, resource))) throw forbidden();
  return actor;
}

/**
 * What a listing shows the caller: everything when they may do `allAction` (to `resource`),
 * otherwise what visibility and their active memberships show them (decided in the query).
 */
export async function listingAccess(app: App, allAction: Action, resource?: Resource): Promise<ListingAccess> {
  return {
    all: await can(app.env.DB, app.actor, allAction, resource),
    visibilities: visibleWithoutMembership(app.actor),
    userId: app.actor?.user.id ?? null,
  };
}

/** The group `:id` (number or URL-encoded full path) if the caller may read it; otherwise 404. */
export async function loadReadableGroup(app: App, raw: string): Promise<Namespace> {
  const group = await findGroup(app.env.DB, raw);
  if (!group || !(await can(app.env.DB, app.actor, 'read_group', { kind: 'group', group }))) throw notFound('Group');
  return group;
}

/** The project `:id` (number or URL-encoded full path) if the caller may read it; otherwise 404. */
export async function loadReadableProject(app: App, raw: string): Promise<Project> {
  const project = await findProject(app.env.DB, raw);
  if (!project || !(await can(app.env.DB, app.actor, 'read_project', { kind: 'project', project }))) throw notFound('Project');
  return project;
}
