/**
 * SDL of a destination's delivery health (ours; not in GitLab): the `health` field of every
 * streaming destination type.
 */

import { extendDestinationTypes } from './common';

/** The `health` field, the same on every destination type. */
export const DESTINATION_HEALTH_FIELD = `
  "Delivery health of this destination, from its newest deliveries and its circuit breaker. Not in GitLab."
  health: AuditEventStreamingDestinationHealth!
`;

export const destinationHealthTypeDefs = /* GraphQL */ `
"Delivery health of a streaming destination. Not in GitLab."
type AuditEventStreamingDestinationHealth {
  "When the destination last accepted a delivery (among its newest 100 delivered)."
  lastSuccessAt: Time
  "When an attempt last failed (among its newest 100 failed and 100 pending deliveries)."
  lastFailureAt: Time
  "Why that attempt failed (for example HTTP 503, or why the delivery was given up)."
  lastFailureReason: String
  "Failed attempts in a row, as the circuit breaker counts them (a timeout counts for several)."
  consecutiveFailures: Int!
  "While the circuit breaker is open: when it closes again."
  breakerOpenUntil: Time
  "Deliveries waiting for an attempt or a retry (counted up to 10000)."
  pending: Int!
  "Deliveries given up (failed: retries exhausted, refused or blocked; redeliverable), counted up to 10000."
  deadLettered: Int!
}

${extendDestinationTypes(DESTINATION_HEALTH_FIELD)}`;
