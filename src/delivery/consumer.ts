import type { DeliveryJob, Env } from '../env';

/** The queue consumer: delivers each (event, destination) message (completed by the delivery capability). */
export async function handleDeliveryBatch(batch: MessageBatch<DeliveryJob>, _env: Env, _ctx: ExecutionContext): Promise<void> {
  for (const message of batch.messages) message.retry({ delaySeconds: 60 });
}
