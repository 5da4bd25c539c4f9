/**
 * End to end: events ingested over REST travel through D1, the real local queue and the
 * consumer to a real HTTP receiver on 127.0.0.1, filtered, signed and retried.
 */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { ADMIN, api, createGroup, createProject, unique } from '../support/api';
import { receivedRequests, receiverOrigin, verifyWithStandardWebhooks, waitForRequests } from '../support/receiver';
import { attemptRows, deliveryRow, insertDestination } from './support';

const ingest = async (body: Record<string, unknown>) => {
  const r = await api('POST', '/api/v4/audit_events', { token: ADMIN, body });
  expect(r.status).toBe(201);
  return r.body as { id: number; event_type: string };
};

/** Poll a delivery row until it reaches a status. */
async function waitForDelivery(eventId: number, destinationId: number, status: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const d = await deliveryRow(eventId, destinationId);
    if (d?.status === status || Date.now() > deadline) return d;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('streaming end to end', () => {
  it('delivers filtered, signed events with custom headers; retries a failing receiver until it recovers', async () => {
    const top = await createGroup();
    const sub1 = await createGroup({ parentId: top.id });
    const sub2 = await createGroup({ parentId: top.id });
    const project = await createProject(sub1.id);
    const run = unique('e2e');
    const url = (p: string) => `${receiverOrigin()}${p}`;
    const paths = { all: `/ok/${run}-all`, git: `/ok/${run}-git`, sub2: `/ok/${run}-sub2`, off: `/ok/${run}-off`, flaky: `/fail/2/${run}` };
    const all = await insertDestination({ namespaceId: top.id, url: url(paths.all), headers: { 'X-Siem-Tenant': run } });
    const git = await insertDestination({ namespaceId: top.id, url: url(paths.git), eventTypes: ['repository_git_operation'] });
    const sub2Row = await env.DB.prepare('SELECT traversal_path FROM namespaces WHERE id = ?1').bind(sub2.id).first<{ traversal_path: string }>();
    const onlySub2 = await insertDestination({
      namespaceId: top.id, url: url(paths.sub2), namespaceFilter: { kind: 'group', id: sub2.id, scopePath: sub2Row!.traversal_path },
    });
    const off = await insertDestination({ namespaceId: top.id, url: url(paths.off), active: false });
    const flaky = await insertDestination({ namespaceId: top.id, url: url(paths.flaky), eventTypes: [`ci_${run}`.toLowerCase()] });

    const e1 = await ingest({ event_type: 'repository_git_operation', entity_type: 'Project', entity_id: project.id, details: { custom_message: 'git push' } });
    const e2 = await ingest({ event_type: `ci_${run}`.toLowerCase(), entity_type: 'Group', entity_path: sub1.full_path });
    const e3 = await ingest({ event_type: 'audit_operation', entity_type: 'Group', entity_id: sub2.id });

    const gotAll = await waitForRequests(paths.all, 3);
    expect(gotAll.map((r) => JSON.parse(r.body).id).sort()).toEqual([e1.id, e2.id, e3.id].map(String).sort());
    for (const req of gotAll) {
      expect(req.headers['x-siem-tenant']).toBe(run);
      expect(req.headers['x-gitlab-event-streaming-token']).toBe(all.token);
      expect(req.headers['x-gitlab-audit-event-type']).toBe(JSON.parse(req.body).event_type);
      expect(await verifyWithStandardWebhooks(all.secret, req)).toMatchObject({ ok: true });
    }
    const gitReqs = await waitForRequests(paths.git, 1);
    expect(gitReqs.map((r) => JSON.parse(r.body).event_type)).toEqual(['repository_git_operation']);
    expect(JSON.parse(gitReqs[0].body)).toMatchObject({ entity_type: 'Project', entity_id: project.id, entity_path: project.path_with_namespace });
    const sub2Reqs = await waitForRequests(paths.sub2, 1);
    expect(sub2Reqs.map((r) => JSON.parse(r.body).id)).toEqual([String(e3.id)]);

    // The flaky receiver fails twice; the third attempt (same webhook-id) succeeds.
    const flakyReqs = await waitForRequests(paths.flaky, 3, 20_000);
    expect(flakyReqs).toHaveLength(3);
    expect(new Set(flakyReqs.map((r) => r.headers['webhook-id']))).toEqual(new Set([`msg_${e2.id}_${flaky.id}`]));
    const d = await waitForDelivery(e2.id, flaky.id, 'delivered');
    expect(d).toMatchObject({ status: 'delivered', attempts: 3, last_http_status: 200 });
    expect((await attemptRows(d!.id)).map((a) => [a.attempt, a.status, a.http_status])).toEqual([
      [1, 'failed', 500], [2, 'failed', 500], [3, 'delivered', 200],
    ]);

    // Nothing sent to the inactive (paused) destination, whose events are kept pending; nothing beyond the filters.
    expect(await receivedRequests(paths.off)).toHaveLength(0);
    expect(await deliveryRow(e1.id, off.id)).toMatchObject({ status: 'pending', attempts: 0 });
    expect(await deliveryRow(e1.id, onlySub2.id)).toBeNull();
    expect(await deliveryRow(e2.id, git.id)).toBeNull();
    expect((await receivedRequests(paths.git)).length).toBe(1);
  });

  it('events of a user namespace reach no group destination', async () => {
    const top = await createGroup();
    const path = `/ok/${unique('userns')}`;
    const dest = await insertDestination({ namespaceId: top.id, url: `${receiverOrigin()}${path}` });
    const e = await ingest({ event_type: 'audit_operation', entity_type: 'User', entity_id: 1 });
    const groupEvent = await ingest({ event_type: 'audit_operation', entity_type: 'Group', entity_id: top.id });
    await waitForRequests(path, 1);
    expect((await receivedRequests(path)).map((r) => JSON.parse(r.body).id)).toEqual([String(groupEvent.id)]);
    expect(await deliveryRow(e.id, dest.id)).toBeNull();
  });
});
