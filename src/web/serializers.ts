/** JSON shapes of GitLab's REST API entities (the fields clients read). */
import type { Member } from '../db/members';
import type { Namespace } from '../db/namespaces';
import type { Project } from '../db/projects';
import type { PersonalAccessToken } from '../db/tokens';
import type { User } from '../db/users';

/** GitLab's API::Entities::UserBasic. */
export function userBasicJson(u: Pick<User, 'id' | 'username' | 'name' | 'state'>, origin: string) {
  return {
    id: u.id,
    username: u.username,
    name: u.name,
    state: u.state,
    locked: false,
    avatar_url: null,
    web_url: `${origin}/${u.username}`,
  };
}

/** GitLab's API::Entities::User (email and is_admin only for the user themself or an admin). */
export function userJson(u: User, origin: string, full: boolean) {
  const base = { ...userBasicJson(u, origin), created_at: u.createdAt, bio: '', bot: false };
  return full ? { ...base, email: u.email, public_email: null, is_admin: u.isAdmin, namespace_id: u.namespaceId } : base;
}

/** GitLab's API::Entities::PersonalAccessToken (plus `token` on creation only). */
export function tokenJson(t: PersonalAccessToken, token?: string) {
  const active = !t.revoked && (t.expiresAt === null || t.expiresAt > new Date().toISOString().slice(0, 10));
  return {
    id: t.id,
    name: t.name,
    revoked: t.revoked,
    created_at: t.createdAt,
    description: null,
    scopes: t.scopes,
    user_id: t.userId,
    last_used_at: t.lastUsedAt,
    active,
    expires_at: t.expiresAt,
    ...(token !== undefined ? { token } : {}),
  };
}

/** GitLab's API::Entities::Group. */
export function groupJson(g: Namespace, origin: string) {
  return {
    id: g.id,
    web_url: `${origin}/groups/${g.fullPath}`,
    name: g.name,
    path: g.path,
    description: g.description,
    visibility: g.visibility,
    full_name: g.name,
    full_path: g.fullPath,
    parent_id: g.parentId,
    created_at: g.createdAt,
    avatar_url: null,
  };
}

/** GitLab's namespace summary inside a project. */
export function namespaceJson(n: Namespace, origin: string) {
  return {
    id: n.id,
    name: n.name,
    path: n.path,
    kind: n.kind,
    full_path: n.fullPath,
    parent_id: n.parentId,
    avatar_url: null,
    web_url: n.kind === 'group' ? `${origin}/groups/${n.fullPath}` : `${origin}/${n.fullPath}`,
  };
}

/** GitLab's API::Entities::Project (the common fields). */
export function projectJson(p: Project, origin: string) {
  return {
    id: p.id,
    description: p.description,
    name: p.name,
    name_with_namespace: `${p.namespace.name} / ${p.name}`,
    path: p.path,
    path_with_namespace: p.fullPath,
    created_at: p.createdAt,
    default_branch: 'main',
    visibility: p.visibility,
    web_url: `${origin}/${p.fullPath}`,
    namespace: namespaceJson(p.namespace, origin),
    creator_id: p.creatorId,
  };
}

/** GitLab's API::Entities::Member. */
export function memberJson(m: Member, origin: string) {
  return {
    ...userBasicJson({ id: m.userId, username: m.username, name: m.name, state: m.state as User['state'] }, origin),
    access_level: m.accessLevel,
    created_at: m.createdAt,
    created_by: null,
    expires_at: m.expiresAt,
    membership_state: 'active',
  };
}
