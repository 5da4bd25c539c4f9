/**
 * Pause that keeps events (src/delivery/pause.ts): a paused (inactive) destination's events get
 * their pending deliveries rows, its lanes hold the jobs without a request, and resuming delivers
 * the backlog oldest first; past DELIVERY_PAUSE_RETENTION_DAYS the deliveries are dead-lettered
 * (by the lane holding them, or by the cron for one no lane holds), failed in the delivery log
 * and redeliverable. The lanes run in the consumer Worker with the test vars (a 2 s delivery
 * timeout: a holding lane looks at its destination every 6 s).
 */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { ADMIN, api, createGroup, gql, unique } from '../support/api';
import { receivedRequests, receiverOrigin, waitForRequests } from '../support/receiver';
import { LANE_CONCURRENCY } from '../../src/delivery/lane';
import { lanesPerDestination, laneIndex, lanesOf } from '../../src/delivery/lanes';
import { expirePausedDeliveries, PAUSE_EXPIRED_ERROR, pauseRecheckMs } from '../../src/delivery/pause';
import { ensureDelivery } from '../../src/db/deliveries';
import { deliveryRow, groupEntityOf, insertDestination, insertEventQuietly, laneJobs, waitFor } from './support';

/** Lanes per destination in the tests (DELIVERY_LANES_PER_DESTINATION in vitest.config.ts). */
const LANES = lanesPerDestination(env);

const UPDATE = `mutation($input: ExternalAuditEventDestinationUpdateInput!) {
  externalAuditEventDestinationUpdate(input: $input) { errors externalAuditEventDestination { active } }
}`;
const REDELIVER = `mutation($d: ID!, $e: ID!) {
  auditEventsStreamingDeliveryRedeliver(input: { destinationId: $d, eventId: $e }) { errors delivery { status } }
}`;
const gidOf = (id: number) => `gid://gitlab/AuditEvents::ExternalAuditEventDestination/${id}`;

/** Set a destination active or paused through the legacy GraphQL update mutation (as an administrator). */
async function setActive(id: number, active: boolean) {
  const r = await gql(UPDATE, { input: { id: gidOf(id), active } }, ADMIN);
  expect(r.body.data.externalAuditEventDestinationUpdate).toEqual({ errors: [], externalAuditEventDestination: { active } });
}

/** Record an event of the group through the REST API (the real path: D1, outbox, queue, consumer, lanes). */
async function ingest(groupId: number): Promise<number> {
  const r = await api('POST', '/api/v4/audit_events', { token: ADMIN, body: { event_type: 'audit_operation', entity_type: 'Group', entity_id: groupId } });
  expect(r.status).toBe(201);
  return (r.body as { id: number }).id;
}

const holding = async (destinationId: number) => (await Promise.all(lanesOf(env, destinationId).map((l) => l.stats()))).filter((s) => s.holding).length;

describe('pause that keeps events', () => {
  it('keeps a paused destination’s events (rows pending, jobs held, no POST) and delivers the backlog oldest first once resumed', async () => {
    const group = await createGroup();
    const path = `/slow/600/${unique('pause')}`;
    // Only the ingested events (the pause and resume are audit events of the group too).
    const dest = await insertDestination({ namespaceId: group.id, url: `${receiverOrigin()}${path}`, eventTypes: ['audit_operation'] });
    await setActive(dest.id, false);
    // More events than the lanes' connections, so that each lane has to choose which go first.
    const n = LANES * LANE_CONCURRENCY + LANES * 2;
    const ids: number[] = [];
    for (let i = 0; i < n; i++) ids.push(await ingest(group.id));
    // Every event has its delivery row, pending, although the destination is paused.
    for (const id of ids) expect(await deliveryRow(id, dest.id)).toMatchObject({ status: 'pending', attempts: 0 });
    // The jobs reach the lanes (nothing waits in the queue), which hold them without a request.
    expect((await waitFor(() => laneJobs(dest.id), (j) => j.length === n)).map((j) => j.eventId)).toEqual(ids);
    expect(await waitFor(() => holding(dest.id), (h) => h === new Set(ids.map((id) => laneIndex(id, LANES))).size)).toBe(new Set(ids.map((id) => laneIndex(id, LANES))).size);
    await new Promise((r) => setTimeout(r, 500));
    expect(await receivedRequests(path)).toHaveLength(0);
    expect(await deliveryRow(ids[0], dest.id)).toMatchObject({ status: 'pending', attempts: 0 });

    const resumed = Date.now();
    await setActive(dest.id, true);
    const got = await waitForRequests(path, n, 25_000);
    expect(got.map((r) => JSON.parse(r.body).id).sort()).toEqual(ids.map(String).sort());
    expect(Math.min(...got.map((r) => r.at)) - resumed).toBeLessThanOrEqual(pauseRecheckMs(env) + 2000);
    // Oldest first: in each lane, the first LANE_CONCURRENCY POSTs (the receiver takes 600 ms
    // each) are its oldest events, the rest come after them.
    const arrival = new Map(got.map((r) => [Number(JSON.parse(r.body).id), r.at]));
    let ordered = 0;
    for (let k = 0; k < LANES; k++) {
      const mine = ids.filter((id) => laneIndex(id, LANES) === k);
      if (mine.length <= LANE_CONCURRENCY) continue;
      const byArrival = [...mine].sort((a, b) => arrival.get(a)! - arrival.get(b)!);
      expect(byArrival.slice(0, LANE_CONCURRENCY).sort((a, b) => a - b)).toEqual(mine.slice(0, LANE_CONCURRENCY));
      ordered++;
    }
    expect(ordered).toBeGreaterThan(0);
    for (const id of ids) expect(await waitFor(() => deliveryRow(id, dest.id), (d) => d?.status === 'delivered')).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  it('dead-letters a held delivery past DELIVERY_PAUSE_RETENTION_DAYS (failed with a clear error), redeliverable once resumed', async () => {
    const group = await createGroup();
    const path = `/ok/${unique('pause-bound')}`;
    // Only the ingested events (the pause and resume are audit events of the group too).
    const dest = await insertDestination({ namespaceId: group.id, url: `${receiverOrigin()}${path}`, eventTypes: ['audit_operation'] });
    await setActive(dest.id, false);
    const [old, young] = [await ingest(group.id), await ingest(group.id)];
    expect(await waitFor(() => laneJobs(dest.id), (j) => j.length === 2)).toHaveLength(2);
    // The first has waited 8 days (the bound is 7): the lane dead-letters it when it next looks.
    await env.DB.prepare('UPDATE deliveries SET created_at = ?3 WHERE event_id = ?1 AND destination_id = ?2')
      .bind(old, dest.id, new Date(Date.now() - 8 * 86_400_000).toISOString()).run();
    const failed = await waitFor(() => deliveryRow(old, dest.id), (d) => d?.status === 'failed', pauseRecheckMs(env) + 5000);
    expect(failed).toMatchObject({ status: 'failed', attempts: 0, last_error: PAUSE_EXPIRED_ERROR });
    expect((await waitFor(() => laneJobs(dest.id), (j) => j.length === 1)).map((j) => j.eventId)).toEqual([young]);
    expect(await deliveryRow(young, dest.id)).toMatchObject({ status: 'pending' });
    expect(await receivedRequests(path)).toHaveLength(0);
    // Resumed: the young one is delivered; the dead letter is redelivered on request.
    await setActive(dest.id, true);
    await waitForRequests(path, 1, 15_000);
    const r = await gql(REDELIVER, { d: gidOf(dest.id), e: String(old) }, ADMIN);
    expect(r.body.data.auditEventsStreamingDeliveryRedeliver).toEqual({ errors: [], delivery: { status: 'PENDING' } });
    const both = await waitForRequests(path, 2, 15_000);
    expect(both.map((q) => JSON.parse(q.body).id).sort()).toEqual([old, young].map(String).sort());
    expect(await waitFor(() => deliveryRow(old, dest.id), (d) => d?.status === 'delivered')).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  it('the cron dead-letters paused deliveries past the bound that no lane holds, and nothing else', async () => {
    const group = await createGroup();
    const paused = await insertDestination({ namespaceId: group.id, url: `${receiverOrigin()}/ok/${unique('pause-cron')}`, active: false });
    const active = await insertDestination({ namespaceId: group.id, url: `${receiverOrigin()}/ok/${unique('pause-cron-active')}` });
    const [e1, e2] = [await insertEventQuietly(groupEntityOf(group)), await insertEventQuietly(groupEntityOf(group))];
    const old = new Date(Date.now() - 8 * 86_400_000).toISOString();
    for (const [e, d] of [[e1, paused], [e2, paused], [e1, active]] as const) await ensureDelivery(env.DB, e.id, d.id);
    await env.DB.prepare('UPDATE deliveries SET created_at = ?1 WHERE event_id = ?2').bind(old, e1.id).run();
    expect(await expirePausedDeliveries(env)).toBeGreaterThanOrEqual(1);
    expect(await deliveryRow(e1.id, paused.id)).toMatchObject({ status: 'failed', last_error: PAUSE_EXPIRED_ERROR });
    expect(await deliveryRow(e2.id, paused.id)).toMatchObject({ status: 'pending' }); // within the bound
    expect(await deliveryRow(e1.id, active.id)).toMatchObject({ status: 'pending' }); // not paused: the max wait applies
    await env.DB.prepare("UPDATE deliveries SET status = 'failed' WHERE destination_id IN (?1, ?2)").bind(paused.id, active.id).run();
  });
});
