/**
 * The contexts of deliveries (src/db/deliveries.ts) with their events hot or cold: a pending or
 * failed delivery stays in D1 after its event moved to the archive (issue 19), so an event not in
 * D1 is read from its chunk (src/audit/listing.ts) before the delivery is dropped as eventless.
 */
import type { SharedEnv } from '../env';
import { deliveryKey, loadDeliveryContexts, type DeliveryContext } from '../db/deliveries';
import { loadColdEvents } from '../audit/listing';

type ContextEnv = Pick<SharedEnv, 'DB' | 'AUDIT_ARCHIVE'>;

/** loadDeliveryContexts, with the events missing from D1 loaded from the archive. */
export async function deliveryContexts(env: ContextEnv, jobs: { eventId: number; destinationId: number }[]): Promise<Map<string, DeliveryContext>> {
  const contexts = await loadDeliveryContexts(env.DB, jobs);
  const missing = jobs.filter((j) => contexts.get(deliveryKey(j.eventId, j.destinationId))?.event === null).map((j) => j.eventId);
  if (missing.length === 0) return contexts;
  const cold = await loadColdEvents(env, missing);
  for (const j of jobs) {
    const context = contexts.get(deliveryKey(j.eventId, j.destinationId));
    if (context && context.event === null) context.event = cold.get(j.eventId) ?? null;
  }
  return contexts;
}

/** deliveryContexts for one job. */
export async function deliveryContext(env: ContextEnv, eventId: number, destinationId: number): Promise<DeliveryContext> {
  return (await deliveryContexts(env, [{ eventId, destinationId }])).get(deliveryKey(eventId, destinationId))!;
}
