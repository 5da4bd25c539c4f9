/**
 * Loading streaming destinations and what hangs off them for a caller, through the policy
 * module: group destinations for the Owner of their top-level group, instance destinations for
 * administrators. Anything the caller may not manage is DestinationNotAvailable, so the answer
 * reveals nothing about what exists.
 */
import type { Actor } from '../auth/authenticate';
import { can } from '../auth/policy';
import { findNamespaceById, findNamespaceByPath, type Namespace } from '../db/namespaces';
import { findProjectByPath, projectScopePath } from '../db/projects';
import {
  findDestination,
  findHeader,
  findNamespaceFilter,
  type Destination,
  type DestinationScope,
  type NamespaceFilter,
  type StreamingHeader,
} from '../db/destinations';
import { DestinationArgumentError, DestinationNotAvailable } from './errors';

/** A destination with the group it belongs to (null for instance destinations). */
export interface Owned {
  destination: Destination;
  group: Namespace | null;
}

/** A group destination with its group. */
export type OwnedGroupDestination = Owned & { group: Namespace };

/** A header with its destination. */
export type OwnedHeader = Owned & { header: StreamingHeader };

/** Who asks. */
export interface Caller {
  db: D1Database;
  actor: Actor | null;
}

/** Whether the caller may read (write: manage) a destination and its secrets and deliveries. */
export async function mayAccessDestination(c: Caller, d: Pick<Destination, 'scope' | 'namespaceId'>, write: boolean): Promise<boolean> {
  if (d.scope === 'instance') return can(c.db, c.actor, write ? 'admin_instance_streaming' : 'read_instance_streaming');
  const group = d.namespaceId ? await findNamespaceById(c.db, d.namespaceId) : null;
  return !!group && can(c.db, c.actor, write ? 'admin_group_streaming' : 'read_group_streaming', { kind: 'group', group });
}

/**
 * A destination of this scope by id (null: none), of any category when `anyCategory` (the
 * consolidated API); otherwise http only, as the legacy API sees the one store.
 */
async function findOfApi(c: Caller, scope: DestinationScope, id: number | null, anyCategory: boolean): Promise<Destination | null> {
  const destination = id === null ? null : await findDestination(c.db, scope, id);
  return destination && (anyCategory || destination.category === 'http') ? destination : null;
}

/** The group destination with this id (null: none), if the caller may manage it (`anyCategory`: see findOfApi). */
export async function loadGroupDestination(c: Caller, id: number | null, anyCategory = false): Promise<OwnedGroupDestination> {
  const destination = await findOfApi(c, 'group', id, anyCategory);
  const group = destination?.namespaceId ? await findNamespaceById(c.db, destination.namespaceId) : null;
  if (!destination || !group || !(await can(c.db, c.actor, 'admin_group_streaming', { kind: 'group', group }))) {
    throw new DestinationNotAvailable();
  }
  return { destination, group };
}

/** The instance destination with this id (null: none), for administrators only (`anyCategory`: see findOfApi). */
export async function loadInstanceDestination(c: Caller, id: number | null, anyCategory = false): Promise<Owned> {
  if (!(await can(c.db, c.actor, 'admin_instance_streaming'))) throw new DestinationNotAvailable();
  const destination = await findOfApi(c, 'instance', id, anyCategory);
  if (!destination) throw new DestinationNotAvailable();
  return { destination, group: null };
}

/** A destination of either scope, if the caller may manage it (`anyCategory`: see findOfApi). */
export function loadDestination(c: Caller, scope: DestinationScope, id: number | null, anyCategory = false): Promise<Owned> {
  return scope === 'group' ? loadGroupDestination(c, id, anyCategory) : loadInstanceDestination(c, id, anyCategory);
}

/** A header of a destination of this scope, with its destination, if the caller may manage it. */
export async function loadHeader(c: Caller, scope: DestinationScope, id: number | null): Promise<OwnedHeader> {
  const header = id === null ? null : await findHeader(c.db, id);
  if (!header) throw new DestinationNotAvailable();
  return { ...(await loadDestination(c, scope, header.destinationId)), header };
}

/** The group a destination may be created on, or GitLab's errors. */
export async function groupForCreate(c: Caller, groupPath: string): Promise<{ group: Namespace; errors: string[] }> {
  const group = await findNamespaceByPath(c.db, groupPath);
  if (!group || group.kind !== 'group') throw new DestinationNotAvailable();
  if (group.parentId !== null) {
    // An owner of a subgroup learns why; anyone else learns nothing.
    if (!(await can(c.db, c.actor, 'admin_group_streaming_any_level', { kind: 'group', group }))) throw new DestinationNotAvailable();
    return { group, errors: ['Group must not be a subgroup'] };
  }
  if (!(await can(c.db, c.actor, 'admin_group_streaming', { kind: 'group', group }))) throw new DestinationNotAvailable();
  return { group, errors: [] };
}

/** Instance destinations are created by administrators only. */
export async function instanceForCreate(c: Caller): Promise<{ group: null; errors: string[] }> {
  if (!(await can(c.db, c.actor, 'admin_instance_streaming'))) throw new DestinationNotAvailable();
  return { group: null, errors: [] };
}

/** Where a namespace filter points: a subgroup or project of the destination's group. */
export interface FilterTarget {
  kind: 'group' | 'project';
  id: number;
  scopePath: string;
}

const OTHER_TOP_LEVEL_GROUP = 'External audit event destination does not belong to the top-level group of the namespace.';

/** The namespace a namespace filter would restrict a destination to, with its scope path. */
export async function namespaceForFilter(
  c: Caller,
  owned: OwnedGroupDestination,
  groupPath: string | null | undefined,
  projectPath: string | null | undefined,
): Promise<FilterTarget | { error: string }> {
  const root = owned.group.id;
  if (groupPath) {
    const ns = await findNamespaceByPath(c.db, groupPath);
    if (!ns || ns.kind !== 'group') throw new DestinationNotAvailable();
    if (ns.rootId !== root) {
      if (!(await can(c.db, c.actor, 'read_group', { kind: 'group', group: ns }))) throw new DestinationNotAvailable();
      return { error: OTHER_TOP_LEVEL_GROUP };
    }
    return { kind: 'group', id: ns.id, scopePath: ns.traversalPath };
  }
  const project = await findProjectByPath(c.db, projectPath ?? '');
  if (!project) throw new DestinationNotAvailable();
  if (project.namespace.kind !== 'group' || project.namespace.rootId !== root) {
    if (!(await can(c.db, c.actor, 'read_project', { kind: 'project', project }))) throw new DestinationNotAvailable();
    return { error: OTHER_TOP_LEVEL_GROUP };
  }
  return { kind: 'project', id: project.id, scopePath: projectScopePath(project) };
}

/** A namespace filter with its group destination, if the caller may manage that destination. */
export async function loadNamespaceFilter(c: Caller, id: number | null): Promise<OwnedGroupDestination & { filter: NamespaceFilter }> {
  const filter = id === null ? null : await findNamespaceFilter(c.db, id);
  if (!filter) throw new DestinationNotAvailable();
  return { ...(await loadGroupDestination(c, filter.destinationId)), filter };
}

/** A namespace filter of a destination of this scope (any category), with it, if the caller may manage it. */
export async function loadScopedNamespaceFilter(c: Caller, scope: DestinationScope, id: number | null): Promise<Owned & { filter: NamespaceFilter }> {
  const filter = id === null ? null : await findNamespaceFilter(c.db, id);
  if (!filter) throw new DestinationNotAvailable();
  return { ...(await loadDestination(c, scope, filter.destinationId, true)), filter };
}

const NOT_GROUP_OR_PROJECT = 'namespace_path should be of group or project only.';

/**
 * The group or project a consolidated namespace filter names by full path (GitLab's
 * `namespacePath`): for a group destination, inside its top-level group (GitLab's errors
 * otherwise); for an instance destination, any group or project.
 */
export async function namespaceForPath(c: Caller, owned: Owned, path: string | null | undefined): Promise<FilterTarget | { error: string }> {
  const group = path ? await findNamespaceByPath(c.db, path) : null;
  const project = path && !group ? await findProjectByPath(c.db, path) : null;
  if ((!group || group.kind !== 'group') && !project) throw new DestinationArgumentError(NOT_GROUP_OR_PROJECT);
  if (owned.group) return namespaceForFilter(c, { ...owned, group: owned.group }, project ? null : path, project ? path : null);
  if (project) return { kind: 'project', id: project.id, scopePath: projectScopePath(project) };
  return { kind: 'group', id: group!.id, scopePath: group!.traversalPath };
}
