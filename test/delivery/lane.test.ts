/**
 * A destination's lane (src/delivery/lane.ts): the Durable Object of the consumer Worker that
 * stores a destination's pending jobs and runs them on its alarm. Reached from the test runner
 * through the DESTINATION_LANES binding (vitest.config.ts); the object runs in the consumer
 * Worker with its test vars (retry schedule 1,1,1 s, delivery timeout 2 s).
 */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { laneOf } from '../../src/delivery/lane';
import { createGroup, unique } from '../support/api';
import { receivedRequests, receiverOrigin, waitForRequests } from '../support/receiver';
import { attemptRows, deliveryRow, groupEntityOf, insertDestination, insertEventQuietly } from './support';

/** Poll until the lane holds no job (or 10 s pass). */
async function drained(destinationId: number) {
  for (let i = 0; i < 100 && (await laneOf(env, destinationId).pending()).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
  return laneOf(env, destinationId).pending();
}

async function setup(kind: string) {
  const group = await createGroup();
  const path = `/${kind}/${unique('lane')}`;
  const dest = await insertDestination({ namespaceId: group.id, url: `${receiverOrigin()}${path}` });
  const event = await insertEventQuietly(groupEntityOf(group));
  return { path, dest, event, job: { eventId: event.id, destinationId: dest.id } };
}

describe('destination lane', () => {
  it('delivers a job enqueued twice (in one call and again) once', async () => {
    const { path, dest, event, job } = await setup('ok');
    const lane = laneOf(env, dest.id);
    await Promise.all([lane.enqueue([job, job]), lane.enqueue([job])]);
    await waitForRequests(path, 1);
    expect(await drained(dest.id)).toEqual([]);
    // A duplicate after it was delivered (a stale-sweep re-send, say) is skipped: no second POST.
    await lane.enqueue([job]);
    expect(await drained(dest.id)).toEqual([]);
    await new Promise((r) => setTimeout(r, 300));
    expect(await receivedRequests(path)).toHaveLength(1);
    expect(await deliveryRow(event.id, dest.id)).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  it('keeps a job whose attempt failed and runs it again after the retry delay', async () => {
    const { path, dest, event, job } = await setup('fail/1'); // 500 once, then 200
    const lane = laneOf(env, dest.id);
    await lane.enqueue([job]);
    const [first] = await waitForRequests(path, 1);
    // Recorded, then kept with its due time set by the outcome's delay (1 s on the test schedule).
    for (let i = 0; i < 50 && ((await deliveryRow(event.id, dest.id))?.attempts ?? 0) === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await deliveryRow(event.id, dest.id)).toMatchObject({ status: 'pending', attempts: 1, last_http_status: 500 });
    const [kept] = await lane.pending();
    expect(kept).toMatchObject({ eventId: event.id, destinationId: dest.id });
    expect(kept.dueAt - first.at).toBeGreaterThanOrEqual(900);
    // The lane's alarm runs it again once due: delivered, and the job is gone.
    const both = await waitForRequests(path, 2);
    expect(both).toHaveLength(2);
    expect(both[1].at - first.at).toBeGreaterThanOrEqual(900);
    expect(both[1].headers['webhook-id']).toBe(first.headers['webhook-id']);
    expect(await drained(dest.id)).toEqual([]);
    const row = await deliveryRow(event.id, dest.id);
    expect(row).toMatchObject({ status: 'delivered', attempts: 2 });
    expect((await attemptRows(row!.id)).map((a) => a.status)).toEqual(['failed', 'delivered']);
  });
});
