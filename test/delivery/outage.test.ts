/**
 * The breaker never turns a short outage into dead letters (issue 13): with the retry schedule
 * 1,1,2,2,3,3,5,5,5,5 and the DEFAULT breaker (opens after 10 consecutive failures for 60 s,
 * longer than that schedule's whole retry window), a receiver that is down for 10 s and then
 * back receives every event, and nothing is dead-lettered.
 *
 * A destination's lane is simulated here (due jobs run through deliverJob, as the lane's alarm
 * runs them; a job whose outcome is 'retry' comes back after its delay), and time is driven by the schedule: whenever every message waits longer
 * than a second, the clock jumps to the next due message — the destination's and deliveries'
 * stored times are moved back by the jump, which is what the consumer's Date.now() reading them
 * later would see. Real time stays around 15 s.
 */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import type { ConsumerEnv, DeliveryJob } from '../../src/env';
import { deliverJob } from '../../src/delivery/consumer';
import { BREAKER_THRESHOLD } from '../../src/delivery/breaker';
import { createGroup, unique } from '../support/api';
import { receivedRequests, receiverOrigin } from '../support/receiver';
import { deliveryRow, destinationRow, groupEntityOf, insertDestination, insertEventQuietly } from './support';

const EVENTS = 30;
const OUTAGE_MS = 10_000;

/** Move every stored time of a destination and its deliveries `ms` into the past. */
async function shiftStoredTimes(destinationId: number, ms: number) {
  const back = (col: string) => `CASE WHEN ${col} IS NULL THEN NULL ELSE strftime('%Y-%m-%dT%H:%M:%fZ', ${col}, '-${(ms / 1000).toFixed(3)} seconds') END`;
  await env.DB.batch([
    env.DB.prepare(`UPDATE streaming_destinations SET breaker_open_until = ${back('breaker_open_until')} WHERE id = ?1`).bind(destinationId),
    env.DB.prepare(
      `UPDATE deliveries SET created_at = ${back('created_at')}, updated_at = ${back('updated_at')},
         next_retry_at = ${back('next_retry_at')}, run_started_at = ${back('run_started_at')} WHERE destination_id = ?1`,
    ).bind(destinationId),
  ]);
}

describe('a short outage with a short retry schedule and the default breaker', () => {
  it('ends with every event delivered and nothing dead-lettered', async () => {
    const group = await createGroup();
    const name = unique('outage');
    const path = `/switch/${name}`;
    const dest = await insertDestination({ namespaceId: group.id, url: `${receiverOrigin()}${path}` });
    const events = await Promise.all(Array.from({ length: EVENTS }, () => insertEventQuietly(groupEntityOf(group))));
    const dlq: DeliveryJob[] = [];
    const testEnv = {
      ...env,
      DELIVERY_RETRY_SCHEDULE: '1,1,2,2,3,3,5,5,5,5',
      DELIVERY_TIMEOUT_MS: '2000',
      DELIVERY_BREAKER_COOLDOWN_SECONDS: undefined,
      DELIVERIES_DLQ: { send: async (b: DeliveryJob) => void dlq.push(b) },
    } as unknown as ConsumerEnv;
    const toggle = (down: boolean) => fetch(`${receiverOrigin()}/_switch?name=${name}&down=${down ? 1 : 0}`, { method: 'POST' });
    await toggle(true);

    let offset = 0; // ms the simulated clock is ahead of the real one
    const now = () => Date.now() + offset;
    const t0 = now();
    let queue = events.map((e) => ({ job: { eventId: e.id, destinationId: dest.id }, dueAt: t0 }));
    let down = true;
    let batches = 0;
    let breakerOpened = false;
    while (queue.length > 0 && now() - t0 < 30 * 60_000) {
      if (down && now() - t0 >= OUTAGE_MS) {
        await toggle(false);
        down = false;
      }
      const due = queue.filter((m) => m.dueAt <= now());
      if (due.length === 0) {
        const gap = Math.min(...queue.map((m) => m.dueAt)) - now();
        if (gap > 1000) {
          await shiftStoredTimes(dest.id, gap);
          offset += gap;
        } else await new Promise((r) => setTimeout(r, Math.max(gap, 10)));
        continue;
      }
      queue = queue.filter((m) => !due.includes(m));
      const outcomes = await Promise.all(due.map((m) => deliverJob(testEnv, m.job)));
      batches++;
      breakerOpened ||= ((await destinationRow(dest.id))?.consecutive_failures ?? 0) >= BREAKER_THRESHOLD;
      outcomes.forEach((o, k) => {
        if (o.action === 'retry') queue.push({ job: due[k].job, dueAt: now() + o.delaySeconds * 1000 });
      });
    }

    expect(breakerOpened).toBe(true); // the outage did trip the breaker (60 s > the 37 s schedule)
    expect(dlq).toEqual([]);
    const delivered = new Set((await receivedRequests(path)).filter((r) => r.headers['webhook-id']).map((r) => JSON.parse(r.body).id));
    expect(queue).toHaveLength(0);
    for (const e of events) {
      expect(await deliveryRow(e.id, dest.id)).toMatchObject({ status: 'delivered' });
      expect(delivered.has(String(e.id))).toBe(true);
    }
    // Waits behind the breaker spent no attempt: no delivery made more than the schedule allows.
    const attempts = await env.DB.prepare('SELECT MAX(attempts) AS m FROM deliveries WHERE destination_id = ?1').bind(dest.id).first<{ m: number }>();
    expect(attempts!.m).toBeLessThanOrEqual(11);
    expect(batches).toBeGreaterThan(2);
  }, 60_000);
});
