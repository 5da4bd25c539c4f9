/**
 * The SQL of recording audit events (src/audit/record.ts, the one writer) and of their outbox
 * (src/audit/outbox.ts): the event row, its outbox row and its deliveries rows, written in the
 * event's own transaction, and the row type with its mapper.
 *
 * Routing happens in that transaction: the deliveries of an event (one per destination that
 * should receive it: the destinations of its top-level group and the instance destinations,
 * active or paused, narrowed by each destination's event type filters and namespace filter) are
 * inserted by the statement right after its outbox row. The outbox row then means "deliveries
 * created, messages not yet sent": the dispatch sends them and removes it; the sweep sends what
 * a failed dispatch left.
 */
import { isSqlValue, type SqlValue } from './sql';

/**
 * A stored audit event: the streaming payload's fields (GitLab's snake_case names are the
 * serializers' business: see streamingPayload in src/audit/record.ts), plus where it belongs.
 */
export interface AuditEvent {
  id: number;
  authorId: number;
  authorName: string;
  entityId: number;
  entityType: string;
  entityPath: string | null;
  eventType: string;
  targetId: number | null;
  targetType: string | null;
  targetDetails: string | null;
  ipAddress: string | null;
  details: Record<string, unknown>;
  createdAt: string;
  rootNamespaceId: number | null;
  scopePath: string | null;
  projectId: number | null;
}

/** An audit_events row as D1 returns it (details as JSON text; `uuid` only on buffered events). */
export interface AuditEventRow {
  id: number;
  author_id: number;
  author_name: string;
  entity_id: number;
  entity_type: string;
  entity_path: string | null;
  event_type: string;
  target_id: number | null;
  target_type: string | null;
  target_details: string | null;
  ip_address: string | null;
  details: string;
  created_at: string;
  root_namespace_id: number | null;
  scope_path: string | null;
  project_id: number | null;
  uuid?: string | null;
}

/** Row to domain object (the buffer's `uuid` is internal: it never leaves the database). */
export function toAuditEvent(r: AuditEventRow): AuditEvent {
  return {
    id: r.id,
    authorId: r.author_id,
    authorName: r.author_name,
    entityId: r.entity_id,
    entityType: r.entity_type,
    entityPath: r.entity_path,
    eventType: r.event_type,
    targetId: r.target_id,
    targetType: r.target_type,
    targetDetails: r.target_details,
    ipAddress: r.ip_address,
    details: JSON.parse(r.details) as Record<string, unknown>,
    createdAt: r.created_at,
    rootNamespaceId: r.root_namespace_id,
    scopePath: r.scope_path,
    projectId: r.project_id,
  };
}

/** The events a statement returned (`RETURNING *` of an insert into audit_events). */
export function toAuditEvents(result: D1Result): AuditEvent[] {
  return (result.results as AuditEventRow[]).map(toAuditEvent);
}

/** One delivery to make: an (event, destination) pair, as a queue message carries it. */
export interface RoutedDelivery {
  eventId: number;
  destinationId: number;
}

/** The (event, destination) pairs a statement returned (`RETURNING event_id, destination_id` or the same columns selected). */
export function toRoutedDeliveries(result: D1Result): RoutedDelivery[] {
  return (result.results as { event_id: number; destination_id: number }[]).map((r) => ({ eventId: r.event_id, destinationId: r.destination_id }));
}

export const EVENT_COLUMNS = `author_id, author_name, entity_id, entity_type, entity_path, event_type, target_id, target_type, target_details,
   ip_address, details, created_at, root_namespace_id, scope_path, project_id`;
const EVENT_PARAMS = '?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15';
const INSERT_EVENT = `INSERT INTO audit_events (${EVENT_COLUMNS}) VALUES (${EVENT_PARAMS}) RETURNING *`;
/** INSERT_EVENT only when the statement before it changed a row. */
const INSERT_EVENT_IF_CHANGED = `INSERT INTO audit_events (${EVENT_COLUMNS}) SELECT ${EVENT_PARAMS} WHERE changes() > 0 RETURNING *`;

/**
 * SQL: a destination could receive the event `e` (an instance one, or one of its top-level
 * group), active or paused: a paused destination's deliveries are kept (src/delivery/pause.ts).
 */
const ROUTABLE = `(EXISTS (SELECT 1 FROM streaming_destinations WHERE scope = 'instance')
      OR EXISTS (SELECT 1 FROM streaming_destinations WHERE scope = 'group' AND namespace_id = e.root_namespace_id))`;

/**
 * SQL: destination `d` receives event `e`. Active or paused (its lanes hold a paused destination's
 * deliveries: src/delivery/pause.ts); an instance destination, or one of the event's
 * top-level group (user-namespace events reach instance destinations only); its event type
 * filters, when it has any, name the event's type; its namespace filter, when it has one, is a
 * prefix of the event's position.
 */
const ROUTE = `(d.scope = 'instance'
       OR (d.scope = 'group' AND d.namespace_id = e.root_namespace_id
           AND EXISTS (SELECT 1 FROM namespaces n WHERE n.id = d.namespace_id AND n.kind = 'group')))
  AND (NOT EXISTS (SELECT 1 FROM streaming_event_type_filters f WHERE f.destination_id = d.id)
       OR EXISTS (SELECT 1 FROM streaming_event_type_filters f WHERE f.destination_id = d.id AND f.audit_event_type = e.event_type))
  AND (NOT EXISTS (SELECT 1 FROM streaming_namespace_filters f WHERE f.destination_id = d.id)
       OR EXISTS (SELECT 1 FROM streaming_namespace_filters f
                  WHERE f.destination_id = d.id AND e.scope_path IS NOT NULL AND substr(e.scope_path, 1, length(f.scope_path)) = f.scope_path))`;

/**
 * The outbox row of the event that the statement before it inserted (every event writer puts it
 * right after its event insert): only when that statement did insert a row (otherwise
 * last_insert_rowid() is not the event's) and a destination could receive the event.
 * ?1: created_at.
 */
const INSERT_OUTBOX = `INSERT INTO audit_event_outbox (event_id, created_at)
  SELECT e.id, ?1 FROM audit_events e
  WHERE e.id = last_insert_rowid() AND changes() = 1 AND ${ROUTABLE}`;

/**
 * The deliveries of the event whose outbox row the statement before it inserted (the outbox's
 * event_id is its rowid, so last_insert_rowid() is the event's id; nothing when no outbox row
 * was inserted). Materialized first: inserting deliveries moves last_insert_rowid(). ?1: now.
 */
const INSERT_DELIVERIES = `WITH o AS MATERIALIZED (SELECT event_id FROM audit_event_outbox WHERE event_id = last_insert_rowid() AND changes() = 1)
  INSERT OR IGNORE INTO deliveries (event_id, destination_id, status, created_at, updated_at)
  SELECT e.id, d.id, 'pending', ?1, ?1 FROM o JOIN audit_events e ON e.id = o.event_id JOIN streaming_destinations d ON ${ROUTE}
  RETURNING event_id, destination_id`;

/**
 * Buffered events (?1: a JSON array of [uuid, ...EVENT_COLUMNS values] rows), inserted in the
 * buffer's order so ids increase in commit order; one already stored (same uuid: a repeated
 * flush) is skipped. RETURNING gives the rows this statement inserted.
 */
const INSERT_BUFFERED = `INSERT OR IGNORE INTO audit_events (uuid, ${EVENT_COLUMNS})
  SELECT ${Array.from({ length: 16 }, (_, i) => `json_extract(value, '$[${i}]')`).join(', ')}
  FROM json_each(?1) ORDER BY key RETURNING *`;
/**
 * The outbox rows of buffered events (?1: their uuids, ?2: created_at) that have none yet, no
 * deliveries yet (a repeated flush of an event already dispatched adds nothing) and a
 * destination that could receive them.
 */
const INSERT_BUFFERED_OUTBOX = `INSERT OR IGNORE INTO audit_event_outbox (event_id, created_at)
  SELECT e.id, ?2 FROM audit_events e
  WHERE e.uuid IN (SELECT value FROM json_each(?1))
    AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id) AND ${ROUTABLE}
  RETURNING event_id`;
/** The deliveries of buffered events (?1: their uuids, ?2: now) that have an outbox row (see INSERT_DELIVERIES). */
const INSERT_BUFFERED_DELIVERIES = `INSERT OR IGNORE INTO deliveries (event_id, destination_id, status, created_at, updated_at)
  SELECT e.id, d.id, 'pending', ?2, ?2 FROM audit_events e
  JOIN audit_event_outbox o ON o.event_id = e.id
  JOIN streaming_destinations d ON ${ROUTE}
  WHERE e.uuid IN (SELECT value FROM json_each(?1))
  RETURNING event_id, destination_id`;

/**
 * The insert of one event row (values in EVENT_COLUMNS order, `details` at index 10 as an
 * object). Values the database gives (SqlValue: in a column, or as a top-level key of
 * `details`) become SQL expressions in the statement, evaluated in the same transaction as the
 * change before it; `details` keeps its key order (json_set replaces a placeholder in place).
 * `ifChanged`: only when the statement before it changed a row.
 */
export function eventInsertStatement(db: D1Database, row: unknown[], ifChanged: boolean): D1PreparedStatement {
  const details = row[10] as Record<string, unknown>;
  const given = Object.entries(details).filter((entry): entry is [string, SqlValue] => isSqlValue(entry[1]));
  if (given.length === 0 && !row.some(isSqlValue)) {
    return db.prepare(ifChanged ? INSERT_EVENT_IF_CHANGED : INSERT_EVENT).bind(...row.map((v, i) => (i === 10 ? JSON.stringify(v) : v)));
  }
  const binds: unknown[] = [];
  const param = (v: unknown): string => `?${binds.push(v)}`;
  const expression = (v: SqlValue): string => {
    let next = 0;
    return v.sql.replace(/\?/g, () => param(v.binds[next++]));
  };
  const template = JSON.stringify({ ...details, ...Object.fromEntries(given.map(([key]) => [key, null])) });
  const detailsSql = `json_set(${param(template)}${given.map(([key, v]) => `, ${param(`$."${key}"`)}, ${expression(v)}`).join('')})`;
  const values = row.map((v, i) => (i === 10 ? detailsSql : isSqlValue(v) ? expression(v) : param(v)));
  return db
    .prepare(`INSERT INTO audit_events (${EVENT_COLUMNS}) SELECT ${values.join(', ')}${ifChanged ? ' WHERE changes() > 0' : ''} RETURNING *`)
    .bind(...binds);
}

/**
 * The two statements that follow an event insert: its outbox row and its deliveries (see the
 * module comment). Their results: the outbox insert's changes, the deliveries' rows.
 */
export function routeStatements(db: D1Database, createdAt: unknown): D1PreparedStatement[] {
  return [db.prepare(INSERT_OUTBOX).bind(createdAt), db.prepare(INSERT_DELIVERIES).bind(createdAt)];
}

/** Statements storing buffered events (rows: [uuid, ...event row], details as JSON text) with their outbox rows and deliveries. */
export function bufferedEventStatements(db: D1Database, rows: unknown[][], uuids: string[], now: string): D1PreparedStatement[] {
  const ids = JSON.stringify(uuids);
  return [
    db.prepare(INSERT_BUFFERED).bind(JSON.stringify(rows)),
    db.prepare(INSERT_BUFFERED_OUTBOX).bind(ids, now),
    db.prepare(INSERT_BUFFERED_DELIVERIES).bind(ids, now),
  ];
}

/** Remove the outbox rows of events (their messages are sent). */
export async function deleteOutboxRows(db: D1Database, eventIds: number[]): Promise<void> {
  if (eventIds.length === 0) return;
  await db.prepare('DELETE FROM audit_event_outbox WHERE event_id IN (SELECT value FROM json_each(?1))').bind(JSON.stringify(eventIds)).run();
}

/**
 * The outbox rows created at or before `cutoff` (at most `limit`), counted as one more sweep
 * attempt, with the pending deliveries of their events. An event that has none yet (recorded
 * before deliveries were created with the event) gets them routed now. One transaction.
 */
export async function claimOverdueOutbox(
  db: D1Database,
  cutoff: string,
  limit: number,
  now: string,
): Promise<{ eventIds: number[]; deliveries: RoutedDelivery[] }> {
  const due = `SELECT event_id FROM audit_event_outbox WHERE created_at <= ?1 ORDER BY event_id LIMIT ?2`;
  const [claimed, , pending] = await db.batch([
    db.prepare(`UPDATE audit_event_outbox SET attempts = attempts + 1 WHERE event_id IN (${due}) RETURNING event_id`).bind(cutoff, limit),
    db
      .prepare(
        `INSERT OR IGNORE INTO deliveries (event_id, destination_id, status, created_at, updated_at)
         SELECT e.id, d.id, 'pending', ?3, ?3 FROM audit_events e JOIN streaming_destinations d ON ${ROUTE}
         WHERE e.id IN (${due}) AND NOT EXISTS (SELECT 1 FROM deliveries x WHERE x.event_id = e.id)`,
      )
      .bind(cutoff, limit, now),
    db
      .prepare(`SELECT event_id, destination_id FROM deliveries WHERE status = 'pending' AND event_id IN (${due}) ORDER BY event_id, destination_id`)
      .bind(cutoff, limit),
  ]);
  return {
    eventIds: (claimed.results as { event_id: number }[]).map((r) => r.event_id).sort((a, b) => a - b),
    deliveries: toRoutedDeliveries(pending),
  };
}

/** The oldest events past retention, as one chunk (see src/audit/retention.ts). */
export interface ExpiredChunk {
  /** How many events. */
  n: number;
  /** The highest id among them. */
  maxId: number;
  /** The first and last creation times among them. */
  firstAt: string | null;
  lastAt: string | null;
}

/**
 * The oldest events created before `cutoff`, at most `chunkSize`: how many, the highest id and
 * their first and last creation times; null when there are none. A cheap probe on
 * audit_events_created first: most runs find nothing and stop there. Ids only grow, so
 * "created_at < cutoff AND id <= maxId" names exactly these rows.
 */
export async function expiredEventsChunk(db: D1Database, cutoff: string, chunkSize: number): Promise<ExpiredChunk | null> {
  const any = await db.prepare('SELECT 1 AS x FROM audit_events WHERE created_at < ?1 LIMIT 1').bind(cutoff).first();
  if (!any) return null;
  const stats = await db
    .prepare(
      `SELECT COUNT(*) AS n, MAX(id) AS max_id, MIN(created_at) AS first_at, MAX(created_at) AS last_at
       FROM (SELECT id, created_at FROM audit_events WHERE created_at < ?1 ORDER BY id LIMIT ?2)`,
    )
    .bind(cutoff, chunkSize)
    .first<{ n: number; max_id: number | null; first_at: string | null; last_at: string | null }>();
  if (!stats || stats.n === 0 || stats.max_id === null) return null;
  return { n: stats.n, maxId: stats.max_id, firstAt: stats.first_at, lastAt: stats.last_at };
}

/**
 * The removal of a chunk (for ONE transaction with its retention event): the database rejects
 * DELETE on audit_events (migration 0006) unless the guard row exists, so the guard row is
 * inserted, the events' outbox rows and the events deleted, and the guard removed again.
 */
export function expiredEventsRemovalStatements(db: D1Database, cutoff: string, maxId: number): D1PreparedStatement[] {
  return [
    db.prepare('INSERT OR REPLACE INTO audit_retention_guard (id) VALUES (1)'),
    db.prepare('DELETE FROM audit_event_outbox WHERE event_id IN (SELECT id FROM audit_events WHERE created_at < ?1 AND id <= ?2)').bind(cutoff, maxId),
    db.prepare('DELETE FROM audit_events WHERE created_at < ?1 AND id <= ?2').bind(cutoff, maxId),
    db.prepare('DELETE FROM audit_retention_guard'),
  ];
}
