/**
 * Which Durable Object (DestinationLane, src/delivery/lane.ts) holds a delivery's job: one of
 * its destination's lanes (DELIVERY_LANES_PER_DESTINATION), chosen by the event id, so that every message of
 * one delivery (its first, an outbox or stale-sweep re-send, a redelivery) reaches the same lane
 * and a duplicate is one stored job there.
 */
import type { ConsumerEnv as Env } from '../env';
import { readDeliveryConfig, type DeliveryVars } from './config';

type LaneEnv = Pick<Env, 'DESTINATION_LANES'> & DeliveryVars;
/** A lane's stub (DestinationLane, src/delivery/lane.ts). */
type LaneStub = ReturnType<Env['DESTINATION_LANES']['get']>;

/**
 * Lanes of one destination (DELIVERY_LANES_PER_DESTINATION, default 1): its POSTs in flight are
 * at most lanes × LANE_CONCURRENCY (a far receiver answering in 100 ms takes about 60 POSTs/s
 * per lane). Changing it while deliveries are pending is safe: a job stays in the lane that has
 * it, and a re-sent message that reaches another lane finds its delivery row settled or runs it
 * once more (at least once).
 */
export function lanesPerDestination(env: DeliveryVars): number {
  return readDeliveryConfig(env).lanesPerDestination;
}

/** Which of its destination's `lanes` lanes a delivery's jobs go to (0 to lanes - 1): by event id. */
export function laneIndex(eventId: number, lanes: number): number {
  return eventId % lanes;
}

/**
 * The name of a destination's lane: `<destinationId>/<index>`, except lane 0, which keeps the
 * name of the one lane per destination there was before (`<destinationId>`), so that jobs stored
 * then are run by the same object.
 */
export function laneName(destinationId: number, index: number): string {
  return index === 0 ? String(destinationId) : `${destinationId}/${index}`;
}

/** Lane `index` of a destination (0 to lanesPerDestination - 1). */
export function laneAt(env: Pick<Env, 'DESTINATION_LANES'>, destinationId: number, index: number): LaneStub {
  return env.DESTINATION_LANES.get(env.DESTINATION_LANES.idFromName(laneName(destinationId, index)));
}

/** The lane of a delivery (its destination's lane for its event; the batch handler, which groups by lane, uses laneAt). */
export function laneOf(env: LaneEnv, destinationId: number, eventId: number): LaneStub {
  return laneAt(env, destinationId, laneIndex(eventId, lanesPerDestination(env)));
}

/** Every lane of a destination, by index (tests, operators). */
export function lanesOf(env: LaneEnv, destinationId: number): LaneStub[] {
  return Array.from({ length: lanesPerDestination(env) }, (_, i) => laneAt(env, destinationId, i));
}
