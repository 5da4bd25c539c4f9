/**
 * The delivery log and replay over GraphQL (ours; GitLab streams each event once and keeps no
 * log). Every streaming destination type gets `deliveries` (newest first, filter by status,
 * paged) and `deliveryCounts`; two mutations send deliveries again:
 * `auditEventsStreamingDeliveryRedeliver` (one event) and
 * `auditEventsStreamingDeliveriesRedeliverFailed` (every failed delivery since a time).
 * Who may read or replay: whoever may manage the destination (the Owner of its top-level
 * group, or an administrator for instance destinations), through the policy module. A page of
 * deliveries costs a fixed number of D1 queries: its attempts and event types are read for the
 * whole page at once.
 */
import type { GraphQLContext, SchemaModule } from '../context';
import { decodeCursor, encodeCursor, MAX_PAGE_SIZE } from '../connection';
import { PublicError, resourceNotAvailable, withServiceErrors } from '../errors';
import { parseGid, toGid } from '../gid';
import { parseDestinationGid } from '../destination_gid';
import { deliveryTypeDefs } from '../schema/deliveries';
import { onDestinationTypes } from '../schema/common';
import type { Destination } from '../../db/destinations';
import { countDeliveries, listDeliveries, type Delivery, type DeliveryAttempt, type DeliveryStatus } from '../../db/deliveries';
import { eventTypesOf, listAttemptsOfDeliveries } from '../../db/delivery_log';
import { loadColdEvents } from '../../audit/listing';
import { webhookId } from '../../delivery/signing';
import { TEST_EVENT_TYPE } from '../../delivery/test_event';
import { parseIsoDateTime } from '../../web/params';
import { loadDestination, mayAccessDestination } from '../../destinations/access';
import { redeliverEvent, redeliverFailedSince } from '../../destinations/redelivery';

/** GID model of a delivery (ours). */
export const DELIVERY_GID_MODEL = 'AuditEvents::Streaming::Delivery';
const DEFAULT_PAGE_SIZE = 20;

const STATUS_IN = { PENDING: 'pending', DELIVERED: 'delivered', FAILED: 'failed' } as const satisfies Record<string, DeliveryStatus>;
const statusOut = (s: string) => s.toUpperCase();

/** Whether the caller may read the deliveries of a destination. */
function mayRead(c: GraphQLContext, d: Destination): Promise<boolean> {
  return mayAccessDestination({ db: c.env.DB, actor: c.actor }, d, false);
}

/** The destination a GID of any of the four destination models names, if the caller may manage it (else DestinationNotAvailable). */
async function loadManagedDestination(c: GraphQLContext, gid: unknown): Promise<Destination> {
  const named = parseDestinationGid(gid);
  if (!named) throw resourceNotAvailable();
  return (await loadDestination({ db: c.env.DB, actor: c.actor }, named.scope, named.id, named.anyCategory)).destination;
}

/** An audit event id: the payload's numeric id, or gid://gitlab/AuditEvent/<id>. */
function parseEventId(v: unknown): number | null {
  if (typeof v === 'string' && /^\d{1,15}$/.test(v)) return Number(v);
  return parseGid(v, 'AuditEvent');
}

/** The attempts of every delivery of a page, read once (on the first `attempts` field asked). */
type PageAttempts = () => Promise<Map<number, DeliveryAttempt[]>>;

export function pageAttempts(db: D1Database, deliveryIds: number[]): PageAttempts {
  let loaded: Promise<Map<number, DeliveryAttempt[]>> | null = null;
  return () => (loaded ??= listAttemptsOfDeliveries(db, deliveryIds));
}

/** A delivery as the schema shows it (a test event's, with a negative event id, has the test event type). */
export function deliveryNode(delivery: Delivery & { eventType?: string | null }, attemptsOfPage: PageAttempts) {
  return {
    id: toGid(DELIVERY_GID_MODEL, delivery.id),
    rowId: delivery.id,
    eventId: String(delivery.eventId),
    eventType: delivery.eventType ?? (delivery.eventId < 0 ? TEST_EVENT_TYPE : null),
    webhookId: webhookId(delivery.eventId, delivery.destinationId),
    status: statusOut(delivery.status),
    attemptsCount: delivery.attempts,
    lastHttpStatus: delivery.lastHttpStatus,
    lastError: delivery.lastError,
    createdAt: delivery.createdAt,
    updatedAt: delivery.updatedAt,
    deliveredAt: delivery.deliveredAt,
    nextRetryAt: delivery.status === 'pending' ? delivery.nextRetryAt : null,
    attemptsOfPage,
  };
}

type DeliveryNode = ReturnType<typeof deliveryNode>;

/** `deliveries` of a destination: newest first, keyset-paged on the delivery id. */
async function deliveriesField(d: Destination, a: { status?: keyof typeof STATUS_IN | null; after?: string | null; first?: number | null }, c: GraphQLContext) {
  if (!(await mayRead(c, d))) throw resourceNotAvailable();
  const first = a.first ?? DEFAULT_PAGE_SIZE;
  if (first < 0 || first > MAX_PAGE_SIZE) throw new PublicError(`Argument 'first' must be between 0 and ${MAX_PAGE_SIZE}`);
  const status = a.status ? STATUS_IN[a.status] : null;
  const beforeId = a.after ? decodeCursor(a.after) : null;
  const rows = await listDeliveries(c.env.DB, d.id, { status, beforeId, limit: first + 1 });
  const page = rows.slice(0, first);
  const types = await eventTypesOf(c.env.DB, page.map((r) => r.eventId));
  // Events moved to the archive (issue 19) keep their pending and failed deliveries.
  const cold = await loadColdEvents(c.env, page.filter((r) => r.eventId > 0 && !types.has(r.eventId)).map((r) => r.eventId));
  for (const [id, e] of cold) types.set(id, e.eventType);
  const attemptsOfPage = pageAttempts(c.env.DB, page.map((r) => r.id));
  const nodes = page.map((r) => deliveryNode({ ...r, eventType: types.get(r.eventId) ?? null }, attemptsOfPage));
  return {
    nodes,
    edges: nodes.map((node) => ({ cursor: encodeCursor(node.rowId), node })),
    // Counting reads every delivery of the destination (in its index): only when `count` is asked
    // (graphql-js calls a function-valued field), not for every page.
    count: async () => {
      const counts = await countDeliveries(c.env.DB, d.id, status);
      return counts.pending + counts.delivered + counts.failed;
    },
    pageInfo: {
      hasNextPage: rows.length > first,
      hasPreviousPage: beforeId !== null,
      startCursor: nodes.length ? encodeCursor(nodes[0].rowId) : null,
      endCursor: nodes.length ? encodeCursor(nodes[nodes.length - 1].rowId) : null,
    },
  };
}

const destinationFields = {
  deliveries: deliveriesField,
  deliveryCounts: async (d: Destination, _a: unknown, c: GraphQLContext) => {
    if (!(await mayRead(c, d))) throw resourceNotAvailable();
    const counts = await countDeliveries(c.env.DB, d.id);
    return { ...counts, total: counts.pending + counts.delivered + counts.failed };
  },
};

type Input<T> = { input: T & { clientMutationId?: string | null } };

export const deliveries: SchemaModule = {
  typeDefs: deliveryTypeDefs,
  resolvers: {
    ...onDestinationTypes(destinationFields),
    AuditEventStreamingDelivery: {
      attempts: async (n: DeliveryNode) =>
        ((await n.attemptsOfPage()).get(n.rowId) ?? []).map((a: DeliveryAttempt) => ({
          attempt: a.attempt,
          status: statusOut(a.status),
          httpStatus: a.httpStatus,
          durationMs: a.durationMs,
          errorClass: a.errorClass,
          responseExcerpt: a.responseExcerpt,
          createdAt: a.createdAt,
        })),
    },
    Mutation: {
      auditEventsStreamingDeliveryRedeliver: withServiceErrors(async (_p: unknown, { input }: Input<{ destinationId: string; eventId: string }>, c: GraphQLContext) => {
        const d = await loadManagedDestination(c, input.destinationId);
        const res = await redeliverEvent(c.env, d, parseEventId(input.eventId));
        const delivery = res.delivery && deliveryNode(res.delivery, pageAttempts(c.env.DB, [res.delivery.id]));
        return { clientMutationId: input.clientMutationId ?? null, errors: res.errors, delivery };
      }),
      auditEventsStreamingDeliveriesRedeliverFailed: withServiceErrors(async (
        _p: unknown,
        { input }: Input<{ destinationId: string; since: unknown }>,
        c: GraphQLContext,
      ) => {
        const d = await loadManagedDestination(c, input.destinationId);
        const base = { clientMutationId: input.clientMutationId ?? null };
        const since = typeof input.since === 'string' ? parseIsoDateTime(input.since) : undefined;
        if (!since) return { ...base, errors: ['since is not a valid ISO 8601 time'], redeliveredCount: 0 };
        return { ...base, ...(await redeliverFailedSince(c.env, d, since)) };
      }),
    },
  },
};
