/**
 * The consumer as its own Worker (src/consumer.ts, consumer/wrangler.toml). Under the vitest
 * plugin it runs as an auxiliary Worker bundled from src/consumer.ts (vitest.config.ts) with the
 * same D1 database and the "deliveries" consumer; the API Worker under test only produces, so the
 * end-to-end tests (e2e.test.ts) pass only because the consumer Worker consumes.
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

describe('consumer Worker', () => {
  it('is the only queue consumer: the API Worker exports no queue handler', () => {
    expect('queue' in apiWorker).toBe(false);
    expect(typeof consumerWorker.queue).toBe('function');
  });

  it('delivers a message through its default export and acks it', async () => {
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
    expect((await receivedRequests(path)).map((r) => r.headers['webhook-id'])).toEqual([`msg_${event.id}_${dest.id}`]);
    expect(await deliveryRow(event.id, dest.id)).toMatchObject({ status: 'delivered', attempts: 1 });
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
    // The consumer Worker's attempt is in the API Worker's D1 (poll: it records before it acks).
    for (let i = 0; i < 50 && (await deliveryRow(id, dest.id))?.status !== 'delivered'; i++) await new Promise((res) => setTimeout(res, 100));
    expect(await deliveryRow(id, dest.id)).toMatchObject({ status: 'delivered', attempts: 1 });
  });
});
