/**
 * Our own destination fields (delivery log, delivery counts, chart, health) are on the
 * consolidated destination types too, and answer the same as on the legacy types (they name the
 * same rows).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, createGroup, createUser, type TestUser } from '../support/api';
import { ok } from './support';
import { groupDestination } from './streaming_support';

const OURS = `deliveryCounts { total } deliveries(first: 5) { nodes { eventType webhookId } } deliveryStats(hours: 3) { bucketStart } health { consecutiveFailures deadLettered }`;

let owner: TestUser;
beforeAll(async () => {
  owner = await createUser();
});

describe('delivery log, chart and health on the consolidated types', () => {
  it('a group destination answers them as its legacy twin does', async () => {
    const g = await createGroup({ token: owner.token });
    const d = await groupDestination(owner.token, g.full_path);
    const consolidated = (await ok(`query($p: ID!) { group(fullPath: $p) { externalAuditEventStreamingDestinations { nodes { id ${OURS} } } } }`, owner.token, { p: g.full_path }))
      .group.externalAuditEventStreamingDestinations.nodes;
    const legacy = (await ok(`query($p: ID!) { group(fullPath: $p) { externalAuditEventDestinations { nodes { ${OURS} } } } }`, owner.token, { p: g.full_path }))
      .group.externalAuditEventDestinations.nodes;
    expect(consolidated).toHaveLength(1);
    expect(consolidated[0].id).toBe(d.id);
    // Its own creation event is routed to it: one delivery.
    expect(consolidated[0].deliveryCounts.total).toBe(1);
    expect(consolidated[0].deliveries.nodes[0].eventType).toBe('created_group_audit_event_streaming_destination');
    expect(consolidated[0].deliveryStats).toHaveLength(3);
    expect(typeof consolidated[0].health.consecutiveFailures).toBe('number');
    const { id: _id, ...fields } = consolidated[0];
    expect(fields.deliveryCounts).toEqual(legacy[0].deliveryCounts);
    expect(fields.deliveries.nodes.map((n: { webhookId: string }) => n.webhookId)).toEqual(legacy[0].deliveries.nodes.map((n: { webhookId: string }) => n.webhookId));
  });

  it('an instance destination has them too (administrators)', async () => {
    const r = await ok(`{ auditEventsInstanceStreamingDestinations { nodes { id ${OURS} } } }`, ADMIN);
    expect(Array.isArray(r.auditEventsInstanceStreamingDestinations.nodes)).toBe(true);
  });
});
