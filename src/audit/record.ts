/**
 * recordAuditEvent: the one writer of audit events, for every surface (GraphQL, REST, the
 * download redirect, ingest). An event is written to D1 together with its outbox row in one
 * transaction; only then does the caller answer. Its deliveries are enqueued afterwards
 * (ctx.waitUntil); if that fails, the outbox row stays and the scheduled sweep enqueues it,
 * so an accepted event is never lost between D1 and the queue.
 *
 * The outbox row is written only when a destination could receive the event (an active
 * instance destination, or an active destination of the event's top-level group), checked in
 * the same transaction. An event with no such destination has nowhere to go, so neither the
 * fan-out's lookups nor its outbox delete run: the common case of the download redirect costs
 * one D1 batch instead of three round trips. A destination created after the event's
 * transaction does not receive it (it did not exist when the event happened).
 */
import type { Env } from '../env';
import type { Namespace } from '../db/namespaces';
import type { Project } from '../db/projects';
import { projectScopePath } from '../db/projects';
import type { User } from '../db/users';
import { nowIso } from '../db/time';
import { isSqlValue, type Sql, type SqlValue } from '../db/sql';
import { dispatchEvents } from '../delivery/fanout';

/** The author GitLab shows for unauthenticated actions (author_id -1). */
export const UNAUTHENTICATED_AUTHOR = { id: -1, name: 'An unauthenticated user' } as const;

/**
 * What an event is about: its entity and where that sits in the group hierarchy. Ids (and what
 * is built from them) may be values the database gives (SqlValue): an entity created in the
 * same transaction as its event, whose id is known only once the row is inserted.
 */
export interface AuditEntity {
  type: string;
  id: Sql<number>;
  path: string | null;
  /** Top-level group (or personal namespace) the event belongs to; null for instance events. */
  rootNamespaceId: Sql<number> | null;
  /** Hierarchy position ('1/5/' or '1/5/p12/'), matched by namespace filters; null outside groups. */
  scopePath: Sql<string> | null;
  projectId: Sql<number> | null;
}

/** One event to record. */
export interface AuditEventInput {
  eventType: string;
  author: { id: number; name: string };
  entity: AuditEntity;
  target?: { id: Sql<number> | null; type: string | null; details: string | null };
  ipAddress?: string | null;
  /** Extra details: custom_message, change/from/to, changes, ... (merged into `details`; a value may be an SqlValue). */
  details?: Record<string, unknown>;
  /** Defaults to now; ingest may pass the producer's time. */
  createdAt?: string;
  /** author_class in details (User, DeployKey, DeployToken, ...). */
  authorClass?: string;
}

/** A stored audit event: the streaming payload fields, plus where it belongs. */
export interface AuditEvent {
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
  details: Record<string, unknown>;
  created_at: string;
  root_namespace_id: number | null;
  scope_path: string | null;
  project_id: number | null;
}

/** The row as D1 returns it (details as JSON text; `uuid` only on buffered events). */
export type AuditEventRow = Omit<AuditEvent, 'details'> & { details: string; uuid?: string | null };

/** Row to domain object (the buffer's `uuid` is internal: it never leaves the database). */
export function toAuditEvent(row: AuditEventRow): AuditEvent {
  const { uuid: _uuid, ...rest } = row;
  return { ...rest, details: JSON.parse(row.details) as Record<string, unknown> };
}

/** The entity of an event about a group (one being created: ids given by the database, see db/namespaces newGroupRef). */
export function groupEntity(group: Pick<Namespace, 'fullPath'> & { id: Sql<number>; rootId: Sql<number>; traversalPath: Sql<string> }): AuditEntity {
  return {
    type: 'Group',
    id: group.id,
    path: group.fullPath,
    rootNamespaceId: group.rootId,
    scopePath: group.traversalPath,
    projectId: null,
  };
}

/** The entity of an event about a project (one being created: its id given by the database, see db/projects newProjectRef). */
export function projectEntity(project: Pick<Project, 'fullPath' | 'namespace'> & { id: Sql<number> }): AuditEntity {
  return {
    type: 'Project',
    id: project.id,
    path: project.fullPath,
    rootNamespaceId: project.namespace.rootId,
    scopePath: projectScopePath(project),
    projectId: project.id,
  };
}

/** The entity of an event about a user (belongs to no group). */
export function userEntity(user: Pick<User, 'id' | 'username'>): AuditEntity {
  return { type: 'User', id: user.id, path: user.username, rootNamespaceId: null, scopePath: null, projectId: null };
}

/** The entity of an instance-level event (GitLab's Gitlab::Audit::InstanceScope, id 1). */
export function instanceEntity(): AuditEntity {
  return { type: 'Gitlab::Audit::InstanceScope', id: 1, path: 'gitlab_instance', rootNamespaceId: null, scopePath: null, projectId: null };
}

/** The author of an event from an actor (or the unauthenticated author). */
export function authorOf(user: Pick<User, 'id' | 'name'> | null | undefined): { id: number; name: string } {
  return user ? { id: user.id, name: user.name } : { ...UNAUTHENTICATED_AUTHOR };
}

/** The caller's address as Cloudflare sees it (`CF-Connecting-IP`). */
export function clientIp(request: Request): string | null {
  return request.headers.get('CF-Connecting-IP');
}

const EVENT_COLUMNS = `author_id, author_name, entity_id, entity_type, entity_path, event_type, target_id, target_type, target_details,
   ip_address, details, created_at, root_namespace_id, scope_path, project_id`;
const EVENT_PARAMS = '?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15';
const INSERT_EVENT = `INSERT INTO audit_events (${EVENT_COLUMNS}) VALUES (${EVENT_PARAMS}) RETURNING *`;
/** INSERT_EVENT only when the statement before it changed a row. */
const INSERT_EVENT_IF_CHANGED = `INSERT INTO audit_events (${EVENT_COLUMNS}) SELECT ${EVENT_PARAMS} WHERE changes() > 0 RETURNING *`;
/** SQL: an active destination could receive the event `e` (an instance one, or one of its top-level group). */
const ROUTABLE = `(EXISTS (SELECT 1 FROM streaming_destinations WHERE scope = 'instance' AND active = 1)
      OR EXISTS (SELECT 1 FROM streaming_destinations WHERE scope = 'group' AND namespace_id = e.root_namespace_id AND active = 1))`;
/**
 * The outbox row of the event that the statement before it inserted (every event writer puts it
 * right after its event insert): only when that statement did insert a row (otherwise
 * last_insert_rowid() is not the event's) and an active destination could receive the event,
 * an instance destination or one of the event's top-level group. ?1: created_at.
 */
const INSERT_OUTBOX = `INSERT INTO audit_event_outbox (event_id, created_at)
  SELECT e.id, ?1 FROM audit_events e
  WHERE e.id = last_insert_rowid() AND changes() = 1 AND ${ROUTABLE}`;
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

/**
 * The values of an event row in EVENT_COLUMNS order; `details` (index 10) as an object in
 * GitLab's key order, which repeats the main fields (see the streaming payload examples).
 * Every writer below uses it, so an event has the same shape whichever way it is written.
 */
function eventRow(input: AuditEventInput): unknown[] {
  const target = input.target ?? { id: null, type: null, details: null };
  const ip = input.ipAddress ?? null;
  const details: Record<string, unknown> = {
    author_name: input.author.name,
    author_class: input.authorClass ?? 'User',
    target_id: target.id,
    target_type: target.type,
    target_details: target.details,
    ...input.details,
    ip_address: ip,
    entity_path: input.entity.path,
  };
  const e = input.entity;
  return [input.author.id, input.author.name, e.id, e.type, e.path, input.eventType, target.id, target.type, target.details, ip, details,
    input.createdAt ?? nowIso(), e.rootNamespaceId, e.scopePath, e.projectId];
}

/**
 * The statements that store one event and its outbox row (for callers that batch more writes
 * with it). `ifChanged`: only when the statement before them changed a row.
 */
export function auditEventStatements(db: D1Database, input: AuditEventInput, ifChanged = false): D1PreparedStatement[] {
  const row = eventRow(input);
  const createdAt = row[11];
  return [eventInsertStatement(db, row, ifChanged), db.prepare(INSERT_OUTBOX).bind(createdAt)];
}

/**
 * The insert of one event row (see eventRow). Values the database gives (SqlValue: in a column,
 * or as a top-level key of `details`) become SQL expressions in the statement, evaluated in the
 * same transaction as the change before it; `details` keeps its key order (json_set replaces
 * a placeholder in place).
 */
function eventInsertStatement(db: D1Database, row: unknown[], ifChanged: boolean): D1PreparedStatement {
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
 * Record events durably, then enqueue their deliveries. Resolves once the events are in D1;
 * rejects (and the caller's request fails) when they could not be written.
 * `extra` statements commit in the same transaction (e.g. the change the events describe).
 */
export async function recordAuditEvents(
  env: Env,
  ctx: Pick<ExecutionContext, 'waitUntil'> | null,
  inputs: AuditEventInput[],
  extra: D1PreparedStatement[] = [],
): Promise<AuditEvent[]> {
  if (inputs.length === 0 && extra.length === 0) return [];
  return (await recordChange(env, ctx, extra, inputs)).events;
}

/**
 * Commit a change (its statements, in order) and the events that describe it in ONE
 * transaction: both are written or neither is. Returns the change's own results (e.g. the row
 * an INSERT ... RETURNING gave) and the recorded events. An event may take values only the
 * change determines (the id of a row it inserts) as SqlValues.
 */
export async function recordChange(
  env: Env,
  ctx: Pick<ExecutionContext, 'waitUntil'> | null,
  change: D1PreparedStatement[],
  inputs: AuditEventInput[],
): Promise<{ results: D1Result[]; events: AuditEvent[] }> {
  const results = await env.DB.batch([...change, ...inputs.flatMap((i) => auditEventStatements(env.DB, i))]);
  return { results: results.slice(0, change.length), events: await afterRecorded(env, ctx, results.slice(change.length)) };
}

/**
 * Record one event together with a change that may turn out not to apply: `change` is ONE
 * statement, and the event (with its outbox row) is written in the same transaction only when
 * that statement changed a row. Null when it changed none (nothing was written). For changes
 * whose condition must be checked in the statement itself, such as a limit under racing writes.
 */
export async function recordAuditEventIfChanged(
  env: Env,
  ctx: Pick<ExecutionContext, 'waitUntil'> | null,
  input: AuditEventInput,
  change: D1PreparedStatement,
): Promise<AuditEvent | null> {
  return (await recordChangeIfChanged(env, ctx, change, input)).event;
}

/**
 * recordAuditEventIfChanged, also returning the change's result (e.g. the row its
 * INSERT ... RETURNING gave, none when it changed nothing).
 */
export async function recordChangeIfChanged(
  env: Env,
  ctx: Pick<ExecutionContext, 'waitUntil'> | null,
  change: D1PreparedStatement,
  input: AuditEventInput,
): Promise<{ result: D1Result; event: AuditEvent | null }> {
  const results = await env.DB.batch([change, ...auditEventStatements(env.DB, input, true)]);
  if (results[0].meta.changes === 0) return { result: results[0], event: null };
  return { result: results[0], event: (await afterRecorded(env, ctx, results.slice(1)))[0] };
}

/**
 * The events of (event insert, outbox insert) result pairs; enqueue the deliveries of those
 * that got an outbox row (in waitUntil when there is a ctx).
 */
async function afterRecorded(env: Env, ctx: Pick<ExecutionContext, 'waitUntil'> | null, pairs: D1Result[]): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  const routable: AuditEvent[] = [];
  for (let i = 0; i < pairs.length; i += 2) {
    const event = toAuditEvent((pairs[i].results as AuditEventRow[])[0]);
    events.push(event);
    // No outbox row: no destination could receive it, nothing to dispatch.
    if (pairs[i + 1].meta.changes > 0) routable.push(event);
  }
  await dispatchOrLeaveToSweep(env, ctx, routable);
  return events;
}

/** Enqueue the deliveries of routable events (in waitUntil when there is a ctx); on failure their outbox rows stay for the sweep. */
async function dispatchOrLeaveToSweep(env: Env, ctx: Pick<ExecutionContext, 'waitUntil'> | null, routable: AuditEvent[]): Promise<void> {
  if (routable.length === 0) return;
  const dispatch = dispatchEvents(env, routable).catch((err) => {
    console.error('enqueueing deliveries failed; the sweep will retry', err instanceof Error ? err.message : err);
  });
  if (ctx) ctx.waitUntil(dispatch);
  else await dispatch;
}

/**
 * An event recorded by the download redirect into its buffer (src/downloads/buffer.ts) before
 * it reaches D1: `uuid` (a UUIDv7) makes its flush idempotent; `createdAt` is the click's time.
 */
export interface BufferedAuditEvent extends AuditEventInput {
  uuid: string;
  createdAt: string;
}

/**
 * Write buffered events to D1 in ONE transaction (with the outbox rows of those a destination
 * could receive), exactly once by their uuids, then enqueue their deliveries (a failure there
 * leaves the outbox rows for the sweep). Returns the events this call stored; events a previous
 * flush already stored are skipped. Rejects when D1 did not take them (the buffer keeps them).
 */
export async function recordBufferedAuditEvents(env: Env, inputs: BufferedAuditEvent[]): Promise<AuditEvent[]> {
  if (inputs.length === 0) return [];
  const rows = inputs.map((input) => {
    const row = eventRow(input);
    if (row.some(isSqlValue)) throw new Error('a buffered event has no value given by the database');
    row[10] = JSON.stringify(row[10]);
    return [input.uuid, ...row];
  });
  const [inserted, outbox] = await env.DB.batch([
    env.DB.prepare(INSERT_BUFFERED).bind(JSON.stringify(rows)),
    env.DB.prepare(INSERT_BUFFERED_OUTBOX).bind(JSON.stringify(inputs.map((i) => i.uuid)), nowIso()),
  ]);
  const events = (inserted.results as AuditEventRow[]).map(toAuditEvent);
  const routableIds = new Set((outbox.results as { event_id: number }[]).map((r) => r.event_id));
  await dispatchOrLeaveToSweep(env, null, events.filter((e) => routableIds.has(e.id)));
  return events;
}

/** Record one event (see recordAuditEvents). */
export async function recordAuditEvent(
  env: Env,
  ctx: Pick<ExecutionContext, 'waitUntil'> | null,
  input: AuditEventInput,
  extra: D1PreparedStatement[] = [],
): Promise<AuditEvent> {
  const [event] = await recordAuditEvents(env, ctx, [input], extra);
  return event;
}

/** The event as streamed to destinations: GitLab's payload schema, nothing internal. */
export function streamingPayload(e: AuditEvent): Record<string, unknown> {
  return {
    id: String(e.id),
    author_id: e.author_id,
    author_name: e.author_name,
    entity_id: e.entity_id,
    entity_type: e.entity_type,
    entity_path: e.entity_path,
    event_type: e.event_type,
    target_id: e.target_id,
    target_type: e.target_type,
    target_details: e.target_details,
    ip_address: e.ip_address,
    details: e.details,
    created_at: e.created_at,
  };
}
