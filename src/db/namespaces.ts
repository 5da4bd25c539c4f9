import { sqlText, sqlValue, type Sql, type SqlValue } from './sql';
import { activeNamespaceMembershipSql } from './members';
import { pagedSelect, type Condition, type PageOf } from './paging';

export type Visibility = 'private' | 'internal' | 'public';
export const VISIBILITIES: readonly Visibility[] = ['private', 'internal', 'public'];
/** Visibility as GitLab's numeric level (private 0, internal 10, public 20), for comparisons. */
export const VISIBILITY_LEVEL: Record<Visibility, number> = { private: 0, internal: 10, public: 20 };

/** A group or a user's personal namespace. */
export interface Namespace {
  id: number;
  kind: 'group' | 'user';
  name: string;
  path: string;
  fullPath: string;
  parentId: number | null;
  rootId: number;
  /** Ids from the top-level namespace down to this one, each followed by '/': '1/5/9/'. */
  traversalPath: string;
  ownerId: number | null;
  description: string;
  visibility: Visibility;
  createdAt: string;
}

/** A row of namespaces, as D1 returns it. */
export interface NamespaceRow {
  id: number;
  kind: 'group' | 'user';
  name: string;
  path: string;
  full_path: string;
  parent_id: number | null;
  root_id: number;
  traversal_path: string;
  owner_id: number | null;
  description: string;
  visibility: Visibility;
  created_at: string;
}

export const NAMESPACE_COLUMNS =
  'id, kind, name, path, full_path, parent_id, root_id, traversal_path, owner_id, description, visibility, created_at';

/** Row to domain object. */
export function toNamespace(r: NamespaceRow): Namespace {
  return {
    id: r.id,
    kind: r.kind,
    name: r.name,
    path: r.path,
    fullPath: r.full_path,
    parentId: r.parent_id,
    rootId: r.root_id,
    traversalPath: r.traversal_path,
    ownerId: r.owner_id,
    description: r.description,
    visibility: r.visibility,
    createdAt: r.created_at,
  };
}

/** Ids of a namespace and its ancestors, top-level first, from its traversal path. */
export function ancestorIds(ns: Pick<Namespace, 'traversalPath'>): number[] {
  return ns.traversalPath.split('/').filter(Boolean).map(Number);
}

/** The namespaces with these ids (one query; ids as one JSON array), by id. */
export async function findNamespacesByIds(db: D1Database, ids: number[]): Promise<Map<number, Namespace>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .prepare(`SELECT ${NAMESPACE_COLUMNS} FROM namespaces WHERE id IN (SELECT value FROM json_each(?1))`)
    .bind(JSON.stringify(ids))
    .all<NamespaceRow>();
  return new Map(rows.results.map((r) => [r.id, toNamespace(r)]));
}

/** The namespace with this id, or null. */
export async function findNamespaceById(db: D1Database, id: number): Promise<Namespace | null> {
  const row = await db.prepare(`SELECT ${NAMESPACE_COLUMNS} FROM namespaces WHERE id = ?1`).bind(id).first<NamespaceRow>();
  return row ? toNamespace(row) : null;
}

/** The namespace with this full path (case-insensitive), or null. */
export async function findNamespaceByPath(db: D1Database, fullPath: string): Promise<Namespace | null> {
  const row = await db
    .prepare(`SELECT ${NAMESPACE_COLUMNS} FROM namespaces WHERE full_path = ?1`)
    .bind(fullPath)
    .first<NamespaceRow>();
  return row ? toNamespace(row) : null;
}

/** A group (not a user namespace) by numeric id or full path, as GitLab's `:id` accepts. */
export async function findGroup(db: D1Database, idOrPath: string): Promise<Namespace | null> {
  const ns = /^\d+$/.test(idOrPath)
    ? await findNamespaceById(db, Number(idOrPath))
    : await findNamespaceByPath(db, idOrPath);
  return ns && ns.kind === 'group' ? ns : null;
}

/** Whether a full path is taken by a namespace or a project (GitLab's routes are shared). */
export async function pathTaken(db: D1Database, fullPath: string): Promise<boolean> {
  const row = await db
    .prepare(
      `SELECT EXISTS(SELECT 1 FROM namespaces WHERE full_path = ?1) OR EXISTS(SELECT 1 FROM projects WHERE full_path = ?1) AS taken`,
    )
    .bind(fullPath)
    .first<{ taken: number }>();
  return !!row?.taken;
}

/**
 * The statements that create a group and make its creator an Owner, for one transaction (with
 * the audit event); the last one reads the group back (see insertedGroup). The traversal path
 * and root id are derived from the parent inside the same batch.
 */
export function insertGroupStatements(
  db: D1Database,
  g: { name: string; path: string; fullPath: string; parent: Namespace | null; description: string; visibility: Visibility; creatorId: number; createdAt: string },
): D1PreparedStatement[] {
  return [
    db
      .prepare(
        `INSERT INTO namespaces (kind, name, path, full_path, parent_id, root_id, traversal_path, description, visibility, created_at)
         VALUES ('group', ?1, ?2, ?3, ?4, 0, '', ?5, ?6, ?7)`,
      )
      .bind(g.name, g.path, g.fullPath, g.parent?.id ?? null, g.description, g.visibility, g.createdAt),
    db
      .prepare(
        `UPDATE namespaces SET
           root_id = CASE WHEN ?1 IS NULL THEN id ELSE ?1 END,
           traversal_path = ?2 || id || '/'
         WHERE id = last_insert_rowid()`,
      )
      .bind(g.parent?.rootId ?? null, g.parent?.traversalPath ?? ''),
    db
      .prepare(
        `INSERT INTO members (source_type, source_id, user_id, access_level, created_by, created_at)
         SELECT 'Namespace', id, ?2, 50, ?2, ?3 FROM namespaces WHERE full_path = ?1`,
      )
      .bind(g.fullPath, g.creatorId, g.createdAt),
    db.prepare(`SELECT ${NAMESPACE_COLUMNS} FROM namespaces WHERE full_path = ?1`).bind(g.fullPath),
  ];
}

/** The group that insertGroupStatements created, from their results. */
export function insertedGroup(results: D1Result[]): Namespace {
  return toNamespace((results[results.length - 1].results as NamespaceRow[])[0]);
}

/**
 * A group being created by insertGroupStatements, as the database will give it: its id (by its
 * unique full path), root id and traversal path, for writes in the same transaction (its audit event).
 */
export function newGroupRef(fullPath: string, parent: Namespace | null): { id: SqlValue; fullPath: string; rootId: Sql<number>; traversalPath: Sql<string> } {
  const id = sqlValue('SELECT id FROM namespaces WHERE full_path = ?', fullPath);
  return { id, fullPath, rootId: parent ? parent.rootId : id, traversalPath: sqlText`${parent?.traversalPath ?? ''}${id}/` };
}

/**
 * What a listing shows its caller, as can() decides it: everything (`all`: administrators, or
 * members of the group listed), or what visibility shows anyone and what the caller's active
 * memberships give (a group membership reaches the group's descendants and their projects).
 */
export interface ListingAccess {
  all: boolean;
  /** Visibilities shown without membership (public; internal too when signed in). */
  visibilities: readonly Visibility[];
  /** The caller, whose active memberships show private groups and projects; null when anonymous. */
  userId: number | null;
}

/**
 * SQL: the caller may read the row by `access`. `columns` name the row's visibility and the
 * traversal path of the namespace whose memberships count; `extra` are further memberships that
 * grant it (a project's own), each with one `?` for the caller.
 */
export function readableCondition(access: ListingAccess, columns: { visibility: string; traversalPath: string }, extra: string[] = []): Condition {
  if (access.all) return { sql: '1', binds: [] };
  const { visibility, traversalPath } = columns;
  const parts = access.visibilities.length ? [`${visibility} IN (${access.visibilities.map(() => '?').join(', ')})`] : [];
  const binds: unknown[] = [...access.visibilities];
  if (access.userId !== null) {
    for (const sql of [activeNamespaceMembershipSql(traversalPath), ...extra]) {
      parts.push(sql);
      binds.push(access.userId);
    }
  }
  return { sql: parts.length ? `(${parts.join(' OR ')})` : '0', binds };
}

const GROUP_COLUMNS = { visibility: 'n.visibility', traversalPath: 'n.traversal_path' };

/** Groups (not personal namespaces) the caller can read, paged, ordered by name as GitLab does. */
export function listGroups(db: D1Database, access: ListingAccess, limit: number, offset: number): Promise<PageOf<Namespace>> {
  const readable = readableCondition(access, GROUP_COLUMNS);
  return pagedSelect(
    db,
    { select: `SELECT ${NAMESPACE_COLUMNS} FROM namespaces n`, from: 'namespaces n', where: { sql: `n.kind = 'group' AND ${readable.sql}`, binds: readable.binds }, orderBy: 'n.name, n.id' },
    limit,
    offset,
    toNamespace,
  );
}

/** Direct subgroups of a group that the caller can read, paged, ordered by name as GitLab does. */
export function listSubgroups(db: D1Database, parentId: number, access: ListingAccess, limit: number, offset: number): Promise<PageOf<Namespace>> {
  const readable = readableCondition(access, GROUP_COLUMNS);
  return pagedSelect(
    db,
    {
      select: `SELECT ${NAMESPACE_COLUMNS} FROM namespaces n`,
      from: 'namespaces n',
      where: { sql: `n.parent_id = ? AND n.kind = 'group' AND ${readable.sql}`, binds: [parentId, ...readable.binds] },
      orderBy: 'n.name, n.id',
    },
    limit,
    offset,
    toNamespace,
  );
}
