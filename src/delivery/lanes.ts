/**
 * Which Durable Object (DestinationLane, src/delivery/lane.ts) holds a delivery's job: one of
 * its destination's LANES_PER_DESTINATION lanes, chosen by the event id, so that every message of
 * one delivery (its first, an outbox or stale-sweep re-send, a redelivery) reaches the same lane
 * and a duplicate is one stored job there.
 */
import type { ConsumerEnv as Env } from '../env';
import type { DestinationLane } from './lane';

/**
 * Lanes of one destination: its POSTs in flight are at most LANES_PER_DESTINATION ×
 * LANE_CONCURRENCY (a far receiver answering in 100 ms takes about 60 POSTs/s per lane).
 */
export const LANES_PER_DESTINATION = 4;
/** Which of its destination's lanes a delivery's jobs go to (0 to LANES_PER_DESTINATION - 1): by event id. */
export function laneIndex(eventId: number): number {
  return eventId % LANES_PER_DESTINATION;
}

/**
 * The name of a destination's lane: `<destinationId>/<index>`, except lane 0, which keeps the
 * name of the one lane per destination there was before (`<destinationId>`), so that jobs stored
 * then are run by the same object.
 */
export function laneName(destinationId: number, index: number): string {
  return index === 0 ? String(destinationId) : `${destinationId}/${index}`;
}

/** The lane of a delivery (its destination's lane for its event). */
export function laneOf(env: Pick<Env, 'DESTINATION_LANES'>, destinationId: number, eventId: number): DurableObjectStub<DestinationLane> {
  return env.DESTINATION_LANES.get(env.DESTINATION_LANES.idFromName(laneName(destinationId, laneIndex(eventId))));
}

/** Every lane of a destination, by index (tests, operators). */
export function lanesOf(env: Pick<Env, 'DESTINATION_LANES'>, destinationId: number): DurableObjectStub<DestinationLane>[] {
  return Array.from({ length: LANES_PER_DESTINATION }, (_, i) => env.DESTINATION_LANES.get(env.DESTINATION_LANES.idFromName(laneName(destinationId, i))));
}
