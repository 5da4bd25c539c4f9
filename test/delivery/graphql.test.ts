/** The delivery log and replay over GraphQL, with destinations made through GitLab's mutations. */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { handleGraphql } from '../../src/graphql/handler';
import type { Env } from '../../src/env';
import { ADMIN, BASE, addMember, api, createGroup, createUser, gql, unique } from '../support/api';
import { receivedRequests, receiverOrigin, waitForRequests } from '../support/receiver';
import { deliveryRow, waitFor } from './support';

const CREATE = `mutation($url: String!, $group: ID!) {
  externalAuditEventDestinationCreate(input: { destinationUrl: $url, groupPath: $group }) {
    errors
    externalAuditEventDestination { id verificationToken }
  }
}`;

const LOG = `query($group: ID!, $status: AuditEventStreamingDeliveryStatus, $first: Int, $after: String) {
  group(fullPath: $group) {
    externalAuditEventDestinations {
      nodes {
        id
        deliveryCounts { pending delivered failed total }
        deliveries(status: $status, first: $first, after: $after) {
          count
          pageInfo { hasNextPage endCursor }
          nodes { id eventId eventType webhookId status attemptsCount lastHttpStatus lastError deliveredAt
                  attempts { attempt status httpStatus durationMs errorClass responseExcerpt createdAt } }
        }
      }
    }
  }
}`;

const REDELIVER = `mutation($d: ID!, $e: ID!) {
  auditEventsStreamingDeliveryRedeliver(input: { destinationId: $d, eventId: $e }) { errors delivery { status webhookId } }
}`;
const REDELIVER_FAILED = `mutation($d: ID!, $since: Time!) {
  auditEventsStreamingDeliveriesRedeliverFailed(input: { destinationId: $d, since: $since }) { errors redeliveredCount }
}`;


describe('delivery log and replay (GraphQL)', () => {
  it('shows failed deliveries with their attempts, pages them, and redelivers them once the receiver recovers', async () => {
    const owner = await createUser();
    const group = await createGroup({ token: owner.token });
    const started = new Date(Date.now() - 1000).toISOString();
    // The receiver always fails: with the test schedule (3 retries) every delivery fails after 4 attempts.
    const failing = `/status/500/${unique('log')}`;
    const created = await gql(CREATE, { url: `${receiverOrigin()}${failing}`, group: group.full_path }, owner.token);
    expect(created.body.data.externalAuditEventDestinationCreate.errors).toEqual([]);
    const destId: string = created.body.data.externalAuditEventDestinationCreate.externalAuditEventDestination.id;
    const numericDest = Number(destId.split('/').pop());
    // The destination's own creation event (create_event_streaming_destination) is routed to it.
    const firstDelivery = await waitFor(
      () => env.DB.prepare('SELECT event_id FROM deliveries WHERE destination_id = ?1 ORDER BY id LIMIT 1').bind(numericDest).first<{ event_id: number }>(),
      (r) => r !== null,
    );
    const eventId = firstDelivery!.event_id;
    // A second event of the group, so that the log has two deliveries to page through.
    const second = await api('POST', '/api/v4/audit_events', { token: ADMIN, body: { event_type: 'audit_operation', entity_type: 'Group', entity_id: group.id } });
    expect(second.status).toBe(201);
    const secondId: number = second.body.id;

    const failed = await waitFor(() => deliveryRow(eventId, numericDest), (d) => d?.status === 'failed');
    expect(failed).toMatchObject({ status: 'failed', attempts: 4, last_http_status: 500 });
    expect(await waitFor(() => deliveryRow(secondId, numericDest), (d) => d?.status === 'failed')).toMatchObject({ status: 'failed', attempts: 4 });

    const log = await gql(LOG, { group: group.full_path, status: 'FAILED' }, owner.token);
    expect(log.body.errors).toBeUndefined();
    const dest = log.body.data.group.externalAuditEventDestinations.nodes[0];
    expect(dest.deliveryCounts.failed).toBeGreaterThanOrEqual(1);
    expect(dest.deliveryCounts.total).toBe(dest.deliveryCounts.pending + dest.deliveryCounts.delivered + dest.deliveryCounts.failed);
    const mine = dest.deliveries.nodes.find((n: any) => n.eventId === String(eventId));
    expect(mine).toMatchObject({
      eventType: 'create_event_streaming_destination',
      webhookId: `msg_${eventId}_${numericDest}`,
      status: 'FAILED',
      attemptsCount: 4,
      lastHttpStatus: 500,
      lastError: 'HTTP 500',
      deliveredAt: null,
    });
    expect(mine.id).toMatch(/^gid:\/\/gitlab\/AuditEvents::Streaming::Delivery\/\d+$/);
    expect(mine.attempts.map((a: any) => [a.attempt, a.status, a.httpStatus, a.errorClass])).toEqual([
      [1, 'FAILED', 500, 'http_5xx'], [2, 'FAILED', 500, 'http_5xx'], [3, 'FAILED', 500, 'http_5xx'], [4, 'FAILED', 500, 'http_5xx'],
    ]);
    expect(mine.attempts[0].responseExcerpt).toBe('{"status":500}');

    // Paging: one per page, cursors move on, the last page says so.
    const page1 = await gql(LOG, { group: group.full_path, first: 1 }, owner.token);
    const conn1 = page1.body.data.group.externalAuditEventDestinations.nodes[0].deliveries;
    expect(conn1.count).toBe(2);
    expect(conn1.nodes).toHaveLength(1);
    expect(conn1.pageInfo.hasNextPage).toBe(true);
    const page2 = await gql(LOG, { group: group.full_path, first: 1, after: conn1.pageInfo.endCursor }, owner.token);
    const conn2 = page2.body.data.group.externalAuditEventDestinations.nodes[0].deliveries;
    expect(conn2.nodes).toHaveLength(1);
    expect(conn2.pageInfo.hasNextPage).toBe(false);
    expect([conn1.nodes[0].eventId, conn2.nodes[0].eventId].sort()).toEqual([String(eventId), String(secondId)].sort());

    // The owner fixes the endpoint, then redelivers everything that failed since the start.
    const path = `/ok/${unique('fixed')}`;
    const upd = await gql(
      `mutation($id: AuditEventsExternalAuditEventDestinationID!, $url: String!) {
        externalAuditEventDestinationUpdate(input: { id: $id, destinationUrl: $url }) { errors }
      }`,
      { id: destId, url: `${receiverOrigin()}${path}` },
      owner.token,
    );
    expect(upd.body.data.externalAuditEventDestinationUpdate.errors).toEqual([]);
    const again = await gql(REDELIVER_FAILED, { d: destId, since: started }, owner.token);
    expect(again.body.data.auditEventsStreamingDeliveriesRedeliverFailed.errors).toEqual([]);
    expect(again.body.data.auditEventsStreamingDeliveriesRedeliverFailed.redeliveredCount).toBeGreaterThanOrEqual(1);
    const delivered = await waitFor(() => deliveryRow(eventId, numericDest), (d) => d?.status === 'delivered');
    expect(delivered).toMatchObject({ status: 'delivered', attempts: 5, last_http_status: 200 });
    // Both redelivered before the requests to the fixed path are counted.
    expect(again.body.data.auditEventsStreamingDeliveriesRedeliverFailed.redeliveredCount).toBe(2);
    await waitFor(() => deliveryRow(secondId, numericDest), (d) => d?.status === 'delivered');
    const reqs = await receivedRequests(path);
    expect(reqs.filter((r) => r.headers['webhook-id'] === `msg_${eventId}_${numericDest}`).length).toBe(1);
    expect((await receivedRequests(failing)).filter((r) => r.headers['webhook-id'] === `msg_${eventId}_${numericDest}`).length).toBe(4);

    // Redeliver one event that was already delivered: sent again with the same webhook-id.
    const one = await gql(REDELIVER, { d: destId, e: String(eventId) }, owner.token);
    expect(one.body.data.auditEventsStreamingDeliveryRedeliver).toEqual({ errors: [], delivery: { status: 'PENDING', webhookId: `msg_${eventId}_${numericDest}` } });
    const all = await waitForRequests(path, reqs.length + 1);
    expect(all[all.length - 1].headers['webhook-id']).toBe(`msg_${eventId}_${numericDest}`);
    await waitFor(() => deliveryRow(eventId, numericDest), (d) => d?.status === 'delivered');
  });

  it('refuses replays to people who cannot manage the destination, and of events never routed there', async () => {
    const owner = await createUser();
    const group = await createGroup({ token: owner.token });
    const created = await gql(CREATE, { url: `${receiverOrigin()}/ok/${unique('perm')}`, group: group.full_path }, owner.token);
    const destId: string = created.body.data.externalAuditEventDestinationCreate.externalAuditEventDestination.id;
    const dev = await createUser();
    await addMember('groups', group.id, dev.id, 40);
    const denied = await gql(REDELIVER, { d: destId, e: '1' }, dev.token);
    expect(denied.body.data.auditEventsStreamingDeliveryRedeliver).toBeNull();
    expect(denied.body.errors![0].message).toBe(
      "The resource that you are attempting to access does not exist or you don't have permission to perform this action",
    );
    const deniedAll = await gql(REDELIVER_FAILED, { d: destId, since: '2020-01-01T00:00:00Z' }, dev.token);
    expect(deniedAll.body.errors![0].message).toMatch(/does not exist or you don't have permission/);

    // An event of another group was never routed to this destination.
    const other = await createGroup();
    const foreign = await api('POST', '/api/v4/audit_events', { token: ADMIN, body: { event_type: 'audit_operation', entity_type: 'Group', entity_id: other.id } });
    const notRouted = await gql(REDELIVER, { d: destId, e: String(foreign.body.id) }, owner.token);
    expect(notRouted.body.data.auditEventsStreamingDeliveryRedeliver).toEqual({ errors: ['Audit event was never delivered to this destination'], delivery: null });

    const badSince = await gql(REDELIVER_FAILED, { d: destId, since: 'last tuesday' }, owner.token);
    expect(badSince.body.data.auditEventsStreamingDeliveriesRedeliverFailed).toEqual({ errors: ['since is not a valid ISO 8601 time'], redeliveredCount: 0 });
    const badGid = await gql(REDELIVER, { d: 'gid://gitlab/Project/1', e: '1' }, owner.token);
    expect(badGid.body.errors![0].message).toMatch(/does not exist or you don't have permission/);
  });

  it('puts deliveries back to failed when their redelivery cannot be queued', async () => {
    const owner = await createUser();
    const group = await createGroup({ token: owner.token });
    // Nothing listens on port 9; the rows below are written straight to D1.
    const created = await gql(CREATE, { url: `http://127.0.0.1:9/${unique('down')}`, group: group.full_path }, owner.token);
    const destId: string = created.body.data.externalAuditEventDestinationCreate.externalAuditEventDestination.id;
    const numericDest = Number(destId.split('/').pop());
    // The group's creation event, recorded before the destination existed, and two made-up ids.
    const groupEvent = await env.DB.prepare("SELECT id FROM audit_events WHERE entity_type = 'Group' AND entity_id = ?1 ORDER BY id LIMIT 1")
      .bind(group.id)
      .first<{ id: number }>();
    const eventIds = [groupEvent!.id, 2_000_000_000 + numericDest * 10 + 1, 2_000_000_000 + numericDest * 10 + 2];
    const since = new Date().toISOString();
    for (const eventId of eventIds) {
      await env.DB.prepare(
        `INSERT INTO deliveries (event_id, destination_id, status, attempts, last_error, created_at, updated_at) VALUES (?1, ?2, 'failed', 4, 'http_500', ?3, ?3)`,
      )
        .bind(eventId, numericDest, since)
        .run();
    }
    // The queue refuses every send.
    const queueDown = { ...(env as Env), DELIVERIES: { send: async () => Promise.reject(new Error('queue down')), sendBatch: async () => Promise.reject(new Error('queue down')) } };
    const run = async (query: string, variables: Record<string, unknown>) => {
      const ctx = createExecutionContext();
      const res = await handleGraphql(
        new Request(`${BASE}/api/graphql`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'PRIVATE-TOKEN': owner.token }, body: JSON.stringify({ query, variables }) }),
        queueDown as unknown as Env,
        ctx,
      );
      await waitOnExecutionContext(ctx);
      return (await res.json()) as any;
    };
    const rows = async () =>
      (await env.DB.prepare(`SELECT event_id, status, last_error FROM deliveries WHERE destination_id = ?1 AND event_id IN (?2, ?3, ?4) ORDER BY event_id`)
        .bind(numericDest, ...eventIds)
        .all()).results;
    const failedAgain = eventIds.map((event_id) => ({ event_id, status: 'failed', last_error: 'Redelivery could not be enqueued' }));

    const all = await run(REDELIVER_FAILED, { d: destId, since });
    expect(all.data.auditEventsStreamingDeliveriesRedeliverFailed).toEqual({ errors: ['The redeliveries could not be queued; try again'], redeliveredCount: 0 });
    expect(await rows()).toEqual(failedAgain);

    await env.DB.prepare(`UPDATE deliveries SET last_error = 'http_500' WHERE destination_id = ?1`).bind(numericDest).run();
    const one = await run(REDELIVER, { d: destId, e: String(groupEvent!.id) });
    expect(one.data.auditEventsStreamingDeliveryRedeliver).toEqual({ errors: ['The redelivery could not be queued; try again'], delivery: null });
    expect(await rows()).toEqual([failedAgain[0], ...eventIds.slice(1).map((event_id) => ({ event_id, status: 'failed', last_error: 'http_500' }))]);
  });

  it('lists instance destination deliveries for administrators', async () => {
    const q = `{ instanceExternalAuditEventDestinations { nodes { id deliveryCounts { total } deliveries(first: 1) { count } } } }`;
    const r = await gql(q, undefined, ADMIN);
    expect(r.body.errors).toBeUndefined();
    for (const n of r.body.data.instanceExternalAuditEventDestinations.nodes) expect(n.deliveryCounts.total).toBe(n.deliveries.count);
  });
});
