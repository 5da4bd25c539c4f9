import type { Namespace, Visibility } from './namespaces';
import { NAMESPACE_COLUMNS, toNamespace, type NamespaceRow } from './namespaces';

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

interface ProjectRow {
  id: number;
  namespace_id: number;
  name: string;
  path: string;
  full_path: string;
  description: string;
  visibility: Visibility;
  creator_id: number | null;
  created_at: string;
}

const COLUMNS = 'p.id, p.namespace_id, p.name, p.path, p.full_path, p.description, p.visibility, p.creator_id, p.created_at';
const NS_COLUMNS = NAMESPACE_COLUMNS.split(', ')
  .map((c) => `n.${c} AS ns_${c}`)
  .join(', ');

function toProject(r: ProjectRow & Record<string, unknown>): Project {
  const ns: Record<string, unknown> = {};
  for (const c of NAMESPACE_COLUMNS.split(', ')) ns[c] = r[`ns_${c}`];
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
  const row = await db.prepare(`${SELECT} WHERE p.id = ?1`).bind(id).first<ProjectRow & Record<string, unknown>>();
  return row ? toProject(row) : null;
}

/** The project with this full path (case-insensitive), or null. */
export async function findProjectByPath(db: D1Database, fullPath: string): Promise<Project | null> {
  const row = await db.prepare(`${SELECT} WHERE p.full_path = ?1`).bind(fullPath).first<ProjectRow & Record<string, unknown>>();
  return row ? toProject(row) : null;
}

/** A project by numeric id or full path, as GitLab's `:id` accepts. */
export async function findProject(db: D1Database, idOrPath: string): Promise<Project | null> {
  return /^\d+$/.test(idOrPath) ? findProjectById(db, Number(idOrPath)) : findProjectByPath(db, idOrPath);
}

/** Create a project. */
export async function insertProject(
  db: D1Database,
  p: { namespace: Namespace; name: string; path: string; description: string; visibility: Visibility; creatorId: number; createdAt: string },
): Promise<Project> {
  const fullPath = `${p.namespace.fullPath}/${p.path}`;
  const row = await db
    .prepare(
      `INSERT INTO projects (namespace_id, name, path, full_path, description, visibility, creator_id, created_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id`,
    )
    .bind(p.namespace.id, p.name, p.path, fullPath, p.description, p.visibility, p.creatorId, p.createdAt)
    .first<{ id: number }>();
  return (await findProjectById(db, row!.id))!;
}

/** The hierarchy position of a project, matched by namespace filters and group listings. */
export function projectScopePath(project: Pick<Project, 'id' | 'namespace'>): string {
  return `${project.namespace.traversalPath}p${project.id}/`;
}
