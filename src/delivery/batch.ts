/**
 * The queue handler of the consumer Worker: one batch of delivery messages. It makes no POST:
 * each valid message's job goes to its destination's lane (src/delivery/lane.ts, a Durable
 * Object per destination that runs the deliveries on its alarm), one `enqueue` RPC per
 * destination per batch, all destinations at once. A message is acked as soon as its lane's
 * storage has its job, whatever the other destinations or receivers are doing; if the enqueue
 * fails, its messages are retried. A message without a valid {eventId, destinationId} is acked
 * (nothing to deliver).
 */
import type { ConsumerEnv as Env, DeliveryJob } from '../env';
import { isDeliveryJob } from './consumer';
import { laneOf } from './lane';

/** Seconds before a message whose enqueue failed comes back. */
export const ENQUEUE_RETRY_DELAY_SECONDS = 5;

/** The handler: see the module comment. Resolves once every message of the batch is settled. */
export async function handleDeliveryBatch(batch: MessageBatch<DeliveryJob>, env: Env, _ctx: ExecutionContext): Promise<void> {
  const lanes = new Map<number, Message<DeliveryJob>[]>();
  for (const m of batch.messages) {
    if (!isDeliveryJob(m.body)) {
      console.error('delivery message without a valid {eventId, destinationId}; dropped');
      m.ack();
      continue;
    }
    let lane = lanes.get(m.body.destinationId);
    if (!lane) lanes.set(m.body.destinationId, (lane = []));
    lane.push(m);
  }
  await Promise.all(
    [...lanes].map(async ([destinationId, messages]) => {
      try {
        await laneOf(env, destinationId).enqueue(messages.map((m) => ({ eventId: m.body.eventId, destinationId })));
      } catch (err) {
        console.error(`destination ${destinationId}: handing ${messages.length} deliveries to its lane failed; retrying them`, err instanceof Error ? err.message : err);
        for (const m of messages) m.retry({ delaySeconds: ENQUEUE_RETRY_DELAY_SECONDS });
        return;
      }
      for (const m of messages) m.ack();
    }),
  );
}
