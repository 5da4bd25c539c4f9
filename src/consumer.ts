/**
 * The consumer Worker (consumer/wrangler.toml): consumes the "deliveries" queue and does the
 * filtered, signed POSTs to streaming destinations. The API Worker (src/index.ts) only produces.
 * Both share the source, the D1 database and the queues. The queue handler hands each job to its
 * lane (DestinationLane, a Durable Object defined here, DELIVERY_LANES_PER_DESTINATION (default 1) per destination:
 * src/delivery/lanes.ts), whose alarm does the POSTs (src/delivery/lane.ts).
 */
import type { ConsumerEnv, DeliveryMessage } from './env';
import { handleDeliveryBatch } from './delivery/batch';
import { runTraced } from './bench/stats';

export { DestinationLane } from './delivery/lane';

export default {
  // Under the benchmarks' edge model (BENCH_ROUTES, EDGE_MODEL) the batch pays Cloudflare's costs;
  // its counts go to the API Worker's GET /-/bench/edge-stats through EdgeModelPrimary (report).
  queue: (batch, env, ctx) => runTraced(env, 'queue', (traced) => handleDeliveryBatch(batch, traced, ctx), { report: true }),
} satisfies ExportedHandler<ConsumerEnv, DeliveryMessage>;
