/**
 * The consumer Worker (consumer/wrangler.toml): consumes the "deliveries" queue and does the
 * filtered, signed POSTs to streaming destinations. The API Worker (src/index.ts) only produces.
 * Both share the source, the D1 database and the queues.
 */
import type { ConsumerEnv, DeliveryJob } from './env';
import { handleDeliveryBatch } from './delivery/batch';

export default {
  queue: handleDeliveryBatch,
} satisfies ExportedHandler<ConsumerEnv, DeliveryJob>;
