/**
 * A destination's lane (src/delivery/lane.ts): the Durable Object of the consumer Worker that
 * stores a destination's pending jobs and runs them on its alarm. Reached from the test runner
 * through the DESTINATION_LANES binding (vitest.config.ts); the object runs in the consumer
 * Worker with its test vars (retry schedule 1,1,1 s, delivery timeout 2 s).
 */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { lanesPerDestination, laneIndex, laneOf, lanesOf } from '../../src/delivery/lanes';
import { backlogged, homeLaneName, LANE_CONCURRENCY, Overflow, OVERFLOW_MIN_GROUP, OVERFLOW_MIN_JOBS, overflowGroups } from '../../src/delivery/overflow';
import { LOG_FLUSH_MAX } from '../../src/delivery/lane';
import type { AuditEvent } from '../../src/audit/record';
import { auditEventStatements } from '../../src/audit/record';
import { ensureDelivery, resetDeliveryForRedelivery } from '../../src/db/deliveries';
import { attemptLogStatements, type LoggedAttempt } from '../../src/db/attempt_log';
import { createGroup, unique } from '../support/api';
import { receivedRequests, receiverOrigin, waitForRequests } from '../support/receiver';
import { attemptRows, deliveryRow, destinationRow, groupEntityOf, insertDestination, insertEventQuietly, insertEventsQuietly, laneJobs, waitFor } from './support';
import { BREAKER_THRESHOLD, HALF_OPEN_PROBES } from '../../src/delivery/breaker';

/** Lanes per destination in the tests (DELIVERY_LANES_PER_DESTINATION in vitest.config.ts). */
const LANES = lanesPerDestination(env);

it('the tests run several lanes per destination (vitest.config.ts), so the multi-lane paths below run', () => {
  expect(LANES).toBe(4);
});

/** Poll until the destination's lanes hold no job and their attempt logs no attempt that D1 does not have yet (or 10 s pass). */
async function drained(destinationId: number) {
  const lanes = lanesOf(env, destinationId);
  const busy = async () => (await laneJobs(destinationId)).length > 0 || (await Promise.all(lanes.map((l) => l.stats()))).some((s) => s.logged > 0);
  for (let i = 0; i < 100 && (await busy()); i++) await new Promise((r) => setTimeout(r, 100));
  return laneJobs(destinationId);
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
    const lane = laneOf(env, dest.id, event.id);
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
    const lane = laneOf(env, dest.id, event.id);
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

  it('under load writes at most 0.1 D1 write transactions per delivery (attempts reach D1 in groups)', async () => {
    const group = await createGroup();
    const path = `/ok/${unique('lane-budget')}`;
    const dest = await insertDestination({ namespaceId: group.id, url: `${receiverOrigin()}${path}` });
    const n = 200;
    // The events and their deliveries rows, in one batch (as recording writes them), not dispatched.
    const entity = groupEntityOf(group);
    const input = (i: number) => ({ eventType: 'lane_budget_probe', author: { id: 1, name: 'Administrator' }, entity, details: { i } });
    const results = await env.DB.batch(Array.from({ length: n }, (_, i) => auditEventStatements(env.DB, input(i))).flat());
    const ids = results.filter((_, i) => i % 3 === 0).map((r) => (r.results as { id: number }[])[0].id);
    await env.DB.prepare('DELETE FROM audit_event_outbox WHERE event_id IN (SELECT value FROM json_each(?1))').bind(JSON.stringify(ids)).run();
    // Each job to its lane (as the batch handler hands them): spread over the destination's lanes.
    const lanes = lanesOf(env, dest.id);
    await Promise.all(lanes.map((lane, k) => lane.enqueue(ids.filter((id) => laneIndex(id, LANES) === k).map((eventId) => ({ eventId, destinationId: dest.id })))));
    expect(await drained(dest.id)).toEqual([]);
    expect(await receivedRequests(path)).toHaveLength(n);
    const perLane = await Promise.all(lanes.map((lane) => lane.stats()));
    perLane.forEach((s, k) => expect(s).toMatchObject({ finished: ids.filter((id) => laneIndex(id, LANES) === k).length, logged: 0 }));
    const stats = { finished: perLane.reduce((a, s) => a + s.finished, 0), d1WriteTransactions: perLane.reduce((a, s) => a + s.d1WriteTransactions, 0) };
    expect(stats.finished).toBe(n);
    expect(stats.d1WriteTransactions).toBeGreaterThan(0);
    expect(stats.d1WriteTransactions / n).toBeLessThanOrEqual(0.1);
    // ... and the log in D1 is complete: every delivery delivered with its one attempt.
    const log = await env.DB
      .prepare(`SELECT d.status, d.attempts, count(a.id) AS logged FROM deliveries d LEFT JOIN delivery_attempts a ON a.delivery_id = d.id
                WHERE d.destination_id = ?1 GROUP BY d.id`)
      .bind(dest.id)
      .all<{ status: string; attempts: number; logged: number }>();
    expect(log.results).toHaveLength(n);
    expect(log.results.every((r) => r.status === 'delivered' && r.attempts === 1 && r.logged === 1)).toBe(true);
  });

  it('keeps attempts in its own storage while D1 refuses them, and writes them once D1 takes them', async () => {
    const { path, dest, event, job } = await setup('ok');
    // D1 refuses this destination's attempt rows (the whole write of the log fails).
    const trigger = `lane_refuses_${dest.id}`;
    await env.DB
      .prepare(
        `CREATE TRIGGER ${trigger} BEFORE INSERT ON delivery_attempts
         WHEN NEW.delivery_id IN (SELECT id FROM deliveries WHERE destination_id = ${dest.id}) BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`,
      )
      .run();
    const lane = laneOf(env, dest.id, event.id);
    try {
      await lane.enqueue([job]);
      await waitForRequests(path, 1);
      // POSTed once and settled in the lane, but D1 has nothing: the attempt waits in the lane's log.
      for (let i = 0; i < 50 && (await lane.pending()).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, 1500)); // past the flush interval: at least one write was refused
      expect(await lane.pending()).toEqual([]);
      expect((await lane.stats()).logged).toBe(1);
      expect(await deliveryRow(event.id, dest.id)).toMatchObject({ status: 'pending', attempts: 0 });
      // A duplicate of the job waits behind its logged attempt: no second POST.
      await lane.enqueue([job]);
    } finally {
      await env.DB.prepare(`DROP TRIGGER ${trigger}`).run();
    }
    // D1 takes it again: the retry writes the kept attempt, and the duplicate is then skipped.
    expect(await drained(dest.id)).toEqual([]);
    expect((await lane.stats()).logged).toBe(0);
    const after = await deliveryRow(event.id, dest.id);
    expect(after).toMatchObject({ status: 'delivered', attempts: 1 });
    expect((await attemptRows(after!.id)).map((a) => a.status)).toEqual(['delivered']);
    expect(await receivedRequests(path)).toHaveLength(1);
  });

  it('a group of attempts that reaches D1 after a redelivery counts its attempts but keeps the new run pending', async () => {
    const group = await createGroup();
    const dest = await insertDestination({ namespaceId: group.id, url: `${receiverOrigin()}/ok/${unique('lane-redeliver')}` });
    const event = await insertEventQuietly(groupEntityOf(group));
    const delivery = await ensureDelivery(env.DB, event.id, dest.id);
    const attempt = (at: string): LoggedAttempt => ({
      deliveryId: delivery.id, destinationId: dest.id, at, effect: { kind: 'success' }, status: 'delivered', httpStatus: 200, durationMs: 3,
      errorClass: null, responseExcerpt: 'ok', error: null, deliveryStatus: 'delivered', nextRetryAt: null,
    });
    // Delivered (logged in the lane at `made`), then redelivered before the lane's group reached D1.
    const made = new Date(Date.now() - 500).toISOString();
    await resetDeliveryForRedelivery(env.DB, event.id, dest.id);
    await env.DB.batch(attemptLogStatements(env.DB, [attempt(made)]));
    expect(await deliveryRow(event.id, dest.id)).toMatchObject({ status: 'pending', attempts: 1, run_attempts: 0, delivered_at: null });
    expect((await attemptRows(delivery.id)).map((a) => [a.attempt, a.status])).toEqual([[1, 'delivered']]);
    // The new run's own attempt then settles it.
    await env.DB.batch(attemptLogStatements(env.DB, [attempt(new Date(Date.now() + 10).toISOString())]));
    expect(await deliveryRow(event.id, dest.id)).toMatchObject({ status: 'delivered', attempts: 2, run_attempts: 1 });
    expect((await attemptRows(delivery.id)).map((a) => a.attempt)).toEqual([1, 2]);
  });

  it("spreads a destination's jobs over its lanes by event id; each lane logs its own attempts; a duplicate is one job in its lane", async () => {
    const group = await createGroup();
    const path = `/ok/${unique('lane-spread')}`;
    // Paused while the jobs arrive, so that they stay in their lanes to be looked at.
    const dest = await insertDestination({ namespaceId: group.id, url: `${receiverOrigin()}${path}`, active: false });
    const events: { id: number }[] = [];
    for (let i = 0; i < 3 * LANES; i++) events.push(await insertEventQuietly(groupEntityOf(group)));
    const jobs = events.map((e) => ({ eventId: e.id, destinationId: dest.id }));
    // Every job twice, each to the lane laneOf picks (as a re-send would reach it).
    await Promise.all(jobs.flatMap((j) => [laneOf(env, dest.id, j.eventId).enqueue([j]), laneOf(env, dest.id, j.eventId).enqueue([j])]));
    // Each lane holds exactly its own events, once each.
    const lanes = lanesOf(env, dest.id);
    const held = await Promise.all(lanes.map((l) => l.pending()));
    held.forEach((jobsOfLane, k) => expect(jobsOfLane.map((j) => j.eventId).sort((a, b) => a - b)).toEqual(events.filter((e) => laneIndex(e.id, LANES) === k).map((e) => e.id)));
    expect(held.filter((h) => h.length > 0).length).toBeGreaterThan(1);
    await env.DB.prepare('UPDATE streaming_destinations SET active = 1 WHERE id = ?1').bind(dest.id).run();
    await waitForRequests(path, events.length, 15_000);
    expect(await drained(dest.id)).toEqual([]);
    // One POST per event (the duplicates were one job), and each lane finished its own jobs.
    const got = await receivedRequests(path);
    expect(got.map((r) => r.headers['webhook-id']).sort()).toEqual(events.map((e) => `msg_${e.id}_${dest.id}`).sort());
    const stats = await Promise.all(lanes.map((l) => l.stats()));
    stats.forEach((st, k) => expect(st).toMatchObject({ finished: events.filter((e) => laneIndex(e.id, LANES) === k).length, logged: 0 }));
    for (const e of events) {
      const row = await deliveryRow(e.id, dest.id);
      expect(row).toMatchObject({ status: 'delivered', attempts: 1 });
      expect((await attemptRows(row!.id)).map((a) => a.status)).toEqual(['delivered']);
    }
  });

  it("shares one breaker among a destination's lanes: their failures together open it, and then no lane POSTs or spends an attempt", async () => {
    const group = await createGroup();
    const path = `/status/500/${unique('lane-breaker')}`;
    const dest = await insertDestination({ namespaceId: group.id, url: `${receiverOrigin()}${path}` });
    // Fewer failures per lane than the threshold: only their sum opens the breaker.
    const perLane = Math.ceil(BREAKER_THRESHOLD / LANES) + 1;
    expect(perLane).toBeLessThan(BREAKER_THRESHOLD);
    // Exactly perLane events in each lane (ids other test files take in between may skip a lane).
    const events: { id: number }[] = [];
    const count = (k: number) => events.filter((e) => laneIndex(e.id, LANES) === k).length;
    while (events.length < perLane * LANES) {
      const e = await insertEventQuietly(groupEntityOf(group));
      if (count(laneIndex(e.id, LANES)) < perLane) events.push(e);
    }
    events.sort((a, b) => a.id - b.id);
    for (const e of events) await ensureDelivery(env.DB, e.id, dest.id);
    await Promise.all(events.map((e) => laneOf(env, dest.id, e.id).enqueue([{ eventId: e.id, destinationId: dest.id }])));
    await waitForRequests(path, events.length);
    // Every first attempt failed and reached D1; the breaker is open for the whole destination.
    for (let i = 0; i < 50 && ((await destinationRow(dest.id))?.consecutive_failures ?? 0) < events.length; i++) await new Promise((r) => setTimeout(r, 100));
    const row = await destinationRow(dest.id);
    expect(row!.consecutive_failures).toBeGreaterThanOrEqual(BREAKER_THRESHOLD);
    expect(Date.parse(row!.breaker_open_until!)).toBeGreaterThan(Date.now() + 30_000);
    // The retries (due after 1 s on the test schedule) wait behind it in every lane: no POST, no attempt.
    await new Promise((r) => setTimeout(r, 3000));
    expect(await receivedRequests(path)).toHaveLength(events.length);
    for (const e of events) expect(await deliveryRow(e.id, dest.id)).toMatchObject({ status: 'pending', attempts: 1, run_attempts: 1 });
    expect((await laneJobs(dest.id)).map((j) => j.eventId)).toEqual(events.map((e) => e.id));
    // Settled here, so that the lanes drop the jobs when the cool-down ends instead of probing.
    await env.DB.prepare("UPDATE deliveries SET status = 'failed' WHERE destination_id = ?1").bind(dest.id).run();
  });

  it('behind an open breaker, defers its due and new jobs in one step, each with its own jitter, without running them one by one; delivers them once it closes', async () => {
    const group = await createGroup();
    const path = `/ok/${unique('lane-behind')}`;
    const dest = await insertDestination({ namespaceId: group.id, url: `${receiverOrigin()}${path}` });
    // All in one lane; the first job finds the breaker open (for 4 s from now).
    const events: { id: number }[] = [];
    while (events.length < 41) {
      const e = await insertEventQuietly(groupEntityOf(group));
      if (laneIndex(e.id, LANES) === 0) events.push(e);
    }
    const openUntil = Date.now() + 4000;
    await env.DB.prepare('UPDATE streaming_destinations SET consecutive_failures = ?2, breaker_open_until = ?3, breaker_trips = 1 WHERE id = ?1')
      .bind(dest.id, BREAKER_THRESHOLD, new Date(openUntil).toISOString()).run();
    const lane = laneOf(env, dest.id, events[0].id);
    await lane.enqueue([{ eventId: events[0].id, destinationId: dest.id }]);
    for (let i = 0; i < 50 && (await lane.stats()).finished === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect((await lane.stats()).finished).toBe(1);
    // The next 40 wait with it without being run: stored due when the breaker closes, spread over its jitter.
    await lane.enqueue(events.slice(1).map((e) => ({ eventId: e.id, destinationId: dest.id })));
    await new Promise((r) => setTimeout(r, 300));
    expect((await lane.stats()).finished).toBe(1);
    const pending = await lane.pending();
    expect(pending).toHaveLength(41);
    for (const j of pending) {
      expect(j.dueAt).toBeGreaterThanOrEqual(openUntil - 1000); // the first one's wait was rounded up to whole seconds
      expect(j.dueAt).toBeLessThanOrEqual(openUntil + 2000);
    }
    expect(new Set(pending.map((j) => j.dueAt)).size).toBeGreaterThan(10);
    expect(await receivedRequests(path)).toHaveLength(0);
    // Then the cool-down ends: one probe, which closes the breaker, and every job is delivered.
    const got = await waitForRequests(path, 41, 25_000);
    expect(new Set(got.map((r) => r.headers['webhook-id'])).size).toBe(41);
    for (const e of events) expect(await waitFor(() => deliveryRow(e.id, dest.id), (d) => d?.status === 'delivered', 5000)).toMatchObject({ attempts: 1 });
  });

  it('half-open: probes go one at a time, and a receiver whose first probes fail gets the backlog without a new cool-down', async () => {
    expect(HALF_OPEN_PROBES).toBe(3);
    const group = await createGroup();
    // Fails the first 2 requests (2 probes), then answers 200.
    const path = `/fail/2/${unique('lane-half-open')}`;
    const dest = await insertDestination({ namespaceId: group.id, url: `${receiverOrigin()}${path}` });
    const events: { id: number }[] = [];
    while (events.length < 6) {
      const e = await insertEventQuietly(groupEntityOf(group));
      if (laneIndex(e.id, LANES) === 0) events.push(e);
    }
    // Opened once (trips 1); its 60 s cool-down just ended.
    await env.DB.prepare('UPDATE streaming_destinations SET consecutive_failures = ?2, breaker_open_until = ?3, breaker_trips = 1 WHERE id = ?1')
      .bind(dest.id, BREAKER_THRESHOLD, new Date(Date.now() - 1000).toISOString()).run();
    const started = Date.now();
    await laneOf(env, dest.id, events[0].id).enqueue(events.map((e) => ({ eventId: e.id, destinationId: dest.id })));
    // Every job is delivered; with one probe deciding, the failed first probe would have re-opened
    // the breaker for 120 s instead.
    for (const e of events) await waitFor(() => deliveryRow(e.id, dest.id), (d) => d?.status === 'delivered', 30_000);
    expect(Date.now() - started).toBeLessThan(40_000);
    const got = await receivedRequests(path);
    // The 2 failed probes went out one after the other, then 6 successes: no request while a probe was out.
    expect(got).toHaveLength(8);
    expect(new Set(got.map((r) => r.headers['webhook-id'])).size).toBe(6);
    expect(await env.DB.prepare('SELECT consecutive_failures AS f, breaker_open_until AS u, breaker_trips AS t FROM streaming_destinations WHERE id = ?1').bind(dest.id).first())
      .toEqual({ f: 0, u: null, t: 0 });
  }, 60_000);

  it('overflow: a slow but answering receiver behind a backlog gets more than LANE_CONCURRENCY connections per lane, through overflow lanes that run what they are given; every delivery arrives once', async () => {
    const group = await createGroup();
    const path = `/slow/300/${unique('overflow')}`;
    const dest = await insertDestination({ namespaceId: group.id, url: `${receiverOrigin()}${path}` });
    // Enough events of one lane for a hand-over (OVERFLOW_MIN_JOBS waiting), written 100 at a time.
    const events: AuditEvent[] = [];
    while (events.filter((e) => laneIndex(e.id, LANES) === laneIndex(events[0].id, LANES)).length < OVERFLOW_MIN_JOBS + 40) {
      events.push(...(await insertEventsQuietly(groupEntityOf(group), 100)));
    }
    const mine = events.filter((e) => laneIndex(e.id, LANES) === laneIndex(events[0].id, LANES));
    const home = laneOf(env, dest.id, mine[0].id);
    await home.enqueue(mine.map((e) => ({ eventId: e.id, destinationId: dest.id })));
    const got = await waitForRequests(path, mine.length, 40_000);
    // Once: one request per job (its webhook-id), each delivery recorded once.
    expect(got).toHaveLength(mine.length);
    expect(new Set(got.map((r) => r.headers['webhook-id'])).size).toBe(mine.length);
    // The home lane handed jobs over, at least a whole attempt-log group to each overflow lane it used.
    const stats = await home.stats();
    expect(stats.overflowed).toBeGreaterThanOrEqual(OVERFLOW_MIN_GROUP);
    expect(stats.overflowOf).toBeNull();
    const name = homeLaneName(env, { eventId: mine[0].id, destinationId: dest.id });
    const first = env.DESTINATION_LANES.get(env.DESTINATION_LANES.idFromName(`${name}+1`));
    expect(await first.stats()).toMatchObject({ overflowed: 0, overflowOf: name });
    // More than one lane's connections at once (one lane alone cannot: a connection it used at t is
    // free again only after t + 300 ms, so no 300 ms window holds more than LANE_CONCURRENCY arrivals).
    const at = got.map((r) => r.at).sort((a, b) => a - b);
    const widest = Math.max(...at.map((t) => at.filter((u) => u >= t && u < t + 300).length));
    expect(widest).toBeGreaterThan(LANE_CONCURRENCY);
    for (const e of mine) expect(await waitFor(() => deliveryRow(e.id, dest.id), (r) => r?.status === 'delivered')).toMatchObject({ attempts: 1 });
  }, 90_000);

  it('overflow: hands over only whole attempt-log groups, oldest jobs spread over every lane, and only when the backlog would take the connections over a second', () => {
    expect(OVERFLOW_MIN_GROUP).toBe(LOG_FLUSH_MAX);
    const jobs = (n: number) => Array.from({ length: n }, (_, i) => ({ eventId: i, destinationId: 1 }));
    expect(overflowGroups(jobs(OVERFLOW_MIN_JOBS - 1), 3)).toEqual([]);
    const two = overflowGroups(jobs(3 * OVERFLOW_MIN_GROUP + 50), 3);
    expect(two.map((g) => g.length)).toEqual([117, 116]); // home keeps 117: every third job
    expect(two[0].slice(0, 2).map((j) => j.eventId)).toEqual([1, 4]);
    expect(overflowGroups(jobs(1000), 3).map((g) => g.length)).toEqual([250, 250, 250]);
    expect(overflowGroups(jobs(1000), 0)).toEqual([]);
    // A backlog that one lane's connections send within OVERFLOW_AFTER_MS stays home.
    expect(backlogged(OVERFLOW_MIN_JOBS, 10)).toBe(false);
    expect(backlogged(OVERFLOW_MIN_JOBS, 100)).toBe(true);
    expect(backlogged(OVERFLOW_MIN_JOBS - 1, 1000)).toBe(false);
    expect(backlogged(10_000, 0)).toBe(false); // no delivered POST yet: a hanging receiver does not overflow
    // The estimate: delivered POSTs feed it, a failed attempt resets it (a receiver that starts hanging stops overflowing).
    const o = new Overflow();
    o.note(true, 400);
    o.note(true, 200);
    expect(o.postMs).toBe(360);
    expect(o.due(Date.now())).toBe(true);
    o.note(false, 0);
    expect(o.postMs).toBe(0);
    expect(o.due(Date.now() + 5000)).toBe(false);
  });
});
