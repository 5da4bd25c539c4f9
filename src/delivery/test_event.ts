/**
 * A test event sent to a streaming destination on request (the Streams tab's "Send test event",
 * `auditEventsStreamingDestinationSendTestEvent`): one attempt now, made exactly as a real
 * delivery's (same category dispatch, SSRF guard and signatures), recorded in the delivery log
 * as a delivery of its own, and never written to the audit log. It bypasses the destination's
 * circuit breaker (an owner testing wants the receiver's real answer), is not retried, and does
 * not move the breaker either way.
 */
import type { SharedEnv } from '../env';
import type { AuditEvent } from '../audit/record';
import type { Destination } from '../db/destinations';
import type { Namespace } from '../db/namespaces';
import { ensureDelivery, loadDeliveryContext, type Delivery } from '../db/deliveries';
import { createTestDelivery } from '../db/destination_health';
import { writeAttemptLog } from '../db/attempt_log';
import { attemptDelivery, type AttemptEnv } from './attempt';
import { deliveryTimeoutMs } from './retry';

/** The event type of test events. */
export const TEST_EVENT_TYPE = 'streaming_destination_test';

/** The test event's payload fields: about the destination's group (or the instance), by its sender. */
export function testEvent(id: number, destination: Pick<Destination, 'id' | 'name' | 'scope'>, group: Pick<Namespace, 'id' | 'fullPath'> | null, author: { id: number; name: string }, now: string): AuditEvent {
  return {
    id,
    authorId: author.id,
    authorName: author.name,
    entityId: group ? group.id : 1,
    entityType: group ? 'Group' : 'Gitlab::Audit::InstanceScope',
    entityPath: group ? group.fullPath : 'gitlab_instance',
    eventType: TEST_EVENT_TYPE,
    targetId: destination.id,
    targetType: destination.scope === 'group' ? 'AuditEvents::ExternalAuditEventDestination' : 'AuditEvents::InstanceExternalAuditEventDestination',
    targetDetails: destination.name,
    ipAddress: null,
    details: { custom_message: 'Test event sent from the streaming destination settings' },
    createdAt: now,
    rootNamespaceId: group?.id ?? null,
    scopePath: null,
    projectId: null,
  };
}

/** Send a test event to the destination now; resolves to its delivery (delivered or failed). */
export async function sendTestEvent(
  env: Pick<SharedEnv, 'DB' | 'DELIVERY_TIMEOUT_MS'> & AttemptEnv,
  destination: Destination,
  group: Pick<Namespace, 'id' | 'fullPath'> | null,
  author: { id: number; name: string },
): Promise<Delivery> {
  const delivery = await createTestDelivery(env.DB, destination.id);
  const { headers } = await loadDeliveryContext(env.DB, delivery.eventId, destination.id);
  const event = testEvent(delivery.eventId, destination, group, author, delivery.createdAt);
  const res = await attemptDelivery(env, event, destination, headers, deliveryTimeoutMs(env));
  await writeAttemptLog(env.DB, [
    {
      deliveryId: delivery.id,
      destinationId: destination.id,
      at: new Date().toISOString(),
      effect: { kind: 'none' },
      status: res.ok ? 'delivered' : 'failed',
      httpStatus: res.httpStatus,
      durationMs: res.durationMs,
      errorClass: res.errorClass,
      responseExcerpt: res.excerpt,
      error: res.error,
      deliveryStatus: res.ok ? 'delivered' : 'failed',
      nextRetryAt: null,
    },
  ]);
  return ensureDelivery(env.DB, delivery.eventId, destination.id);
}
