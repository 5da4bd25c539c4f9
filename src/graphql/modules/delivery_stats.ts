/**
 * `deliveryStats(hours:)` on both legacy destination types (ours): a destination's attempts per
 * UTC hour (delivered, failed, p50 and p95 duration) for the Streams tab's chart. Readable by
 * whoever may read its delivery log (the policy module, through mayAccessDestination).
 */
import type { GraphQLContext, SchemaModule } from '../context';
import { PublicError, resourceNotAvailable } from '../errors';
import { deliveryStatsTypeDefs } from '../schema/delivery_stats';
import { onDestinationTypes } from '../schema/common';
import type { Destination } from '../../db/destinations';
import { deliveryHours } from '../../db/delivery_stats';
import { mayAccessDestination } from '../../destinations/access';

/** The longest chart (hours): attempts are kept 30 days, the chart is a recent view. */
export const MAX_STATS_HOURS = 168;
const HOUR_MS = 3_600_000;

async function deliveryStats(d: Destination, a: { hours?: number | null }, c: GraphQLContext) {
  if (!(await mayAccessDestination({ db: c.env.DB, actor: c.actor }, d, false))) throw resourceNotAvailable();
  const hours = a.hours ?? 24;
  if (!Number.isInteger(hours) || hours < 1 || hours > MAX_STATS_HOURS) throw new PublicError(`Argument 'hours' must be between 1 and ${MAX_STATS_HOURS}`);
  const first = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - (hours - 1) * HOUR_MS;
  const found = new Map((await deliveryHours(c.env.DB, d.id, new Date(first).toISOString())).map((h) => [h.hour, h]));
  return Array.from({ length: hours }, (_, i) => {
    const bucketStart = new Date(first + i * HOUR_MS).toISOString();
    const h = found.get(bucketStart.slice(0, 13));
    return { bucketStart, delivered: h?.delivered ?? 0, failed: h?.failed ?? 0, p50LatencyMs: h?.p50LatencyMs ?? null, p95LatencyMs: h?.p95LatencyMs ?? null };
  });
}

export const deliveryStatsModule: SchemaModule = {
  typeDefs: deliveryStatsTypeDefs,
  resolvers: {
    ...onDestinationTypes({ deliveryStats }),
  },
};
