/**
 * The queue handler of the consumer Worker: one batch of delivery messages. It makes no POST:
 * each message's jobs (one per destination: the fan-out sends one message per event, naming its
 * destinations) go to their lanes (src/delivery/lane.ts: Durable Objects, several per destination,
 * chosen by event id in src/delivery/lanes.ts, that run the deliveries on their alarms), one
 * `enqueue` RPC per lane per batch, all lanes at once. A message is acked as soon as the lanes of
 * all its jobs have them in storage, whatever the other destinations or receivers are doing; if an
 * enqueue fails, its messages are retried (their other jobs, already stored, are one row in their
 * lanes when they come again). A message that is not a delivery message is acked (nothing to deliver).
 */
import type { ConsumerEnv as Env, DeliveryJob, DeliveryMessage } from '../env';
import { deliveryJobsOf } from './consumer';
import { laneAt, laneIndex, lanesPerDestination } from './lanes';

/** Seconds before a message whose enqueue failed comes back. */
export const ENQUEUE_RETRY_DELAY_SECONDS = 5;

/** The handler: see the module comment. Resolves once every message of the batch is settled. */
export async function handleDeliveryBatch(batch: MessageBatch<DeliveryMessage>, env: Env, _ctx: ExecutionContext): Promise<void> {
  const laneCount = lanesPerDestination(env);
  // One group of jobs per lane, keyed `<destinationId>/<lane index>`, with the messages they came in.
  const lanes = new Map<string, { destinationId: number; index: number; jobs: DeliveryJob[]; messages: Set<Message<DeliveryMessage>> }>();
  const valid: Message<DeliveryMessage>[] = [];
  for (const m of batch.messages) {
    const jobs = deliveryJobsOf(m.body);
    if (!jobs) {
      console.error('delivery message without a valid {eventId, destinationId} or {eventId, destinationIds}; dropped');
      m.ack();
      continue;
    }
    valid.push(m);
    for (const job of jobs) {
      const index = laneIndex(job.eventId, laneCount);
      const key = `${job.destinationId}/${index}`;
      let lane = lanes.get(key);
      if (!lane) lanes.set(key, (lane = { destinationId: job.destinationId, index, jobs: [], messages: new Set() }));
      lane.jobs.push(job);
      lane.messages.add(m);
    }
  }
  const failed = new Set<Message<DeliveryMessage>>();
  await Promise.all(
    [...lanes.values()].map(async ({ destinationId, index, jobs, messages }) => {
      try {
        await laneAt(env, destinationId, index).enqueue(jobs);
      } catch (err) {
        console.error(`destination ${destinationId}: handing ${jobs.length} deliveries to lane ${index} failed; retrying their messages`, err instanceof Error ? err.message : err);
        for (const m of messages) failed.add(m);
      }
    }),
  );
  for (const m of valid) {
    if (failed.has(m)) m.retry({ delaySeconds: ENQUEUE_RETRY_DELAY_SECONDS });
    else m.ack();
  }
}
