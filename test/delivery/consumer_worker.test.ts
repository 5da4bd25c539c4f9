/**
 * The consumer as its own Worker (src/consumer.ts, consumer/wrangler.toml). Under the vitest
 * plugin it runs as an auxiliary Worker bundled from src/consumer.ts (vitest.config.ts) with the
 * same D1 database, the "deliveries" consumer and its destination lanes (DestinationLane); the API
 * Worker under test only produces, so the end-to-end tests (e2e.test.ts) pass only because the
 * consumer Worker consumes.
 */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import apiWorker from '../../src/index';
import consumerWorker from '../../src/consumer';
import type { DeliveryJob } from '../../src/env';
import { ADMIN, api, createGroup, unique } from '../support/api';
import { receivedRequests, receiverOrigin, waitForRequests } from '../support/receiver';
import { deliveryRow, groupEntityOf, insertDestination, insertEventQuietly } from './support';

/** Poll until the delivery of (event, destination) has `status` (or 10 s pass). */
async function waitForStatus(eventId: number, destinationId: number, status: string) {
  for (let i = 0; i < 100 && (await deliveryRow(eventId, destinationId))?.status !== status; i++) await new Promise((res) => setTimeout(res, 100));
}

/** Poll until the delivery of (event, destination) has an attempt (or 10 s pass). */
async function waitForAttempt(eventId: number, destinationId: number) {
  for (let i = 0; i < 100 && ((await deliveryRow(eventId, destinationId))?.attempts ?? 0) === 0; i++) await new Promise((res) => setTimeout(res, 100));
}

describe('consumer Worker', () => {
  it('is the only queue consumer: the API Worker exports no queue handler', () => {
    expect('queue' in apiWorker).toBe(false);
    expect(typeof consumerWorker.queue).toBe('function');
  });

  it("acks a message through its default export once its destination's lane has it; the lane delivers it", async () => {
    const group = await createGroup();
    const path = `/ok/${unique('cw')}`;
    const dest = await insertDestination({ namespaceId: group.id, url: `${receiverOrigin()}${path}` });
    const event = await insertEventQuietly(groupEntityOf(group));
    const batch = createMessageBatch<DeliveryJob>('deliveries', [
      { id: 'cw-1', timestamp: new Date(), attempts: 1, body: { eventId: event.id, destinationId: dest.id } },
    ]);
    const ctx = createExecutionContext();
    await consumerWorker.queue(batch, env, ctx);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(['cw-1']);
    expect((await waitForRequests(path, 1)).map((r) => r.headers['webhook-id'])).toEqual([`msg_${event.id}_${dest.id}`]);
    await waitForStatus(event.id, dest.id, 'delivered');
    expect(await deliveryRow(event.id, dest.id)).toMatchObject({ status: 'delivered', attempts: 1 });
  });

  it("through the queue: a hanging destination does not slow another group's healthy one", async () => {
    const [hangGroup, okGroup] = await Promise.all([createGroup(), createGroup()]);
    const run = unique('cw-iso');
    const hangPath = `/slow/5000/${run}`; // answers after 5 s: the consumer's delivery timeout (2 s) ends it
    const okPath = `/ok/${run}`;
    const hang = await insertDestination({ namespaceId: hangGroup.id, url: `${receiverOrigin()}${hangPath}` });
    const ok = await insertDestination({ namespaceId: okGroup.id, url: `${receiverOrigin()}${okPath}` });
    const hangEvents = await Promise.all(Array.from({ length: 6 }, () => insertEventQuietly(groupEntityOf(hangGroup))));
    const okEvents = await Promise.all(Array.from({ length: 6 }, () => insertEventQuietly(groupEntityOf(okGroup))));
    // The hanging destination's messages first, in the same batch as the healthy ones.
    const t0 = Date.now();
    await env.DELIVERIES.sendBatch([
      ...hangEvents.map((e) => ({ body: { eventId: e.id, destinationId: hang.id }, contentType: 'json' as const })),
      ...okEvents.map((e) => ({ body: { eventId: e.id, destinationId: ok.id }, contentType: 'json' as const })),
    ]);
    const got = await waitForRequests(okPath, okEvents.length);
    expect(got).toHaveLength(okEvents.length);
    // All arrived well before the hanging POSTs' timeout, while they are still open (no attempt recorded yet).
    expect(Math.max(...got.map((r) => r.at - t0))).toBeLessThan(1500);
    expect((await receivedRequests(hangPath)).length).toBeGreaterThan(0);
    const hangRows = await Promise.all(hangEvents.map((e) => deliveryRow(e.id, hang.id)));
    expect(hangRows.every((r) => (r?.attempts ?? 0) === 0)).toBe(true);
    for (const e of okEvents) await waitForStatus(e.id, ok.id, 'delivered');
    // Later the hanging POSTs time out and are recorded as such (the deliveries stay pending for their retry).
    await waitForAttempt(hangEvents[0].id, hang.id);
    expect(await deliveryRow(hangEvents[0].id, hang.id)).toMatchObject({ status: 'pending', attempts: 1 });
  });

  it('consumes what the API Worker produces, in the same D1 database', async () => {
    const group = await createGroup();
    const path = `/ok/${unique('cw-api')}`;
    const dest = await insertDestination({ namespaceId: group.id, url: `${receiverOrigin()}${path}` });
    const r = await api('POST', '/api/v4/audit_events', { token: ADMIN, body: { event_type: 'audit_operation', entity_type: 'Group', entity_id: group.id } });
    expect(r.status).toBe(201);
    const id = (r.body as { id: number }).id;
    const [req] = await waitForRequests(path, 1);
    expect(JSON.parse(req.body).id).toBe(String(id));
    // The consumer Worker's attempt is in the API Worker's D1 (poll: its lane records it right after the POST).
    await waitForStatus(id, dest.id, 'delivered');
    expect(await deliveryRow(id, dest.id)).toMatchObject({ status: 'delivered', attempts: 1 });
  });
});
