import { pagedSelect, type PageOf } from './paging';

export type SourceType = 'Namespace' | 'Project';

/** A membership with its user, as the members API shows it. */
export interface Member {
  sourceType: SourceType;
  sourceId: number;
  userId: number;
  accessLevel: number;
  expiresAt: string | null;
  createdAt: string;
  createdBy: number | null;
  username: string;
  name: string;
  state: string;
}

/** A row of members joined with its user, as D1 returns it. */
interface MemberRow {
  source_type: SourceType;
  source_id: number;
  user_id: number;
  access_level: number;
  expires_at: string | null;
  created_at: string;
  created_by: number | null;
  username: string;
  name: string;
  state: string;
}

/** Row to domain object. */
function toMember(r: MemberRow): Member {
  return {
    sourceType: r.source_type,
    sourceId: r.source_id,
    userId: r.user_id,
    accessLevel: r.access_level,
    expiresAt: r.expires_at,
    createdAt: r.created_at,
    createdBy: r.created_by,
    username: r.username,
    name: r.name,
    state: r.state,
  };
}

const SELECT = `SELECT m.source_type, m.source_id, m.user_id, m.access_level, m.expires_at, m.created_at, m.created_by,
  u.username, u.name, u.state FROM members m JOIN users u ON u.id = m.user_id`;

/**
 * The membership predicate: SQL condition on a membership `m` that it counts (has not expired:
 * expires_at is a date, it ends on that day). Every query that asks whether a membership grants
 * access, or lists memberships, uses it, so listings agree with can().
 */
export const MEMBER_ACTIVE = `(m.expires_at IS NULL OR m.expires_at > strftime('%Y-%m-%d', 'now'))`;

/**
 * SQL: the user bound to its one `?` holds an active membership in the namespace whose traversal
 * path is the column `traversalPath`, or in one of its ancestors (GitLab's inherited membership).
 */
export function activeNamespaceMembershipSql(traversalPath: string): string {
  return `EXISTS (SELECT 1 FROM members m WHERE m.user_id = ? AND m.source_type = 'Namespace' AND ${MEMBER_ACTIVE}
    AND instr('/' || ${traversalPath}, '/' || m.source_id || '/') > 0)`;
}

/** SQL: the user bound to its one `?` holds an active direct membership in the project whose id is the column `projectId`. */
export function activeProjectMembershipSql(projectId: string): string {
  return `EXISTS (SELECT 1 FROM members m WHERE m.user_id = ? AND m.source_type = 'Project' AND m.source_id = ${projectId} AND ${MEMBER_ACTIVE})`;
}

/**
 * One direct membership, or null. `active` (reads) finds it only while it counts; `any` (the
 * writers) also finds an expired one, so a manager can renew or remove it.
 */
export async function findMember(
  db: D1Database,
  sourceType: SourceType,
  sourceId: number,
  userId: number,
  which: 'active' | 'any' = 'active',
): Promise<Member | null> {
  const row = await db
    .prepare(`${SELECT} WHERE m.source_type = ?1 AND m.source_id = ?2 AND m.user_id = ?3${which === 'active' ? ` AND ${MEMBER_ACTIVE}` : ''}`)
    .bind(sourceType, sourceId, userId)
    .first<MemberRow>();
  return row ? toMember(row) : null;
}

/** Active direct members of a group or project, paged, ordered by user id. */
export function listMembers(
  db: D1Database,
  sourceType: SourceType,
  sourceId: number,
  limit: number,
  offset: number,
): Promise<PageOf<Member>> {
  const where = { sql: `m.source_type = ? AND m.source_id = ? AND ${MEMBER_ACTIVE}`, binds: [sourceType, sourceId] };
  return pagedSelect(db, { select: SELECT, from: 'members m', where, orderBy: 'm.user_id' }, limit, offset, toMember);
}

/** The statement that adds a membership (for a batch with its audit event). */
export function insertMemberStatement(
  db: D1Database,
  m: { sourceType: SourceType; sourceId: number; userId: number; accessLevel: number; expiresAt: string | null; createdBy: number; createdAt: string },
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO members (source_type, source_id, user_id, access_level, expires_at, created_by, created_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)`,
    )
    .bind(m.sourceType, m.sourceId, m.userId, m.accessLevel, m.expiresAt, m.createdBy, m.createdAt);
}

/**
 * SQL: the source (?1, ?2) keeps another active Owner besides user ?3. A change that removes an
 * Owner is conditioned on it inside its own statement, so two racing changes cannot remove
 * the last two Owners.
 */
const ANOTHER_OWNER = `EXISTS (SELECT 1 FROM members m WHERE m.source_type = ?1 AND m.source_id = ?2 AND m.user_id <> ?3
  AND m.access_level = 50 AND ${MEMBER_ACTIVE})`;

/**
 * The statement that changes a membership; with `keepOwner`, it changes nothing when it would
 * take the source's last active Owner away (the member is an Owner and nobody else is).
 */
export function updateMemberStatement(
  db: D1Database,
  m: { sourceType: SourceType; sourceId: number; userId: number; accessLevel: number; expiresAt: string | null },
  keepOwner: boolean,
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE members SET access_level = ?4, expires_at = ?5 WHERE source_type = ?1 AND source_id = ?2 AND user_id = ?3
       AND (?6 = 0 OR ?4 >= 50 OR access_level < 50 OR ${ANOTHER_OWNER})`,
    )
    .bind(m.sourceType, m.sourceId, m.userId, m.accessLevel, m.expiresAt, keepOwner ? 1 : 0);
}

/** The statement that removes a membership; with `keepOwner`, not the source's last active Owner. */
export function deleteMemberStatement(db: D1Database, m: { sourceType: SourceType; sourceId: number; userId: number }, keepOwner: boolean): D1PreparedStatement {
  return db
    .prepare(`DELETE FROM members WHERE source_type = ?1 AND source_id = ?2 AND user_id = ?3 AND (?4 = 0 OR access_level < 50 OR ${ANOTHER_OWNER})`)
    .bind(m.sourceType, m.sourceId, m.userId, keepOwner ? 1 : 0);
}

/**
 * The highest active access level a user holds through the given groups (ancestors included
 * by the caller) and, optionally, a project: GitLab's inherited membership.
 */
export async function maxAccessLevel(
  db: D1Database,
  userId: number,
  namespaceIds: number[],
  projectId: number | null,
): Promise<number> {
  if (namespaceIds.length === 0 && projectId === null) return 0;
  const placeholders = namespaceIds.map((_, i) => `?${i + 3}`).join(', ');
  const nsCond = namespaceIds.length ? `(m.source_type = 'Namespace' AND m.source_id IN (${placeholders}))` : '0';
  const row = await db
    .prepare(
      `SELECT MAX(m.access_level) AS level FROM members m
       WHERE m.user_id = ?1 AND ${MEMBER_ACTIVE}
         AND (${nsCond} OR (m.source_type = 'Project' AND m.source_id = ?2))`,
    )
    .bind(userId, projectId ?? -1, ...namespaceIds)
    .first<{ level: number | null }>();
  return row?.level ?? 0;
}
