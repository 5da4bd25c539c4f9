/**
 * Sending audit events to a destination again (ours; GitLab keeps no delivery log): one event,
 * or every failed delivery since a time. The deliveries are reset to pending (same webhook-id,
 * fresh retry schedule) and their jobs queued; when the queue refuses them, they are put back to
 * failed and the caller is told to try again.
 */
import type { DeliveryJob, Env } from '../env';
import type { Destination } from '../db/destinations';
import { resetDeliveryForRedelivery, resetFailedDeliveriesSince, type Delivery } from '../db/deliveries';
import { markRedeliveriesNotEnqueued, routedEventType } from '../db/delivery_log';
import { loadColdEvents } from '../audit/listing';

/** Most deliveries one "redeliver failed" call re-sends. */
export const MAX_REDELIVER_FAILED = 1000;

const NOT_ACTIVE = 'Destination is not active';

/** Send jobs to the deliveries queue (100 per batch, the Queues limit). */
async function enqueue(env: Env, jobs: DeliveryJob[]): Promise<void> {
  for (let i = 0; i < jobs.length; i += 100) {
    await env.DELIVERIES.sendBatch(jobs.slice(i, i + 100).map((body) => ({ body, contentType: 'json' as const })));
  }
}

/** Queue the reset deliveries' jobs; false (and the deliveries failed again) when the queue refused them. */
async function enqueueOrRevert(env: Env, d: Destination, eventIds: number[], what: string): Promise<boolean> {
  try {
    await enqueue(env, eventIds.map((eventId) => ({ eventId, destinationId: d.id })));
    return true;
  } catch (err) {
    console.error(`${what} could not be enqueued`, err instanceof Error ? err.message : err);
    await markRedeliveriesNotEnqueued(env.DB, d.id, eventIds);
    return false;
  }
}

/** The type of an event routed to this destination (hot, or cold in the archive); null when it was not routed there or no longer exists. */
async function eventTypeRouted(env: Env, eventId: number, destinationId: number): Promise<string | null> {
  const routed = await routedEventType(env.DB, eventId, destinationId);
  if (routed === null || routed.eventType !== null) return routed?.eventType ?? null;
  return (await loadColdEvents(env, [eventId])).get(eventId)?.eventType ?? null;
}

/**
 * Send one event to a destination again. Only events that were routed to this destination may
 * be replayed to it: an owner must not be able to send another group's events to their own
 * endpoint.
 */
export async function redeliverEvent(
  env: Env,
  d: Destination,
  eventId: number | null,
): Promise<{ delivery: (Delivery & { eventType: string }) | null; errors: string[] }> {
  const eventType = eventId === null ? null : await eventTypeRouted(env, eventId, d.id);
  if (eventId === null || eventType === null) return { delivery: null, errors: ['Audit event was never delivered to this destination'] };
  if (!d.active) return { delivery: null, errors: [NOT_ACTIVE] };
  const row = await resetDeliveryForRedelivery(env.DB, eventId, d.id);
  if (!(await enqueueOrRevert(env, d, [eventId], 'redelivery'))) return { delivery: null, errors: ['The redelivery could not be queued; try again'] };
  return { delivery: { ...row, eventType }, errors: [] };
}

/** Send every failed delivery of a destination created since `since` again (at most MAX_REDELIVER_FAILED). */
export async function redeliverFailedSince(env: Env, d: Destination, since: string): Promise<{ redeliveredCount: number; errors: string[] }> {
  if (!d.active) return { redeliveredCount: 0, errors: [NOT_ACTIVE] };
  const eventIds = await resetFailedDeliveriesSince(env.DB, d.id, since, MAX_REDELIVER_FAILED);
  if (!(await enqueueOrRevert(env, d, eventIds, 'redeliveries'))) return { redeliveredCount: 0, errors: ['The redeliveries could not be queued; try again'] };
  return { redeliveredCount: eventIds.length, errors: [] };
}
