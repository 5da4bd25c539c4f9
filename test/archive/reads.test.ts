/**
 * One log to the reader (issue 19): every listing form over a group's events gives the same
 * output after part of the log moved to the archive as before, and a pending delivery whose
 * event moved is still delivered with the same payload and webhook-id.
 */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import type { ConsumerEnv } from '../../src/env';
import { ADMIN, addMember, api, call, createGroup, createProject, createUser, gql, unique } from '../support/api';
import { eventInput, groupEntityOf, insertEvents, projectEntityOf } from '../audit_log/support';
import { keysetWalk, offsetPages } from './listing_support';
import { insertDestination, insertEventQuietly, groupEntityOf as deliveryEntityOf } from '../delivery/support';
import { receivedRequests, receiverOrigin, verifyWithStandardWebhooks, waitForRequests } from '../support/receiver';
import { appendPendingLeaves } from '../../src/audit/log_builder';
import { moveNextChunk, type Eligible } from '../../src/audit/archive_move';
import { coldBoundary } from '../../src/db/audit_archive';
import { ensureDelivery } from '../../src/db/deliveries';
import { deliverJob } from '../../src/delivery/consumer';
import { KEYSET_CHUNKS } from '../../src/audit/listing';

/** Move every leaf up to event id `cut` (the prefix of the log), chunk by chunk. */
async function moveThrough(cut: number): Promise<void> {
  await appendPendingLeaves(env);
  const eligible: Eligible = (leaf) => leaf.event === null || (!leaf.inOutbox && leaf.event.id <= cut);
  while (await moveNextChunk(env, null, eligible));
  expect((await coldBoundary(env.DB)).lastId).toBeGreaterThanOrEqual(cut);
}


async function text(path: string, token: string): Promise<string> {
  const r = await call('GET', path, { token });
  expect(r.status).toBe(200);
  return r.text();
}

describe('reading the audit log hot and cold', () => {
  it('gives every listing form the same output after part of the log moved, and delivers a cold event', async () => {
    // A delivery to make after its event moved: the event, two destinations, pending deliveries.
    const g2 = await createGroup();
    const path = `/cold/${unique('d')}`;
    const d1 = await insertDestination({ namespaceId: g2.id, url: `${receiverOrigin()}${path}/1` });
    const d2 = await insertDestination({ namespaceId: g2.id, url: `${receiverOrigin()}${path}/2` });
    const coldEvent = await insertEventQuietly(deliveryEntityOf(g2));
    await ensureDelivery(env.DB, coldEvent.id, d1.id);
    await ensureDelivery(env.DB, coldEvent.id, d2.id);
    // A third destination whose delivery had failed: redelivered (GraphQL) after the move.
    const d3 = await insertDestination({ namespaceId: g2.id, url: `${receiverOrigin()}${path}/3` });
    await ensureDelivery(env.DB, coldEvent.id, d3.id);
    await env.DB.prepare("UPDATE deliveries SET status = 'failed' WHERE event_id = ?1 AND destination_id = ?2").bind(coldEvent.id, d3.id).run();
    const consumerEnv = env as unknown as ConsumerEnv;
    expect(await deliverJob(consumerEnv, { eventId: coldEvent.id, destinationId: d1.id })).toMatchObject({ action: 'ack', result: 'delivered' });
    const [hotReq] = await receivedRequests(`${path}/1`);
    expect(hotReq).toBeDefined();

    // The log: a group, its subgroup, a project in the subgroup; an owner, a developer, another author.
    const owner = await createUser();
    const dev = await createUser();
    const other = await createUser();
    const g = await createGroup({ token: owner.token });
    const sub = await createGroup({ token: owner.token, parentId: g.id });
    const project = await createProject(sub.id, { token: owner.token });
    await addMember('groups', g.id, dev.id, 30);
    const entities = [await groupEntityOf(g.id), await groupEntityOf(sub.id), await projectEntityOf(project.id)];
    const authors = [owner, dev, other].map((u) => ({ id: u.id, name: u.name }));
    const types = ['audit_operation', 'release_created', 'release_updated'];
    const base = Date.parse('2020-03-01T00:00:00.000Z');
    const N = 600;
    const ids = await insertEvents(
      Array.from({ length: N }, (_, i) =>
        eventInput(entities[i % 3], authors[(i >> 1) % 3], {
          eventType: i % 37 === 5 ? 'release_deleted_audit_event' : types[(i >> 2) % 3],
          // Mostly in order, every 31st dated five days back (late arrivals: chunks whose times overlap).
          createdAt: new Date(base + i * 3_600_000 - (i % 31 === 0 ? 5 * 86_400_000 : 0)).toISOString(),
          details: { custom_message: `event ${i}` },
        }),
      ),
    );

    const G = `/api/v4/groups/${g.id}/audit_events`;
    const window = `created_after=${new Date(base + 150 * 3_600_000).toISOString()}&created_before=${new Date(base + 420 * 3_600_000).toISOString()}`;
    const offsetForms: [string, string][] = [
      [`${G}?per_page=37`, owner.token],
      [`${G}?per_page=100`, owner.token],
      [`/api/v4/groups/${sub.id}/audit_events?per_page=45`, owner.token],
      [`/api/v4/projects/${project.id}/audit_events?per_page=30`, owner.token],
      [`/api/v4/audit_events?entity_type=Group&entity_id=${g.id}&per_page=40`, ADMIN],
      [`${G}?per_page=25&event_type=release_created`, owner.token],
      [`${G}?per_page=25&author_id=${other.id}`, owner.token],
      [`${G}?per_page=20&${window}`, owner.token],
      [`${G}?per_page=20&${window}&event_type=audit_operation&author_id=${owner.id}`, owner.token],
      [`${G}?per_page=33`, dev.token],
    ];
    const keysetForms: [string, string][] = [
      [`${G}?per_page=50&sort=desc`, owner.token],
      [`${G}?per_page=50&sort=asc`, owner.token],
      [`${G}?per_page=20&sort=desc&event_type=release_deleted_audit_event`, owner.token],
      [`${G}?per_page=20&sort=asc&event_type=release_deleted_audit_event`, owner.token],
      [`/api/v4/groups/${sub.id}/audit_events?per_page=40&sort=asc&${window}`, owner.token],
      [`/api/v4/projects/${project.id}/audit_events?per_page=25&sort=desc`, dev.token],
    ];
    const one = [ids[0], ids[100], ids[301], ids[302], ids[599], coldEvent.id];
    const oneForms = one.flatMap((id) => [
      [`${G}/${id}`, owner.token],
      [`/api/v4/projects/${project.id}/audit_events/${id}`, owner.token],
      [`/api/v4/audit_events/${id}`, ADMIN],
    ]) as [string, string][];
    const exportForms: [string, string][] = [
      [`/api/v4/audit_events.csv?entity_type=Group&entity_id=${g.id}`, ADMIN],
      [`/api/v4/audit_events.json?entity_type=Group&entity_id=${g.id}&sort=asc`, ADMIN],
    ];

    const read = async () => ({
      offset: await Promise.all(offsetForms.map(([p, t]) => offsetPages(p, t))),
      keyset: await Promise.all(keysetForms.map(([p, t]) => keysetWalk(p, t))),
      one: await Promise.all(oneForms.map(async ([p, t]) => {
        const r = await api('GET', p, { token: t });
        return { status: r.status, body: r.body };
      })),
      exports: await Promise.all(exportForms.map(([p, t]) => text(p, t))),
    });
    const before = await read();
    // The forms see the events (the comparison below is not between two empty listings).
    expect(Number((before.offset[0] as { headers: string[] }[])[0].headers[0])).toBeGreaterThanOrEqual(N);
    expect(before.one.filter((o) => o.status === 200)).toHaveLength(13);
    expect(before.exports[1].length).toBeGreaterThan(N * 100);

    // Move the log up to the 480th event, in 12 chunks of 40 of these events (the first one with everything older).
    for (let k = 40; k <= 480; k += 40) await moveThrough(ids[k - 1]);
    const hot = (await env.DB.prepare('SELECT COUNT(*) AS n FROM audit_events WHERE id IN (SELECT value FROM json_each(?1))').bind(JSON.stringify(ids)).first<{ n: number }>())!.n;
    expect(hot).toBe(N - 480);

    const after = await read();
    expect(after.offset).toEqual(before.offset);
    for (let i = 0; i < keysetForms.length; i++) expect(after.keyset[i].events, keysetForms[i][0]).toEqual(before.keyset[i].events);
    expect(after.one).toEqual(before.one);
    expect(after.exports).toEqual(before.exports);
    // The rare type has a match in each of the 12 chunks: a desc page reads at most KEYSET_CHUNKS of them, stays short and links on.
    const rare = after.keyset[2].sizes;
    expect(rare.some((n, i) => n < 20 && i < rare.length - 1)).toBe(true);
    expect(KEYSET_CHUNKS).toBeLessThan(12);

    // A cold page of 100 events through the REST API.
    const times: number[] = [];
    for (let i = 0; i <= 50; i++) {
      const t0 = performance.now();
      const r = await call('GET', `${G}?per_page=100&page=4`, { token: owner.token });
      expect(((await r.json()) as unknown[]).length).toBe(100);
      times.push(performance.now() - t0);
    }
    // The first request decodes its chunks; the 50 after it find them in the isolate's cache.
    const first = times.shift()!;
    times.sort((a, b) => a - b);
    const p50 = times[24];
    const p99 = times[49];
    console.log(`cold page of 100 events (REST): first ${first.toFixed(1)} ms; then 50 requests p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`);
    expect(p99).toBeLessThan(1000);

    // The pending delivery of the moved event: same payload, its webhook-id, a valid signature.
    expect(await env.DB.prepare('SELECT id FROM audit_events WHERE id = ?1').bind(coldEvent.id).first()).toBeNull();
    expect(await deliverJob(consumerEnv, { eventId: coldEvent.id, destinationId: d2.id })).toMatchObject({ action: 'ack', result: 'delivered' });
    const [coldReq] = await receivedRequests(`${path}/2`);
    expect(coldReq.body).toBe(hotReq.body);
    expect(coldReq.headers['webhook-id']).toBe(`msg_${coldEvent.id}_${d2.id}`);
    expect(coldReq.headers['x-gitlab-audit-event-type']).toBe(hotReq.headers['x-gitlab-audit-event-type']);
    expect((await verifyWithStandardWebhooks(d2.secret, coldReq)).ok).toBe(true);

    // The failed one, redelivered: its event type is read from the archive, and the consumer delivers it.
    const redelivered = await gql(
      `mutation($d: ID!, $e: ID!) { auditEventsStreamingDeliveryRedeliver(input: { destinationId: $d, eventId: $e }) { errors delivery { status eventType webhookId } } }`,
      { d: `gid://gitlab/AuditEvents::ExternalAuditEventDestination/${d3.id}`, e: String(coldEvent.id) },
    );
    expect(redelivered.body.data.auditEventsStreamingDeliveryRedeliver).toEqual({
      errors: [],
      delivery: { status: 'PENDING', eventType: 'audit_operation', webhookId: `msg_${coldEvent.id}_${d3.id}` },
    });
    const [again] = await waitForRequests(`${path}/3`, 1);
    expect(again?.body).toBe(hotReq.body);

    // The delivery log names the moved event's type (read from the archive).
    const log = await gql(`query($g: ID!) { group(fullPath: $g) { externalAuditEventDestinations { nodes { id deliveries { nodes { eventId eventType } } } } } }`, { g: g2.full_path });
    const logged = log.body.data.group.externalAuditEventDestinations.nodes.flatMap((n: { deliveries: { nodes: unknown[] } }) => n.deliveries.nodes);
    expect(logged.filter((d: { eventId: string }) => d.eventId === String(coldEvent.id))).toEqual([
      { eventId: String(coldEvent.id), eventType: 'audit_operation' },
      { eventId: String(coldEvent.id), eventType: 'audit_operation' },
    ]);
  });
});
