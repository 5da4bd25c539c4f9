/**
 * recordAuditEvent: the one writer of audit events, for every surface (GraphQL, REST, the
 * download redirect, ingest). An event is written to D1 together with its outbox row and its
 * deliveries rows (one per destination that should receive it) in ONE transaction; only then
 * does the caller answer. Its messages are sent afterwards (ctx.waitUntil, src/audit/outbox.ts);
 * if that fails, the outbox row stays and the scheduled sweep sends the event's pending
 * deliveries, so an accepted event is never lost between D1 and the queue.
 *
 * The outbox row is written only when a destination could receive the event (an active
 * instance destination, or an active destination of the event's top-level group), checked in
 * the same transaction. An event with no such destination has nowhere to go: the common case
 * of the download redirect costs one D1 batch and nothing after it. A destination created after
 * the event's transaction does not receive it (it did not exist when the event happened).
 */
import type { Env } from '../env';
import type { Namespace } from '../db/namespaces';
import type { Project } from '../db/projects';
import { projectScopePath } from '../db/projects';
import type { User } from '../db/users';
import { nowIso } from '../db/time';
import { commitTransaction, isSqlValue, type Sql } from '../db/sql';
import {
  bufferedEventStatements,
  eventInsertStatement,
  routeStatements,
  toAuditEvents,
  toRoutedDeliveries,
  type AuditEvent,
  type RoutedDelivery,
} from '../db/audit_events';
import { downloadCountStatements } from '../db/download_counts';
import { dispatchRecorded } from './outbox';
import { boundedDetails, boundedText } from './bounds';

export type { AuditEvent } from '../db/audit_events';

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

/**
 * The values of an event row in EVENT_COLUMNS order; `details` (index 10) as an object in
 * GitLab's key order, which repeats the main fields (see the streaming payload examples).
 * Every writer below uses it, so an event has the same shape and the same size bounds whichever
 * way it is written.
 */
function eventRow(input: AuditEventInput): unknown[] {
  // Bounded here, the one place every event passes through (src/audit/bounds.ts).
  const given = input.target ?? { id: null, type: null, details: null };
  const target = { id: given.id, type: boundedText(given.type), details: boundedText(given.details) };
  const ip = boundedText(input.ipAddress ?? null);
  const author = { id: input.author.id, name: boundedText(input.author.name) };
  const e = { ...input.entity, path: boundedText(input.entity.path) };
  const details: Record<string, unknown> = boundedDetails({
    author_name: author.name,
    author_class: input.authorClass ?? 'User',
    target_id: target.id,
    target_type: target.type,
    target_details: target.details,
    ...input.details,
    ip_address: ip,
    entity_path: e.path,
  });
  return [author.id, author.name, e.id, e.type, e.path, input.eventType, target.id, target.type, target.details, ip, details,
    input.createdAt ?? nowIso(), e.rootNamespaceId, e.scopePath, e.projectId];
}

/**
 * The statements that store one event, its outbox row and its deliveries (for callers that
 * batch more writes with it). `ifChanged`: only when the statement before them changed a row.
 */
export function auditEventStatements(db: D1Database, input: AuditEventInput, ifChanged = false): D1PreparedStatement[] {
  const row = eventRow(input);
  return [eventInsertStatement(db, row, ifChanged), ...routeStatements(db, row[11])];
}

/** Statements per event in auditEventStatements (event, outbox, deliveries). */
const STATEMENTS_PER_EVENT = 3;

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
  const results = await commitTransaction(env.DB, [...change, ...inputs.flatMap((i) => auditEventStatements(env.DB, i))]);
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
 * INSERT ... RETURNING gave, none when it changed nothing). `then`: statements that commit in the
 * same transaction after the event, and must themselves do nothing when the change did nothing
 * (e.g. inserting the rows below an inserted row, found by its unique key).
 */
export async function recordChangeIfChanged(
  env: Env,
  ctx: Pick<ExecutionContext, 'waitUntil'> | null,
  change: D1PreparedStatement,
  input: AuditEventInput,
  then: D1PreparedStatement[] = [],
): Promise<{ result: D1Result; event: AuditEvent | null }> {
  const { results, event } = await recordChangesIfChanged(env, ctx, [change], input, then);
  return { result: results[0]!, event };
}

/**
 * recordChangeIfChanged for a change of several statements (in order): the event is written
 * only when the LAST one changed a row (each statement's own condition decides whether it
 * applies, e.g. rows that follow a conditional insert). Returns every change statement's result.
 */
export async function recordChangesIfChanged(
  env: Env,
  ctx: Pick<ExecutionContext, 'waitUntil'> | null,
  change: D1PreparedStatement[],
  input: AuditEventInput,
  then: D1PreparedStatement[] = [],
): Promise<{ results: D1Result[]; event: AuditEvent | null }> {
  const all = await commitTransaction(env.DB, [...change, ...auditEventStatements(env.DB, input, true), ...then]);
  const results = all.slice(0, change.length);
  if (results[results.length - 1]!.meta.changes === 0) return { results, event: null };
  return { results, event: (await afterRecorded(env, ctx, all.slice(change.length, change.length + STATEMENTS_PER_EVENT)))[0] ?? null };
}

/**
 * The events of (event, outbox, deliveries) result triples; send the deliveries of those that
 * got an outbox row (in waitUntil when there is a ctx).
 */
async function afterRecorded(env: Env, ctx: Pick<ExecutionContext, 'waitUntil'> | null, results: D1Result[]): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  const routable: number[] = [];
  const deliveries: RoutedDelivery[] = [];
  for (let i = 0; i < results.length; i += STATEMENTS_PER_EVENT) {
    const event = toAuditEvents(results[i])[0];
    events.push(event);
    // No outbox row: no destination could receive it, nothing to dispatch.
    if (results[i + 1].meta.changes > 0) routable.push(event.id);
    deliveries.push(...toRoutedDeliveries(results[i + 2]));
  }
  await dispatchRecorded(env, ctx, routable, deliveries);
  return events;
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
 * Write buffered events to D1 in ONE transaction (with the outbox rows and deliveries of those
 * a destination could receive), exactly once by their uuids, then send their deliveries (a
 * failure there leaves the outbox rows for the sweep; in waitUntil when there is a ctx).
 * Returns the events this call stored; events a previous flush already stored are skipped.
 * Rejects when D1 did not take them (the buffer keeps them).
 */
export async function recordBufferedAuditEvents(
  env: Env,
  inputs: BufferedAuditEvent[],
  ctx: Pick<ExecutionContext, 'waitUntil'> | null = null,
): Promise<AuditEvent[]> {
  if (inputs.length === 0) return [];
  const rows = inputs.map((input) => {
    const row = eventRow(input);
    if (row.some(isSqlValue)) throw new Error('a buffered event has no value given by the database');
    row[10] = JSON.stringify(row[10]);
    return [input.uuid, ...row];
  });
  // Tracked downloads' counters first (they count what the insert is about to store), same transaction.
  const counters = downloadCountStatements(env.DB, rows);
  const results = await commitTransaction(env.DB, [...counters, ...bufferedEventStatements(env.DB, rows, inputs.map((i) => i.uuid), nowIso())]);
  const [inserted, outbox, routed] = results.slice(counters.length);
  const routable = (outbox.results as { event_id: number }[]).map((r) => r.event_id);
  await dispatchRecorded(env, ctx, routable, toRoutedDeliveries(routed));
  return toAuditEvents(inserted);
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
    author_id: e.authorId,
    author_name: e.authorName,
    entity_id: e.entityId,
    entity_type: e.entityType,
    entity_path: e.entityPath,
    event_type: e.eventType,
    target_id: e.targetId,
    target_type: e.targetType,
    target_details: e.targetDetails,
    ip_address: e.ipAddress,
    details: e.details,
    created_at: e.createdAt,
  };
}
