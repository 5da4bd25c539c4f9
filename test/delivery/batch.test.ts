/**
 * The batch handler (src/delivery/batch.ts): each message is settled as soon as its job is in its
 * destination's lane, without waiting for any POST, and a hanging destination can take neither
 * the batch's time nor another destination's deliveries. Settlement times are read from a fake
 * MessageBatch whose ack() and retry() record Date.now(). The lanes run in the consumer Worker
 * (with its test vars: a 2 s delivery timeout).
 */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { createExecutionContext } from 'cloudflare:test';
import type { ConsumerEnv } from '../../src/env';
import { ENQUEUE_RETRY_DELAY_SECONDS, handleDeliveryBatch } from '../../src/delivery/batch';
import { LANE_CONCURRENCY } from '../../src/delivery/lane';
import { laneIndex, laneName, lanesPerDestination } from '../../src/delivery/lanes';
import { createGroup, unique } from '../support/api';
import { receivedRequests, receiverOrigin, waitForRequests } from '../support/receiver';
import { attemptRows, deliveryRow, fakeBatch, groupEntityOf, insertDestination, insertEventQuietly, laneJobs } from './support';

/** Lanes per destination in the tests (DELIVERY_LANES_PER_DESTINATION in vitest.config.ts). */
const LANES = lanesPerDestination(env);

/** A group with one hanging destination (answers after 5 s; the delivery timeout is 2 s) and `healthy` healthy ones. */
async function setup(healthy: number, events: number) {
  const group = await createGroup();
  const run = unique('b');
  const hangPath = `/slow/5000/${run}`;
  const hang = await insertDestination({ namespaceId: group.id, url: `${receiverOrigin()}${hangPath}` });
  const okPaths = Array.from({ length: healthy }, (_, k) => `/ok/${run}-${k}`);
  const ok = await Promise.all(okPaths.map((p) => insertDestination({ namespaceId: group.id, url: `${receiverOrigin()}${p}` })));
  const evs = await Promise.all(Array.from({ length: events }, () => insertEventQuietly(groupEntityOf(group))));
  return { hang, hangPath, ok, okPaths, evs };
}

/** Poll until the delivery row of (event, destination) has left 'pending' (or 10 s pass). */
async function settledRow(eventId: number, destinationId: number) {
  for (let i = 0; i < 100; i++) {
    const row = await deliveryRow(eventId, destinationId);
    if (row && row.status !== 'pending') return row;
    await new Promise((r) => setTimeout(r, 100));
  }
  return deliveryRow(eventId, destinationId);
}

describe('delivery batch', () => {
  it("settles every message without waiting for any POST: acked once its job is in its destination's lane", async () => {
    const { hang, hangPath, ok, okPaths, evs } = await setup(5, 1);
    const jobs = [{ eventId: evs[0].id, destinationId: hang.id }, ...ok.map((d) => ({ eventId: evs[0].id, destinationId: d.id }))];
    const { batch, settled, ids } = fakeBatch(jobs);
    const t0 = Date.now();
    await handleDeliveryBatch(batch, env, createExecutionContext());
    const all = ids.map((id) => settled.get(id)!);
    expect(all.every((s) => s.action === 'ack')).toBe(true);
    expect(Math.max(...all.map((s) => s.at - t0))).toBeLessThan(1000); // the hanging POST has not even timed out
    // The lanes deliver: the healthy destinations while the hanging one's POST is still open.
    for (const [k, d] of ok.entries()) {
      const [req] = await waitForRequests(okPaths[k], 1);
      expect(req.at - t0).toBeLessThan(1500);
      expect(await settledRow(evs[0].id, d.id)).toMatchObject({ status: 'delivered', attempts: 1 });
    }
    expect(await receivedRequests(hangPath)).toHaveLength(1);
    expect((await deliveryRow(evs[0].id, hang.id))?.attempts ?? 0).toBe(0);
    // The hanging one times out; its attempt is recorded and its job stays in its lane for the retry.
    for (let i = 0; i < 50 && ((await deliveryRow(evs[0].id, hang.id))?.attempts ?? 0) === 0; i++) await new Promise((r) => setTimeout(r, 100));
    const row = await deliveryRow(evs[0].id, hang.id);
    expect((await attemptRows(row!.id)).map((a) => a.error_class)).toEqual(['timeout']);
    expect((await laneJobs(hang.id)).map((j) => j.eventId)).toEqual([evs[0].id]);
  });

  it('gives a hanging destination at most LANE_CONCURRENCY POSTs per lane, and other destinations all their deliveries meanwhile', async () => {
    const { hang, hangPath, ok, okPaths, evs } = await setup(8, LANES * (LANE_CONCURRENCY + 1));
    const hangJobs = evs.map((e) => ({ eventId: e.id, destinationId: hang.id }));
    // Two events of one lane for each healthy destination (one lane each, as before there were several).
    const two = evs.filter((e) => laneIndex(e.id, LANES) === laneIndex(evs[0].id, LANES)).slice(0, 2);
    const okJobs = ok.flatMap((d) => two.map((e) => ({ eventId: e.id, destinationId: d.id })));
    const first = fakeBatch([...hangJobs, ...okJobs]);
    const t0 = Date.now();
    await handleDeliveryBatch(first.batch, env, createExecutionContext());
    const all = first.ids.map((id) => first.settled.get(id)!);
    expect(all.every((s) => s.action === 'ack')).toBe(true);
    expect(Math.max(...all.map((s) => s.at - t0))).toBeLessThan(1000);
    // The healthy destinations' 16 deliveries arrive before the hanging POSTs' timeout.
    for (const p of okPaths) {
      const got = await waitForRequests(p, 2);
      expect(got).toHaveLength(2);
      expect(Math.max(...got.map((r) => r.at - t0))).toBeLessThan(1900);
    }
    // The hanging destination has LANE_CONCURRENCY POSTs open per lane (its jobs are spread over
    // its lanes by event id); its other jobs wait in their lanes.
    const perLane = Array.from({ length: LANES }, (_, i) => evs.filter((e) => laneIndex(e.id, LANES) === i).length);
    const open = perLane.reduce((sum, n) => sum + Math.min(n, LANE_CONCURRENCY), 0);
    expect(open).toBeGreaterThan(LANE_CONCURRENCY);
    expect(await receivedRequests(hangPath)).toHaveLength(open);
    expect(open).toBeLessThanOrEqual(LANES * LANE_CONCURRENCY);
    expect(await laneJobs(hang.id)).toHaveLength(hangJobs.length);
  });

  it('acks a message without a valid job, and retries the messages whose lane did not take them', async () => {
    const group = await createGroup();
    const dest = await insertDestination({ namespaceId: group.id, url: `${receiverOrigin()}/ok/${unique('b')}` });
    const event = await insertEventQuietly(groupEntityOf(group));
    const failing = {
      ...env,
      DESTINATION_LANES: {
        idFromName: (name: string) => env.DESTINATION_LANES.idFromName(name),
        get: () => ({ enqueue: async () => Promise.reject(new Error('lane unavailable')) }),
      },
    } as unknown as ConsumerEnv;
    const { batch, settled, ids } = fakeBatch([{ eventId: event.id, destinationId: dest.id }, { nope: true } as never]);
    await handleDeliveryBatch(batch, failing, createExecutionContext());
    expect(settled.get(ids[0])).toMatchObject({ action: 'retry', delaySeconds: ENQUEUE_RETRY_DELAY_SECONDS });
    expect(settled.get(ids[1])).toMatchObject({ action: 'ack' });
  });

  it("acks a fan-out message (one event, several destinations) once every one of its lanes has its job; one lane refusing retries it, and the jobs stored meanwhile stay one each", async () => {
    const { ok, okPaths, evs } = await setup(3, 1);
    const [a, b, c] = ok;
    const message = { eventId: evs[0].id, destinationIds: [a.id, b.id, c.id] };
    // c's lane refuses; a's and b's take their jobs.
    const refused = env.DESTINATION_LANES.idFromName(laneName(c.id, laneIndex(evs[0].id, LANES))).toString();
    const cRefuses = {
      ...env,
      DESTINATION_LANES: {
        idFromName: (name: string) => env.DESTINATION_LANES.idFromName(name),
        get: (id: DurableObjectId) => (id.toString() === refused ? { enqueue: async () => Promise.reject(new Error('lane unavailable')) } : env.DESTINATION_LANES.get(id)),
      },
    } as unknown as ConsumerEnv;
    const first = fakeBatch([message, { eventId: evs[0].id, destinationIds: [] } as never, { eventId: evs[0].id, destinationIds: [a.id, 'x'] } as never]);
    await handleDeliveryBatch(first.batch, cRefuses, createExecutionContext());
    // Malformed fan-outs (no destination, a destination id that is not an integer) are dropped.
    expect(first.settled.get(first.ids[1])).toMatchObject({ action: 'ack' });
    expect(first.settled.get(first.ids[2])).toMatchObject({ action: 'ack' });
    expect(first.settled.get(first.ids[0])).toMatchObject({ action: 'retry', delaySeconds: ENQUEUE_RETRY_DELAY_SECONDS });
    expect(await laneJobs(c.id)).toEqual([]);
    // The retried message comes again: c gets its job, and a and b, whose jobs were stored the first time, deliver once.
    const again = fakeBatch([message]);
    await handleDeliveryBatch(again.batch, env, createExecutionContext());
    expect(again.settled.get(again.ids[0])).toMatchObject({ action: 'ack' });
    for (const [k, d] of ok.entries()) {
      expect(await settledRow(evs[0].id, d.id)).toMatchObject({ status: 'delivered', attempts: 1 });
      expect(await receivedRequests(okPaths[k])).toHaveLength(1);
    }
  });
});
