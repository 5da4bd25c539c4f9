/**
 * Sending recorded events' deliveries to the "deliveries" queue. The deliveries rows and the
 * event's outbox row are written in the event's own transaction (src/db/audit_events.ts); after
 * it commits, the dispatch sends one message per event (naming its destinations), then the outbox row goes. A failure
 * to send leaves the outbox row, and the scheduled sweep sends the event's pending deliveries,
 * so an accepted event is never lost between D1 and the queue.
 *
 * Removing outbox rows is grouped: the ids of events whose messages were sent are collected per
 * isolate and removed by one statement at most every OUTBOX_DELETE_DELAY_MS (in waitUntil of the
 * invocation that started the wait), so recording an event costs one write transaction, not two.
 * If the isolate dies first, its rows stay and the sweep sends their pending deliveries again: a
 * duplicate message, which the destination's lane drops (its delivery is no longer pending, or
 * the lane holds it already).
 */
import type { DeliveryFanOut, Env } from '../env';
import { claimOverdueOutbox, deleteOutboxRows, type RoutedDelivery } from '../db/audit_events';
import { nowIso } from '../db/time';

/** Queues accept at most 100 messages per sendBatch. */
const SEND_BATCH_LIMIT = 100;
/** How long sent events' outbox rows may wait to be removed together. */
export const OUTBOX_DELETE_DELAY_MS = 1000;

/** Events whose messages were sent in this isolate and whose outbox rows are still there. */
const sentOutbox = new Set<number>();
let removalScheduled = false;

type WaitUntil = Pick<ExecutionContext, 'waitUntil'>;

/** Destinations one message names at most (a message stays far below the queue's 128 KB). */
export const FAN_OUT_MAX = 100;

/**
 * The messages of these deliveries: one per event, naming its destinations in the order given
 * (FAN_OUT_MAX at most; more take several). The consumer hands each destination's job to its lane.
 */
export function fanOutMessages(deliveries: RoutedDelivery[]): DeliveryFanOut[] {
  const byEvent = new Map<number, number[]>();
  for (const d of deliveries) {
    const ids = byEvent.get(d.eventId);
    if (ids) ids.push(d.destinationId);
    else byEvent.set(d.eventId, [d.destinationId]);
  }
  const messages: DeliveryFanOut[] = [];
  for (const [eventId, ids] of byEvent) {
    for (let i = 0; i < ids.length; i += FAN_OUT_MAX) messages.push({ eventId, destinationIds: ids.slice(i, i + FAN_OUT_MAX) });
  }
  return messages;
}

/**
 * Send these deliveries: one message per event (fanOutMessages), so that an event for ten
 * destinations is one message to send, store and consume, not ten (Queues take 100 messages per
 * call; the calls run together).
 */
export async function sendDeliveries(env: Pick<Env, 'DELIVERIES'>, deliveries: RoutedDelivery[]): Promise<void> {
  const messages = fanOutMessages(deliveries);
  const sends: Promise<unknown>[] = [];
  for (let i = 0; i < messages.length; i += SEND_BATCH_LIMIT) {
    sends.push(env.DELIVERIES.sendBatch(messages.slice(i, i + SEND_BATCH_LIMIT).map((body) => ({ body, contentType: 'json' as const }))));
  }
  await Promise.all(sends);
}

/** Remove every collected outbox row now (one statement); on failure they are collected again. */
async function removeSentOutboxRows(env: Pick<Env, 'DB'>): Promise<void> {
  const ids = [...sentOutbox];
  sentOutbox.clear();
  try {
    await deleteOutboxRows(env.DB, ids);
  } catch (err) {
    for (const id of ids) sentOutbox.add(id);
    throw err;
  }
}

/**
 * Send the deliveries of just-recorded events (`eventIds`: the events that got an outbox row),
 * then have their outbox rows removed: grouped (see the module comment) when there is a ctx to
 * wait in, at once otherwise. A failure is logged and leaves the rows for the sweep. Runs in
 * waitUntil when there is a ctx.
 */
export async function dispatchRecorded(env: Env, ctx: WaitUntil | null, eventIds: number[], deliveries: RoutedDelivery[]): Promise<void> {
  if (eventIds.length === 0) return;
  const dispatch = (async () => {
    await sendDeliveries(env, deliveries);
    for (const id of eventIds) sentOutbox.add(id);
    if (!ctx) return removeSentOutboxRows(env);
    if (removalScheduled) return;
    removalScheduled = true;
    await new Promise((resolve) => setTimeout(resolve, OUTBOX_DELETE_DELAY_MS));
    removalScheduled = false;
    await removeSentOutboxRows(env);
  })().catch((err) => {
    console.error('enqueueing deliveries failed; the sweep will retry', err instanceof Error ? err.message : err);
  });
  if (ctx) ctx.waitUntil(dispatch);
  else await dispatch;
}

/**
 * The sweep: send the pending deliveries of events whose outbox row is older than `minAgeMs`
 * (their dispatch did not finish), then remove those rows. Runs from the Cron Trigger; returns
 * how many events it dispatched.
 */
export async function sweepOutbox(env: Env, minAgeMs = 30_000, limit = 500): Promise<number> {
  const cutoff = new Date(Date.now() - minAgeMs).toISOString();
  const { eventIds, deliveries } = await claimOverdueOutbox(env.DB, cutoff, limit, nowIso());
  if (eventIds.length === 0) return 0;
  await sendDeliveries(env, deliveries);
  await deleteOutboxRows(env.DB, eventIds);
  return eventIds.length;
}
