/**
 * The queue handler of the consumer Worker: one batch of delivery messages. It makes no POST:
 * each valid message's job goes to its lane (src/delivery/lane.ts: Durable Objects, several per
 * destination, chosen by event id in src/delivery/lanes.ts, that run the deliveries on their
 * alarms), one `enqueue` RPC per lane per batch, all lanes at once. A message is acked as soon
 * as its lane's storage has its job, whatever the other destinations or receivers are doing; if the enqueue
 * fails, its messages are retried. A message without a valid {eventId, destinationId} is acked
 * (nothing to deliver).
 */
import type { ConsumerEnv as Env, DeliveryJob } from '../env';
import { isDeliveryJob } from './consumer';
import { laneAt, laneIndex, lanesPerDestination } from './lanes';

/** Seconds before a message whose enqueue failed comes back. */
export const ENQUEUE_RETRY_DELAY_SECONDS = 5;

/** The handler: see the module comment. Resolves once every message of the batch is settled. */
export async function handleDeliveryBatch(batch: MessageBatch<DeliveryJob>, env: Env, _ctx: ExecutionContext): Promise<void> {
  const laneCount = lanesPerDestination(env);
  // One group of messages per lane, keyed `<destinationId>/<lane index>`.
  const lanes = new Map<string, { destinationId: number; index: number; messages: Message<DeliveryJob>[] }>();
  for (const m of batch.messages) {
    if (!isDeliveryJob(m.body)) {
      console.error('delivery message without a valid {eventId, destinationId}; dropped');
      m.ack();
      continue;
    }
    const { destinationId } = m.body;
    const index = laneIndex(m.body.eventId, laneCount);
    const key = `${destinationId}/${index}`;
    let lane = lanes.get(key);
    if (!lane) lanes.set(key, (lane = { destinationId, index, messages: [] }));
    lane.messages.push(m);
  }
  await Promise.all(
    [...lanes.values()].map(async ({ destinationId, index, messages }) => {
      try {
        await laneAt(env, destinationId, index).enqueue(messages.map((m) => ({ eventId: m.body.eventId, destinationId })));
      } catch (err) {
        console.error(`destination ${destinationId}: handing ${messages.length} deliveries to lane ${index} failed; retrying them`, err instanceof Error ? err.message : err);
        for (const m of messages) m.retry({ delaySeconds: ENQUEUE_RETRY_DELAY_SECONDS });
        return;
      }
      for (const m of messages) m.ack();
    }),
  );
}
