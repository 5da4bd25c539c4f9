/** SDL of the per-destination delivery chart (ours, not in GitLab): `deliveryStats` on every destination type. */
import { extendDestinationTypes } from './common';

const DELIVERY_STATS_FIELD = `
  "Delivery attempts per UTC hour over the last \`hours\` hours (1 to 168), oldest first, every hour present (the current one last). Read from the delivery log, which is up to about a second behind the receivers. Not in GitLab."
  deliveryStats(hours: Int = 24): [AuditEventStreamingDeliveryStatsBucket!]!
`;

export const deliveryStatsTypeDefs = /* GraphQL */ `
"Delivery attempts of a streaming destination in one hour. Not in GitLab."
type AuditEventStreamingDeliveryStatsBucket {
  "Start of the hour (UTC)."
  bucketStart: Time!
  "Attempts that succeeded (2xx) in the hour."
  delivered: Int!
  "Attempts that failed in the hour (each retry counts)."
  failed: Int!
  "Median duration of the hour's attempts, in milliseconds (null without attempts)."
  p50LatencyMs: Int
  "95th percentile duration of the hour's attempts, in milliseconds (null without attempts)."
  p95LatencyMs: Int
}

${extendDestinationTypes(DELIVERY_STATS_FIELD)}`;
