/**
 * The one place that decides who may do what, for every surface (REST, GraphQL, the download
 * redirect, the pages). GitLab's model: access levels Guest 10, Reporter 20, Developer 30,
 * Maintainer 40, Owner 50; a group membership applies to its subgroups and projects, the
 * highest level wins; administrators may do everything; reading depends on visibility.
 */
import type { Namespace, Visibility } from '../db/namespaces';
import { ancestorIds } from '../db/namespaces';
import type { Project } from '../db/projects';
import { maxAccessLevel } from '../db/members';
import { canWrite, SCOPES, type Actor } from './authenticate';

export const AccessLevel = {
  NoAccess: 0,
  Guest: 10,
  Reporter: 20,
  Developer: 30,
  Maintainer: 40,
  Owner: 50,
} as const;
export const ACCESS_LEVELS = [10, 20, 30, 40, 50] as const;
/** GitLab's names, for audit messages ("Changed access level from Guest to Developer"). */
export const ACCESS_LEVEL_NAMES: Record<number, string> = {
  0: 'No access',
  10: 'Guest',
  20: 'Reporter',
  30: 'Developer',
  40: 'Maintainer',
  50: 'Owner',
};

/**
 * What an action is done to. A `group` may also be a user's personal namespace (its owner holds
 * Owner there). A `user` is a user account (their tokens, their private fields). A `membership`
 * is an access level held or granted in a group or project.
 */
export type Resource =
  | { kind: 'instance' }
  | { kind: 'group'; group: Namespace }
  | { kind: 'project'; project: Project }
  | { kind: 'user'; userId: number }
  | { kind: 'membership'; source: { kind: 'group'; group: Namespace } | { kind: 'project'; project: Project }; accessLevel: number };

/**
 * What a rule needs: a minimum access level on the resource, or "administrator only";
 * `visibilityRead` lets visibility grant the action (public: anyone, internal: any signed-in
 * user); `write` actions need a token with scope `api`; `topLevel` groups only; `self`: the
 * user resource is the actor; `levelCeiling`: the actor's own level on the membership's source
 * is at least the membership's level; `signedIn`: any signed-in user whose token has a scope of
 * this API (administrators pass every other rule).
 */
interface Rule {
  signedIn?: boolean;
  minLevel?: number;
  adminOnly?: boolean;
  visibilityRead?: boolean;
  write?: boolean;
  topLevel?: boolean;
  self?: boolean;
  levelCeiling?: boolean;
}

const RULES = {
  // Any user
  /** Use the API at all (the download route's token check): a token with scope api or read_api. */
  use_api: { signedIn: true },
  /** Change anything through the API (the REST router checks it before every write): scope api. */
  write_api: { signedIn: true, write: true },
  /** Create a top-level group: any user (GitLab's can_create_group, on by default). */
  create_group: { signedIn: true, write: true },
  // Instance
  admin_instance: { adminOnly: true, write: true },
  /** See every group and every user's private fields (e-mail, admin flag); list any user's tokens. */
  read_instance: { adminOnly: true },
  read_instance_audit_events: { adminOnly: true },
  admin_instance_streaming: { adminOnly: true, write: true },
  /** Ask for an audit log checkpoint now; acknowledge an integrity failure (issue 18). */
  admin_audit_log: { adminOnly: true, write: true },
  /** Read the audit log's signed checkpoints and consistency proofs: any signed-in user (issue 18). */
  read_audit_log_checkpoints: { signedIn: true },
  read_instance_streaming: { adminOnly: true },
  // Groups
  read_group: { minLevel: AccessLevel.Guest, visibilityRead: true },
  /** Members of a group (inherited access included) see all its subgroups, private ones too. */
  read_all_subgroups: { minLevel: AccessLevel.Guest },
  create_subgroup: { minLevel: AccessLevel.Owner, write: true },
  /** In a group, or in a personal namespace (its owner). */
  create_project: { minLevel: AccessLevel.Maintainer, write: true },
  admin_group_member: { minLevel: AccessLevel.Owner, write: true },
  admin_group_streaming: { minLevel: AccessLevel.Owner, write: true, topLevel: true },
  read_group_streaming: { minLevel: AccessLevel.Owner, topLevel: true },
  /** Owner of any group, top-level or not: tells a subgroup's owner "Group must not be a subgroup" instead of "not found". */
  admin_group_streaming_any_level: { minLevel: AccessLevel.Owner, write: true },
  /** See one's own events in a group's audit log (GitLab: Developer and Maintainer). */
  read_group_audit_events: { minLevel: AccessLevel.Developer },
  /** See every event of a group's audit log (GitLab: Owner). */
  read_all_group_audit_events: { minLevel: AccessLevel.Owner },
  // Projects
  read_project: { minLevel: AccessLevel.Guest, visibilityRead: true },
  read_release: { minLevel: AccessLevel.Reporter, visibilityRead: true },
  create_release: { minLevel: AccessLevel.Developer, write: true },
  update_release: { minLevel: AccessLevel.Developer, write: true },
  destroy_release: { minLevel: AccessLevel.Maintainer, write: true },
  admin_project_member: { minLevel: AccessLevel.Maintainer, write: true },
  read_project_audit_events: { minLevel: AccessLevel.Developer },
  read_all_project_audit_events: { minLevel: AccessLevel.Maintainer },
  // Memberships
  /** Grant, or change or remove a member holding, this level: not above one's own (a project Maintainer makes no Owners). */
  admin_member_at_level: { levelCeiling: true, write: true },
  // Users
  /** A user's private fields (e-mail, admin flag): themselves. */
  read_user_private: { self: true },
  /** See a user's personal access tokens: their own. */
  read_user_tokens: { self: true },
  /** Revoke a user's personal access tokens: their own. */
  admin_user_tokens: { self: true, write: true },
} satisfies Record<string, Rule>;

export type Action = keyof typeof RULES;

/** Every action there is. */
export const ACTIONS = Object.keys(RULES) as Action[];

/** Per-request memo of computed access levels, keyed by resource. */
const levelMemo = new WeakMap<Actor, Map<string, number>>();

/**
 * A user's effective access level on a group or project through memberships: the highest of
 * their memberships in it and its ancestors; Owner for the owner of a personal namespace (not
 * the administrators' implicit Owner: that is `can()`'s). GitLab's "all members" level.
 */
export async function membershipLevel(
  db: D1Database,
  userId: number,
  resource: { kind: 'group'; group: Namespace } | { kind: 'project'; project: Project },
): Promise<number> {
  if (resource.kind === 'group') {
    const group = resource.group;
    if (group.kind === 'user' && group.ownerId === userId) return AccessLevel.Owner;
    return maxAccessLevel(db, userId, ancestorIds(group), null);
  }
  const ns = resource.project.namespace;
  if (ns.kind === 'user' && ns.ownerId === userId) return AccessLevel.Owner;
  return maxAccessLevel(db, userId, ns.kind === 'group' ? ancestorIds(ns) : [], resource.project.id);
}

/**
 * The actor's effective access level on a group or project: the highest of their memberships
 * in it and its ancestors; Owner for administrators and for the owner of a personal namespace.
 */
async function accessLevel(db: D1Database, actor: Actor | null, resource: Resource): Promise<number> {
  if (!actor || (resource.kind !== 'group' && resource.kind !== 'project')) return AccessLevel.NoAccess;
  if (actor.user.isAdmin) return AccessLevel.Owner;
  const key = resource.kind === 'group' ? `g${resource.group.id}` : `p${resource.project.id}`;
  let memo = levelMemo.get(actor);
  if (!memo) levelMemo.set(actor, (memo = new Map()));
  const cached = memo.get(key);
  if (cached !== undefined) return cached;
  const level = await membershipLevel(db, actor.user.id, resource);
  memo.set(key, level);
  return level;
}

/**
 * The visibilities that let this caller read without membership (rules with `visibilityRead`):
 * public for anyone, internal for any signed-in user. Listings filter by the same list.
 */
export function visibleWithoutMembership(actor: Actor | null): Visibility[] {
  return actor ? ['public', 'internal'] : ['public'];
}

function visibilityOf(resource: Resource): Visibility {
  if (resource.kind === 'group') return resource.group.visibility;
  if (resource.kind === 'project') return resource.project.visibility;
  return 'private';
}

/** May this actor do this action to this resource? The only authorization check there is. */
export async function can(db: D1Database, actor: Actor | null, action: Action, resource: Resource = { kind: 'instance' }): Promise<boolean> {
  const rule: Rule = RULES[action];
  if (rule.write && !canWrite(actor)) return false;
  if (rule.signedIn) return actor !== null && (SCOPES as readonly string[]).some((s) => actor.scopes.includes(s));
  if (rule.topLevel && resource.kind === 'group' && resource.group.parentId !== null) return false;
  if (actor?.user.isAdmin) return true;
  if (rule.adminOnly) return false;
  if (rule.visibilityRead && visibleWithoutMembership(actor).includes(visibilityOf(resource))) return true;
  if (!actor) return false;
  if (rule.self) return resource.kind === 'user' && resource.userId === actor.user.id;
  if (rule.levelCeiling) return resource.kind === 'membership' && (await accessLevel(db, actor, resource.source)) >= resource.accessLevel;
  if (rule.minLevel === undefined) return false;
  return (await accessLevel(db, actor, resource)) >= rule.minLevel;
}
