/**
 * The delivery log and replay over GraphQL (ours; GitLab streams each event once and keeps no
 * log). Every streaming destination type gets `deliveries` (newest first, filter by status,
 * paged) and `deliveryCounts`; two mutations send deliveries again:
 * `auditEventsStreamingDeliveryRedeliver` (one event) and
 * `auditEventsStreamingDeliveriesRedeliverFailed` (every failed delivery since a time).
 * Who may read or replay: whoever may manage the destination (the Owner of its top-level
 * group, or an administrator for instance destinations), through the policy module.
 */
import type { GraphQLContext, SchemaModule } from '../context';
import type { DeliveryJob } from '../../env';
import { can } from '../../auth/policy';
import { findNamespaceById } from '../../db/namespaces';
import { findDestination, type Destination } from '../../db/destinations';
import {
  countDeliveries,
  listAttempts,
  listDeliveries,
  resetDeliveryForRedelivery,
  resetFailedDeliveriesSince,
  type DeliveryAttemptRow,
  type DeliveryRow,
  type DeliveryStatus,
} from '../../db/deliveries';
import { webhookId } from '../../delivery/signing';
import { parseIsoDateTime } from '../../web/params';
import { nowIso } from '../../db/time';
import { connectionTypes, decodeCursor, encodeCursor, MAX_PAGE_SIZE } from '../connection';
import { PublicError, resourceNotAvailable } from '../errors';
import { parseGid, toGid } from '../gid';

/** GID model of a delivery (ours). */
export const DELIVERY_GID_MODEL = 'AuditEvents::Streaming::Delivery';
const GROUP_DESTINATION_MODEL = 'AuditEvents::ExternalAuditEventDestination';
const INSTANCE_DESTINATION_MODEL = 'AuditEvents::InstanceExternalAuditEventDestination';
/** Most deliveries one `auditEventsStreamingDeliveriesRedeliverFailed` call re-sends. */
export const MAX_REDELIVER_FAILED = 1000;
const DEFAULT_PAGE_SIZE = 20;

/** The delivery log fields, the same on group and instance destinations. */
const DELIVERY_LOG_FIELDS = `
  "Deliveries to this destination, newest first. Not in GitLab."
  deliveries(
    "Only deliveries in this status."
    status: AuditEventStreamingDeliveryStatus
    "Returns the elements in the list that come after the specified cursor."
    after: String
    "Returns the first _n_ elements from the list (at most 100; default 20)."
    first: Int
  ): AuditEventStreamingDeliveryConnection!
  "Number of deliveries to this destination in each status. Not in GitLab."
  deliveryCounts: AuditEventStreamingDeliveryCounts!
`;

const typeDefs = /* GraphQL */ `
"Status of the delivery of an audit event to a streaming destination. Not in GitLab."
enum AuditEventStreamingDeliveryStatus {
  "Not delivered yet: waiting for its first attempt or for a retry."
  PENDING
  "The destination answered 2xx."
  DELIVERED
  "Gave up: the retry schedule ran out, the destination answered 410 Gone, its URL was blocked, or it was deactivated or deleted."
  FAILED
}

"One HTTP attempt of a delivery. Not in GitLab."
type AuditEventStreamingDeliveryAttempt {
  "Attempt number, from 1, counted over every run of the delivery."
  attempt: Int!
  "DELIVERED or FAILED."
  status: AuditEventStreamingDeliveryStatus!
  "HTTP status the destination answered, if it answered."
  httpStatus: Int
  "How long the attempt took, in milliseconds."
  durationMs: Int!
  "Why it failed: http_4xx, http_5xx, redirect, gone, timeout, network_error or url_blocked."
  errorClass: String
  "First 200 characters of the response body, control characters removed."
  responseExcerpt: String
  "When the attempt was made."
  createdAt: Time!
}

"The delivery of one audit event to one streaming destination. Not in GitLab."
type AuditEventStreamingDelivery {
  "Global ID of the delivery (gid://gitlab/AuditEvents::Streaming::Delivery/<id>)."
  id: ID!
  "ID of the audit event (the payload's id)."
  eventId: ID!
  "Event type of the audit event."
  eventType: String
  "The webhook-id header of every attempt of this delivery (stable across retries and redeliveries)."
  webhookId: String!
  "Current status."
  status: AuditEventStreamingDeliveryStatus!
  "Number of attempts made so far."
  attemptsCount: Int!
  "HTTP status of the last attempt."
  lastHttpStatus: Int
  "Error of the last attempt, or why the delivery was given up."
  lastError: String
  "When the delivery was created (when the event was routed to the destination)."
  createdAt: Time!
  "When the delivery last changed."
  updatedAt: Time!
  "When the destination accepted it."
  deliveredAt: Time
  "When the next retry is due (pending deliveries that failed an attempt)."
  nextRetryAt: Time
  "The attempts, oldest first (attempts are kept 30 days)."
  attempts: [AuditEventStreamingDeliveryAttempt!]!
}
${connectionTypes('AuditEventStreamingDelivery')}

"Number of deliveries of a destination in each status. Not in GitLab."
type AuditEventStreamingDeliveryCounts {
  "Deliveries waiting for an attempt or a retry."
  pending: Int!
  "Deliveries the destination accepted."
  delivered: Int!
  "Deliveries given up."
  failed: Int!
  "All deliveries."
  total: Int!
}

extend type ExternalAuditEventDestination {
${DELIVERY_LOG_FIELDS}}

extend type InstanceExternalAuditEventDestination {
${DELIVERY_LOG_FIELDS}}

"Autogenerated input type of AuditEventsStreamingDeliveryRedeliver"
input AuditEventsStreamingDeliveryRedeliverInput {
  "A unique identifier for the client performing the mutation."
  clientMutationId: String
  "Global ID of the group or instance destination."
  destinationId: ID!
  "ID of the audit event (the payload's id)."
  eventId: ID!
}

"Autogenerated return type of AuditEventsStreamingDeliveryRedeliver."
type AuditEventsStreamingDeliveryRedeliverPayload {
  "A unique identifier for the client performing the mutation."
  clientMutationId: String
  "Errors encountered during the mutation."
  errors: [String!]!
  "The delivery, pending again."
  delivery: AuditEventStreamingDelivery
}

"Autogenerated input type of AuditEventsStreamingDeliveriesRedeliverFailed"
input AuditEventsStreamingDeliveriesRedeliverFailedInput {
  "A unique identifier for the client performing the mutation."
  clientMutationId: String
  "Global ID of the group or instance destination."
  destinationId: ID!
  "Re-send failed deliveries created at or after this time."
  since: Time!
}

"Autogenerated return type of AuditEventsStreamingDeliveriesRedeliverFailed."
type AuditEventsStreamingDeliveriesRedeliverFailedPayload {
  "A unique identifier for the client performing the mutation."
  clientMutationId: String
  "Errors encountered during the mutation."
  errors: [String!]!
  "How many failed deliveries were sent again (at most 1000 per call; call again for more)."
  redeliveredCount: Int!
}

extend type Mutation {
  "Send one audit event to a streaming destination again (same webhook-id, fresh retry schedule). Not in GitLab."
  auditEventsStreamingDeliveryRedeliver(input: AuditEventsStreamingDeliveryRedeliverInput!): AuditEventsStreamingDeliveryRedeliverPayload
  "Send every failed delivery of a streaming destination since a time again. Not in GitLab."
  auditEventsStreamingDeliveriesRedeliverFailed(input: AuditEventsStreamingDeliveriesRedeliverFailedInput!): AuditEventsStreamingDeliveriesRedeliverFailedPayload
}
`;

const STATUS_IN = { PENDING: 'pending', DELIVERED: 'delivered', FAILED: 'failed' } as const satisfies Record<string, DeliveryStatus>;
const statusOut = (s: string) => s.toUpperCase();

/** Whether the caller may manage (and so see the deliveries of) a destination. */
async function mayManage(c: GraphQLContext, d: Pick<Destination, 'scope' | 'namespaceId'>, write: boolean): Promise<boolean> {
  if (d.scope === 'instance') return can(c.env.DB, c.actor, write ? 'admin_instance_streaming' : 'read_instance_streaming');
  const group = d.namespaceId ? await findNamespaceById(c.env.DB, d.namespaceId) : null;
  return !!group && can(c.env.DB, c.actor, write ? 'admin_group_streaming' : 'read_group_streaming', { kind: 'group', group });
}

/** The destination a GID of either destination model names, if the caller may manage it. */
async function loadManagedDestination(c: GraphQLContext, gid: unknown): Promise<Destination> {
  const groupId = parseGid(gid, GROUP_DESTINATION_MODEL);
  const instanceId = groupId === null ? parseGid(gid, INSTANCE_DESTINATION_MODEL) : null;
  const d =
    groupId !== null ? await findDestination(c.env.DB, 'group', groupId)
    : instanceId !== null ? await findDestination(c.env.DB, 'instance', instanceId)
    : null;
  if (!d || !(await mayManage(c, d, true))) throw resourceNotAvailable();
  return d;
}

/** An audit event id: the payload's numeric id, or gid://gitlab/AuditEvent/<id>. */
function parseEventId(v: unknown): number | null {
  if (typeof v === 'string' && /^\d{1,15}$/.test(v)) return Number(v);
  return parseGid(v, 'AuditEvent');
}

/** A delivery as the schema shows it. */
function deliveryNode(row: DeliveryRow & { event_type?: string | null }) {
  return {
    id: toGid(DELIVERY_GID_MODEL, row.id),
    rowId: row.id,
    eventId: String(row.event_id),
    eventType: row.event_type ?? null,
    webhookId: webhookId(row.event_id, row.destination_id),
    status: statusOut(row.status),
    attemptsCount: row.attempts,
    lastHttpStatus: row.last_http_status,
    lastError: row.last_error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    deliveredAt: row.delivered_at,
    nextRetryAt: row.status === 'pending' ? row.next_retry_at : null,
  };
}

type DeliveryNode = ReturnType<typeof deliveryNode>;

/** `deliveries` of a destination: newest first, keyset-paged on the delivery id. */
async function deliveriesField(d: Destination, a: { status?: keyof typeof STATUS_IN | null; after?: string | null; first?: number | null }, c: GraphQLContext) {
  if (!(await mayManage(c, d, false))) throw resourceNotAvailable();
  const first = a.first ?? DEFAULT_PAGE_SIZE;
  if (first < 0 || first > MAX_PAGE_SIZE) throw new PublicError(`Argument 'first' must be between 0 and ${MAX_PAGE_SIZE}`);
  const status = a.status ? STATUS_IN[a.status] : null;
  const beforeId = a.after ? decodeCursor(a.after) : null;
  const [rows, counts] = await Promise.all([
    listDeliveries(c.env.DB, d.id, { status, beforeId, limit: first + 1 }),
    countDeliveries(c.env.DB, d.id, status),
  ]);
  const page = rows.slice(0, first);
  const types = await eventTypes(c.env.DB, page.map((r) => r.event_id));
  const nodes = page.map((r) => deliveryNode({ ...r, event_type: types.get(r.event_id) ?? null }));
  return {
    nodes,
    edges: nodes.map((node) => ({ cursor: encodeCursor(node.rowId), node })),
    count: counts.pending + counts.delivered + counts.failed,
    pageInfo: {
      hasNextPage: rows.length > first,
      hasPreviousPage: beforeId !== null,
      startCursor: nodes.length ? encodeCursor(nodes[0].rowId) : null,
      endCursor: nodes.length ? encodeCursor(nodes[nodes.length - 1].rowId) : null,
    },
  };
}

/** Event types of events by id (one query). */
async function eventTypes(db: D1Database, ids: number[]): Promise<Map<number, string>> {
  if (ids.length === 0) return new Map();
  const rows = await db
    .prepare(`SELECT id, event_type FROM audit_events WHERE id IN (${ids.map((_, i) => `?${i + 1}`).join(', ')})`)
    .bind(...ids)
    .all<{ id: number; event_type: string }>();
  return new Map(rows.results.map((r) => [r.id, r.event_type]));
}

const destinationFields = {
  deliveries: deliveriesField,
  deliveryCounts: async (d: Destination, _a: unknown, c: GraphQLContext) => {
    if (!(await mayManage(c, d, false))) throw resourceNotAvailable();
    const counts = await countDeliveries(c.env.DB, d.id);
    return { ...counts, total: counts.pending + counts.delivered + counts.failed };
  },
};

type Input<T> = { input: T & { clientMutationId?: string | null } };

/** Send jobs to the deliveries queue (100 per batch, the Queues limit). */
async function enqueue(c: GraphQLContext, jobs: DeliveryJob[]): Promise<void> {
  for (let i = 0; i < jobs.length; i += 100) {
    await c.env.DELIVERIES.sendBatch(jobs.slice(i, i + 100).map((body) => ({ body, contentType: 'json' as const })));
  }
}

/** Put deliveries back to failed when their redelivery could not be enqueued. */
async function markNotEnqueued(c: GraphQLContext, destinationId: number, eventIds: number[]): Promise<void> {
  for (const eventId of eventIds) {
    await c.env.DB
      .prepare(`UPDATE deliveries SET status = 'failed', last_error = 'Redelivery could not be enqueued', updated_at = ?3 WHERE event_id = ?1 AND destination_id = ?2 AND status = 'pending'`)
      .bind(eventId, destinationId, nowIso())
      .run();
  }
}

export const deliveries: SchemaModule = {
  typeDefs,
  resolvers: {
    ExternalAuditEventDestination: destinationFields,
    InstanceExternalAuditEventDestination: destinationFields,
    AuditEventStreamingDelivery: {
      attempts: async (n: DeliveryNode, _a: unknown, c: GraphQLContext) =>
        (await listAttempts(c.env.DB, n.rowId)).map((a: DeliveryAttemptRow) => ({
          attempt: a.attempt,
          status: statusOut(a.status),
          httpStatus: a.http_status,
          durationMs: a.duration_ms,
          errorClass: a.error_class,
          responseExcerpt: a.response_excerpt,
          createdAt: a.created_at,
        })),
    },
    Mutation: {
      auditEventsStreamingDeliveryRedeliver: async (_p: unknown, { input }: Input<{ destinationId: string; eventId: string }>, c: GraphQLContext) => {
        const d = await loadManagedDestination(c, input.destinationId);
        const base = { clientMutationId: input.clientMutationId ?? null };
        const eventId = parseEventId(input.eventId);
        // Only events that were routed to this destination may be replayed to it: an owner
        // must not be able to send another group's events to their own endpoint.
        const routed = eventId === null ? null : await c.env.DB
          .prepare('SELECT e.event_type FROM deliveries d JOIN audit_events e ON e.id = d.event_id WHERE d.event_id = ?1 AND d.destination_id = ?2')
          .bind(eventId, d.id)
          .first<{ event_type: string }>();
        if (eventId === null || !routed) return { ...base, errors: ['Audit event was never delivered to this destination'], delivery: null };
        if (!d.active) return { ...base, errors: ['Destination is not active'], delivery: null };
        const row = await resetDeliveryForRedelivery(c.env.DB, eventId, d.id);
        try {
          await enqueue(c, [{ eventId, destinationId: d.id }]);
        } catch (err) {
          console.error('redelivery could not be enqueued', err instanceof Error ? err.message : err);
          await markNotEnqueued(c, d.id, [eventId]);
          return { ...base, errors: ['The redelivery could not be queued; try again'], delivery: null };
        }
        return { ...base, errors: [], delivery: deliveryNode({ ...row, event_type: routed.event_type }) };
      },
      auditEventsStreamingDeliveriesRedeliverFailed: async (
        _p: unknown,
        { input }: Input<{ destinationId: string; since: unknown }>,
        c: GraphQLContext,
      ) => {
        const d = await loadManagedDestination(c, input.destinationId);
        const base = { clientMutationId: input.clientMutationId ?? null };
        const since = typeof input.since === 'string' ? parseIsoDateTime(input.since) : undefined;
        if (!since) return { ...base, errors: ['since is not a valid ISO 8601 time'], redeliveredCount: 0 };
        if (!d.active) return { ...base, errors: ['Destination is not active'], redeliveredCount: 0 };
        const eventIds = await resetFailedDeliveriesSince(c.env.DB, d.id, since, MAX_REDELIVER_FAILED);
        try {
          await enqueue(c, eventIds.map((eventId) => ({ eventId, destinationId: d.id })));
        } catch (err) {
          console.error('redeliveries could not be enqueued', err instanceof Error ? err.message : err);
          await markNotEnqueued(c, d.id, eventIds);
          return { ...base, errors: ['The redeliveries could not be queued; try again'], redeliveredCount: 0 };
        }
        return { ...base, errors: [], redeliveredCount: eventIds.length };
      },
    },
  },
};
