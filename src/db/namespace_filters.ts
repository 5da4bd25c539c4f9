/**
 * Namespace filters of streaming destinations: a destination restricted to some subgroups or
 * projects (GitLab 18: up to 5 per destination; the legacy API's single `namespaceFilter` is the
 * first of them). A group filter matches the group, its subgroups and their projects; a project
 * filter only the project (scope paths: see audit_events ROUTE).
 */
import { nowIso } from './time';

/** A destination's restriction to one group or project. */
export interface NamespaceFilter {
  id: number;
  destinationId: number;
  namespaceKind: 'group' | 'project';
  namespaceId: number;
  scopePath: string;
  createdAt: string;
}

/** A streaming_namespace_filters row as D1 returns it. */
export interface NamespaceFilterRow {
  id: number;
  destination_id: number;
  namespace_kind: 'group' | 'project';
  namespace_id: number;
  scope_path: string;
  created_at: string;
}

export const NF_COLUMNS = 'id, destination_id, namespace_kind, namespace_id, scope_path, created_at';

/** Row to domain object. */
export function toNamespaceFilter(r: NamespaceFilterRow): NamespaceFilter {
  return {
    id: r.id,
    destinationId: r.destination_id,
    namespaceKind: r.namespace_kind,
    namespaceId: r.namespace_id,
    scopePath: r.scope_path,
    createdAt: r.created_at,
  };
}

/** What a new namespace filter is made of. */
export type NewNamespaceFilter = Pick<NamespaceFilter, 'destinationId' | 'namespaceKind' | 'namespaceId' | 'scopePath'>;

/** A destination's first namespace filter (the legacy API's `namespaceFilter`), or null. */
export async function findNamespaceFilterOfDestination(db: D1Database, destinationId: number): Promise<NamespaceFilter | null> {
  const row = await db
    .prepare(`SELECT ${NF_COLUMNS} FROM streaming_namespace_filters WHERE destination_id = ?1 ORDER BY id LIMIT 1`)
    .bind(destinationId)
    .first<NamespaceFilterRow>();
  return row ? toNamespaceFilter(row) : null;
}

/** A destination's namespace filters, oldest first. */
export async function listNamespaceFilters(db: D1Database, destinationId: number): Promise<NamespaceFilter[]> {
  const rows = await db.prepare(`SELECT ${NF_COLUMNS} FROM streaming_namespace_filters WHERE destination_id = ?1 ORDER BY id`).bind(destinationId).all<NamespaceFilterRow>();
  return rows.results.map(toNamespaceFilter);
}

/** A namespace filter by id, or null. */
export async function findNamespaceFilter(db: D1Database, id: number): Promise<NamespaceFilter | null> {
  const row = await db.prepare(`SELECT ${NF_COLUMNS} FROM streaming_namespace_filters WHERE id = ?1`).bind(id).first<NamespaceFilterRow>();
  return row ? toNamespaceFilter(row) : null;
}

/** A destination's filter on this namespace, or null. */
export async function findNamespaceFilterByNamespace(db: D1Database, destinationId: number, kind: 'group' | 'project', namespaceId: number): Promise<NamespaceFilter | null> {
  const row = await db
    .prepare(`SELECT ${NF_COLUMNS} FROM streaming_namespace_filters WHERE destination_id = ?1 AND namespace_kind = ?2 AND namespace_id = ?3`)
    .bind(destinationId, kind, namespaceId)
    .first<NamespaceFilterRow>();
  return row ? toNamespaceFilter(row) : null;
}

/** Whether some destination already filters on this namespace (the legacy API: one filter per namespace). */
export async function namespaceFilterExistsFor(db: D1Database, kind: 'group' | 'project', namespaceId: number): Promise<boolean> {
  const row = await db
    .prepare('SELECT EXISTS(SELECT 1 FROM streaming_namespace_filters WHERE namespace_kind = ?1 AND namespace_id = ?2) AS e')
    .bind(kind, namespaceId)
    .first<{ e: number }>();
  return !!row?.e;
}

/** How many namespace filters a destination has. */
export async function countNamespaceFilters(db: D1Database, destinationId: number): Promise<number> {
  const row = await db.prepare('SELECT COUNT(*) AS n FROM streaming_namespace_filters WHERE destination_id = ?1').bind(destinationId).first<{ n: number }>();
  return row?.n ?? 0;
}

const INSERT = 'INSERT INTO streaming_namespace_filters (destination_id, namespace_kind, namespace_id, scope_path, created_at) SELECT ?1, ?2, ?3, ?4, ?5';

/**
 * The statement that adds the legacy API's one namespace filter: only while the destination has
 * none and no destination filters on the namespace (checked in the statement, so racing adds
 * cannot both pass); it changes no row otherwise.
 */
export function insertNamespaceFilterStatement(db: D1Database, f: NewNamespaceFilter): D1PreparedStatement {
  return db
    .prepare(
      `${INSERT} WHERE NOT EXISTS (SELECT 1 FROM streaming_namespace_filters WHERE destination_id = ?1)
         AND NOT EXISTS (SELECT 1 FROM streaming_namespace_filters WHERE namespace_kind = ?2 AND namespace_id = ?3)`,
    )
    .bind(f.destinationId, f.namespaceKind, f.namespaceId, f.scopePath, nowIso());
}

/**
 * The statement that adds one of a destination's namespace filters while it has fewer than
 * `limit` (the count and the insert are one statement); it changes no row at the limit and throws
 * on a namespace the destination already filters on (UNIQUE).
 */
export function insertNamespaceFilterUpToStatement(db: D1Database, f: NewNamespaceFilter, limit: number): D1PreparedStatement {
  return db
    .prepare(`${INSERT} WHERE (SELECT COUNT(*) FROM streaming_namespace_filters WHERE destination_id = ?1) < ?6 RETURNING ${NF_COLUMNS}`)
    .bind(f.destinationId, f.namespaceKind, f.namespaceId, f.scopePath, nowIso(), limit);
}

/** The filter insertNamespaceFilterUpToStatement stored, from its result (null: none, the limit was reached). */
export function insertedNamespaceFilter(result: D1Result): NamespaceFilter | null {
  const row = (result.results as NamespaceFilterRow[])[0];
  return row ? toNamespaceFilter(row) : null;
}

/** The statement that deletes a namespace filter. */
export function deleteNamespaceFilterStatement(db: D1Database, id: number): D1PreparedStatement {
  return db.prepare('DELETE FROM streaming_namespace_filters WHERE id = ?1').bind(id);
}
