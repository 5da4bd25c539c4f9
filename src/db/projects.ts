import type { Namespace, Visibility } from './namespaces';
import { NAMESPACE_COLUMNS, readableCondition, toNamespace, type ListingAccess, type NamespaceRow } from './namespaces';
import { activeProjectMembershipSql } from './members';
import { pagedSelect, type PageOf } from './paging';
import { sqlText, sqlValue, type Sql, type SqlValue } from './sql';

/** A project, with the namespace it lives in. */
export interface Project {
  id: number;
  namespaceId: number;
  name: string;
  path: string;
  fullPath: string;
  description: string;
  visibility: Visibility;
  creatorId: number | null;
  createdAt: string;
  namespace: Namespace;
}

/** A row of projects joined with its namespace (whose columns are prefixed `ns_`), as D1 returns it. */
type ProjectRow = {
  id: number;
  namespace_id: number;
  name: string;
  path: string;
  full_path: string;
  description: string;
  visibility: Visibility;
  creator_id: number | null;
  created_at: string;
} & { [K in keyof NamespaceRow as `ns_${K}`]: NamespaceRow[K] };

const COLUMNS = 'p.id, p.namespace_id, p.name, p.path, p.full_path, p.description, p.visibility, p.creator_id, p.created_at';
const NS_COLUMNS = NAMESPACE_COLUMNS.split(', ')
  .map((c) => `n.${c} AS ns_${c}`)
  .join(', ');

/** Row to domain object. */
function toProject(r: ProjectRow): Project {
  const ns: Record<string, unknown> = {};
  for (const c of NAMESPACE_COLUMNS.split(', ')) ns[c] = r[`ns_${c}` as keyof ProjectRow];
  return {
    id: r.id,
    namespaceId: r.namespace_id,
    name: r.name,
    path: r.path,
    fullPath: r.full_path,
    description: r.description,
    visibility: r.visibility,
    creatorId: r.creator_id,
    createdAt: r.created_at,
    namespace: toNamespace(ns as unknown as NamespaceRow),
  };
}

const SELECT = `SELECT ${COLUMNS}, ${NS_COLUMNS} FROM projects p JOIN namespaces n ON n.id = p.namespace_id`;

/** The project with this id, or null. */
export async function findProjectById(db: D1Database, id: number): Promise<Project | null> {
  const row = await db.prepare(`${SELECT} WHERE p.id = ?1`).bind(id).first<ProjectRow>();
  return row ? toProject(row) : null;
}

/** The projects with these ids (one query; ids as one JSON array), by id. */
export async function findProjectsByIds(db: D1Database, ids: number[]): Promise<Map<number, Project>> {
  if (ids.length === 0) return new Map();
  const rows = await db.prepare(`${SELECT} WHERE p.id IN (SELECT value FROM json_each(?1))`).bind(JSON.stringify(ids)).all<ProjectRow & Record<string, unknown>>();
  return new Map(rows.results.map((r) => [r.id, toProject(r)]));
}

/** The project with this full path (case-insensitive), or null. */
export async function findProjectByPath(db: D1Database, fullPath: string): Promise<Project | null> {
  const row = await db.prepare(`${SELECT} WHERE p.full_path = ?1`).bind(fullPath).first<ProjectRow>();
  return row ? toProject(row) : null;
}

/** A project by numeric id or full path, as GitLab's `:id` accepts. */
export async function findProject(db: D1Database, idOrPath: string): Promise<Project | null> {
  return /^\d+$/.test(idOrPath) ? findProjectById(db, Number(idOrPath)) : findProjectByPath(db, idOrPath);
}

/**
 * The projects of a namespace that the caller can read, paged, newest first: one round trip
 * whatever their number (visibility, and the caller's active memberships in the namespace, its
 * ancestors or the project itself, are decided in the query, as can(read_project) decides them).
 */
export function listNamespaceProjects(db: D1Database, namespaceId: number, access: ListingAccess, limit: number, offset: number): Promise<PageOf<Project>> {
  const readable = readableCondition(access, { visibility: 'p.visibility', traversalPath: 'n.traversal_path' }, [activeProjectMembershipSql('p.id')]);
  return pagedSelect(
    db,
    {
      select: SELECT,
      from: 'projects p JOIN namespaces n ON n.id = p.namespace_id',
      where: { sql: `p.namespace_id = ? AND ${readable.sql}`, binds: [namespaceId, ...readable.binds] },
      orderBy: 'p.id DESC',
    },
    limit,
    offset,
    toProject,
  );
}

/** Every project the caller can read (GitLab's `GET /projects`), paged, newest first; one round trip. */
export function listReadableProjects(db: D1Database, access: ListingAccess, limit: number, offset: number): Promise<PageOf<Project>> {
  const readable = readableCondition(access, { visibility: 'p.visibility', traversalPath: 'n.traversal_path' }, [activeProjectMembershipSql('p.id')]);
  return pagedSelect(db, { select: SELECT, from: 'projects p JOIN namespaces n ON n.id = p.namespace_id', where: readable, orderBy: 'p.id DESC' }, limit, offset, toProject);
}

/** The statements that create a project, for one transaction (with its audit event); the last one reads it back (see insertedProject). */
export function insertProjectStatements(
  db: D1Database,
  p: { namespace: Namespace; name: string; path: string; description: string; visibility: Visibility; creatorId: number; createdAt: string },
): D1PreparedStatement[] {
  const fullPath = `${p.namespace.fullPath}/${p.path}`;
  return [
    db
      .prepare(
        `INSERT INTO projects (namespace_id, name, path, full_path, description, visibility, creator_id, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)`,
      )
      .bind(p.namespace.id, p.name, p.path, fullPath, p.description, p.visibility, p.creatorId, p.createdAt),
    db.prepare(`${SELECT} WHERE p.full_path = ?1`).bind(fullPath),
  ];
}

/** The project that insertProjectStatements created, from their results. */
export function insertedProject(results: D1Result[]): Project {
  return toProject((results[results.length - 1].results as ProjectRow[])[0]);
}

/**
 * A project being created by insertProjectStatements, as the database will give it (its id by
 * its unique full path), for writes in the same transaction (its audit event).
 */
export function newProjectRef(namespace: Namespace, path: string): { id: SqlValue; fullPath: string; namespace: Namespace } {
  const fullPath = `${namespace.fullPath}/${path}`;
  return { id: sqlValue('SELECT id FROM projects WHERE full_path = ?', fullPath), fullPath, namespace };
}

/** The hierarchy position of a project, matched by namespace filters and group listings. */
export function projectScopePath(project: Pick<Project, 'id' | 'namespace'>): string;
/** Of a project being created, whose id the database gives: the path is given by the database too. */
export function projectScopePath(project: { id: Sql<number>; namespace: Pick<Namespace, 'traversalPath'> }): Sql<string>;
export function projectScopePath(project: { id: Sql<number>; namespace: Pick<Namespace, 'traversalPath'> }): Sql<string> {
  return sqlText`${project.namespace.traversalPath}p${project.id}/`;
}
