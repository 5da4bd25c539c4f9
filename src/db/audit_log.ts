/**
 * Reading the audit log: the one place that turns a scope (instance, group, project), the
 * filters and a page into SQL. Every query is served by an index (see migrations 0001 and
 * 0006) and never scans the whole events table for one group:
 * - a top-level group walks audit_events_root (root_namespace_id, id) in id order;
 * - a subgroup takes a RANGE of audit_events_scope (scope_path, id): '1/5/' <= scope_path < '1/50';
 * - a project walks audit_events_project (project_id, id);
 * - "only my own events" and the author_id filter can use audit_events_author (author_id, id).
 * The pages themselves (hot and cold together) are read by src/db/audit_archive_read.ts.
 */
import type { Namespace } from './namespaces';
import type { Project } from './projects';
import { toAuditEvent, type AuditEvent, type AuditEventRow } from './audit_events';

/** Whose events: the whole instance, a group with its subgroups and projects, or one project. */
export type AuditScope =
  | { kind: 'instance' }
  | { kind: 'group'; group: Pick<Namespace, 'id' | 'parentId' | 'traversalPath' | 'fullPath'> }
  | { kind: 'project'; project: Pick<Project, 'id' | 'fullPath'> };

/** Filters of a listing; all optional, combined with AND. */
export interface AuditFilters {
  /** Events created at or after this instant (ISO 8601 UTC with milliseconds). */
  createdAfter?: string;
  /** Events created at or before this instant. */
  createdBefore?: string;
  /** Instance listing only (GitLab): User, Group, Project, Gitlab::Audit::InstanceScope. */
  entityType?: string;
  entityId?: number;
  /** Ours: one event type. */
  eventType?: string;
  /** Ours: events of one author. */
  authorId?: number;
  /**
   * Permission, not a filter the caller chose: developers (and group maintainers) see only the
   * events they authored (GitLab). Combined with authorId by AND.
   */
  onlyAuthorId?: number;
}

/** A keyset position: events strictly after (asc) or before (desc) this id. */
export interface Keyset {
  sort: 'asc' | 'desc';
  /** The last id already returned; undefined on the first page. */
  afterId?: number;
  /** Upper bound on ids (inclusive), used by the CSV export to read a fixed snapshot. */
  maxId?: number;
}

interface Where {
  sql: string;
  binds: unknown[];
}

/**
 * The range of scope paths at or below a group: '1/5/' up to (not including) '1/50' — the
 * prefix with its final '/' replaced by '0', the next character after '/' in byte order.
 */
export function scopeRange(traversalPath: string): [string, string] {
  return [traversalPath, `${traversalPath.slice(0, -1)}0`];
}

/** The WHERE clause (with ?N placeholders) for a scope and filters. */
export function whereFor(scope: AuditScope, filters: AuditFilters, keyset?: Keyset): Where {
  const clauses: string[] = [];
  const binds: unknown[] = [];
  const bind = (v: unknown) => {
    binds.push(v);
    return `?${binds.length}`;
  };
  if (scope.kind === 'group') {
    if (scope.group.parentId === null) {
      // Every event of a top-level group's hierarchy carries its id as root_namespace_id.
      clauses.push(`root_namespace_id = ${bind(scope.group.id)}`);
    } else {
      const [lo, hi] = scopeRange(scope.group.traversalPath);
      clauses.push(`scope_path >= ${bind(lo)} AND scope_path < ${bind(hi)}`);
    }
  } else if (scope.kind === 'project') {
    clauses.push(`project_id = ${bind(scope.project.id)}`);
  }
  if (filters.createdAfter !== undefined) clauses.push(`created_at >= ${bind(filters.createdAfter)}`);
  if (filters.createdBefore !== undefined) clauses.push(`created_at <= ${bind(filters.createdBefore)}`);
  if (filters.entityType !== undefined) clauses.push(`entity_type = ${bind(filters.entityType)}`);
  if (filters.entityId !== undefined) clauses.push(`entity_id = ${bind(filters.entityId)}`);
  if (filters.eventType !== undefined) clauses.push(`event_type = ${bind(filters.eventType)}`);
  if (filters.authorId !== undefined) clauses.push(`author_id = ${bind(filters.authorId)}`);
  if (filters.onlyAuthorId !== undefined) clauses.push(`author_id = ${bind(filters.onlyAuthorId)}`);
  if (keyset?.afterId !== undefined) clauses.push(`id ${keyset.sort === 'asc' ? '>' : '<'} ${bind(keyset.afterId)}`);
  if (keyset?.maxId !== undefined) clauses.push(`id <= ${bind(keyset.maxId)}`);
  return { sql: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', binds };
}

/** The SQL of one keyset page (exported so tests can EXPLAIN QUERY PLAN it). */
export function keysetPageSql(scope: AuditScope, filters: AuditFilters, keyset: Keyset, limit: number): Where {
  const w = whereFor(scope, filters, keyset);
  return {
    sql: `SELECT * FROM audit_events ${w.sql} ORDER BY id ${keyset.sort === 'asc' ? 'ASC' : 'DESC'} LIMIT ${Math.trunc(limit)}`,
    binds: w.binds,
  };
}

/** One event by id, if it lies within the scope; null otherwise. */
export async function findAuditEventInScope(db: D1Database, scope: AuditScope, id: number): Promise<AuditEvent | null> {
  const w = whereFor(scope, {});
  const idClause = `id = ?${w.binds.length + 1}`;
  const sql = `SELECT * FROM audit_events ${w.sql ? `${w.sql} AND ${idClause}` : `WHERE ${idClause}`}`;
  const row = await db.prepare(sql).bind(...w.binds, id).first<AuditEventRow>();
  return row ? toAuditEvent(row) : null;
}
