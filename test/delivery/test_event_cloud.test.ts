/**
 * The test event (`auditEventsStreamingDestinationSendTestEvent`) for every category and scope,
 * by legacy and consolidated GIDs, and `health` of both legacy destination types.
 */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import type { ConsumerEnv } from '../../src/env';
import { deliverJob } from '../../src/delivery/consumer';
import { sendTestEvent, TEST_EVENT_TYPE } from '../../src/delivery/test_event';
import { findDestination } from '../../src/db/destinations';
import { deadLetterDelivery } from '../../src/db/deliveries';
import { s3ObjectKey } from '../../src/delivery/s3';
import { clearGcpTokenCache } from '../../src/delivery/gcp';
import { addMember, createGroup, createUser, gql, unique } from '../support/api';
import { receivedRequests, receiverOrigin, verifyWithStandardWebhooks } from '../support/receiver';
import { groupEntityOf, insertDestination, insertEventQuietly } from './support';
import { awsConfig, cloud, cloudEnv, gcpConfig, gcpEntries, insertCloudDestination, s3Puts } from '../support/cloud';

const SEND = `mutation($i: AuditEventsStreamingDestinationSendTestEventInput!) {
  auditEventsStreamingDestinationSendTestEvent(input: $i) {
    errors delivery { eventId eventType status attemptsCount lastHttpStatus lastError attempts { status httpStatus errorClass } }
  } }`;
const LEGACY_GROUP = 'gid://gitlab/AuditEvents::ExternalAuditEventDestination';
const LEGACY_INSTANCE = 'gid://gitlab/AuditEvents::InstanceExternalAuditEventDestination';
const GROUP = 'gid://gitlab/AuditEvents::Group::ExternalStreamingDestination';
const INSTANCE = 'gid://gitlab/AuditEvents::Instance::ExternalStreamingDestination';

async function send(destinationId: string, token?: string) {
  const r = await gql(SEND, { i: { destinationId } }, token);
  expect(r.status).toBe(200);
  return r.body;
}

async function auditEventsOfTestType(): Promise<number> {
  const row = await env.DB.prepare('SELECT count(*) AS n FROM audit_events WHERE event_type = ?1').bind(TEST_EVENT_TYPE).first<{ n: number }>();
  return row!.n;
}

describe('auditEventsStreamingDestinationSendTestEvent', () => {
  it('sends a signed test event to an http group destination now, logs its delivery, writes no audit event', async () => {
    const group = await createGroup();
    const path = `/ok/${unique('test-event')}`;
    const dest = await insertDestination({ namespaceId: group.id, url: `${receiverOrigin()}${path}`, headers: { 'X-Team': 'sec' } });
    const before = await auditEventsOfTestType();
    const body = await send(`${LEGACY_GROUP}/${dest.id}`);
    expect(body.errors).toBeUndefined();
    const payload = body.data.auditEventsStreamingDestinationSendTestEvent;
    expect(payload.errors).toEqual([]);
    expect(payload.delivery).toMatchObject({ eventType: TEST_EVENT_TYPE, status: 'DELIVERED', attemptsCount: 1, lastHttpStatus: 200 });
    expect(Number(payload.delivery.eventId)).toBeLessThan(0);
    expect(payload.delivery.attempts).toEqual([{ status: 'DELIVERED', httpStatus: 200, errorClass: null }]);

    const [req] = await receivedRequests(path);
    expect(req.headers['x-gitlab-audit-event-type']).toBe(TEST_EVENT_TYPE);
    expect(req.headers['x-gitlab-event-streaming-token']).toBe(dest.token);
    expect(req.headers['x-team']).toBe('sec');
    expect(await verifyWithStandardWebhooks(dest.secret, req)).toMatchObject({ ok: true });
    expect(JSON.parse(req.body)).toMatchObject({ id: payload.delivery.eventId, event_type: TEST_EVENT_TYPE, entity_type: 'Group', entity_id: group.id, entity_path: group.full_path, author_id: 1 });
    expect(await auditEventsOfTestType()).toBe(before);

    // In the delivery log, with its event type.
    const log = await gql(`query($p: ID!) { group(fullPath: $p) { externalAuditEventDestinations { nodes { id deliveries { nodes { eventId eventType status } } } } } }`, { p: group.full_path });
    const node = log.body.data.group.externalAuditEventDestinations.nodes.find((n: any) => n.id === `${LEGACY_GROUP}/${dest.id}`);
    expect(node.deliveries.nodes).toEqual([{ eventId: payload.delivery.eventId, eventType: TEST_EVENT_TYPE, status: 'DELIVERED' }]);
  });

  it('accepts the consolidated GIDs (group and instance) and the legacy instance GID; each send is a delivery of its own', async () => {
    const group = await createGroup();
    const path = `/ok/${unique('test-event-gid')}`;
    const dest = await insertDestination({ namespaceId: group.id, url: `${receiverOrigin()}${path}` });
    const first = (await send(`${GROUP}/${dest.id}`)).data.auditEventsStreamingDestinationSendTestEvent;
    const second = (await send(`${GROUP}/${dest.id}`)).data.auditEventsStreamingDestinationSendTestEvent;
    expect([first.delivery.status, second.delivery.status]).toEqual(['DELIVERED', 'DELIVERED']);
    expect(Number(second.delivery.eventId)).toBeLessThan(Number(first.delivery.eventId));
    expect((await receivedRequests(path)).map((r) => JSON.parse(r.body).id)).toEqual([first.delivery.eventId, second.delivery.eventId]);

    const ipath = `/ok/${unique('test-event-instance')}`;
    const instance = await insertDestination({ namespaceId: null, url: `${receiverOrigin()}${ipath}` });
    for (const gid of [`${LEGACY_INSTANCE}/${instance.id}`, `${INSTANCE}/${instance.id}`]) {
      const r = (await send(gid)).data.auditEventsStreamingDestinationSendTestEvent;
      expect(r).toMatchObject({ errors: [], delivery: { status: 'DELIVERED', eventType: TEST_EVENT_TYPE } });
    }
    const sent = (await receivedRequests(ipath)).map((r) => JSON.parse(r.body));
    expect(sent.map((p) => [p.entity_type, p.entity_path])).toEqual([
      ['Gitlab::Audit::InstanceScope', 'gitlab_instance'],
      ['Gitlab::Audit::InstanceScope', 'gitlab_instance'],
    ]);
    // A group GID does not name an instance destination (nor the other way round).
    expect((await send(`${GROUP}/${instance.id}`)).errors?.[0].message).toMatch(/does not exist or you don't have permission/);
    expect((await send(`${INSTANCE}/${dest.id}`)).errors?.[0].message).toMatch(/does not exist or you don't have permission/);
  });

  it('a refusal is reported as errors-as-data with the failed delivery, not retried, and the breaker is left alone', async () => {
    const group = await createGroup();
    const dest = await insertDestination({ namespaceId: group.id, url: `${receiverOrigin()}/status/503/${unique('te')}` });
    const r = (await send(`${LEGACY_GROUP}/${dest.id}`)).data.auditEventsStreamingDestinationSendTestEvent;
    expect(r.errors).toEqual(['The test event was not delivered: HTTP 503']);
    expect(r.delivery).toMatchObject({ status: 'FAILED', attemptsCount: 1, lastHttpStatus: 503, lastError: 'HTTP 503' });
    expect(r.delivery.attempts).toEqual([{ status: 'FAILED', httpStatus: 503, errorClass: 'http_5xx' }]);
    const row = await env.DB.prepare('SELECT consecutive_failures FROM streaming_destinations WHERE id = ?1').bind(dest.id).first<{ consecutive_failures: number }>();
    expect(row!.consecutive_failures).toBe(0);
  });

  it('aws and gcp destinations: the API Worker has no endpoint vars under DELIVERY_LOOPBACK_ONLY, so the production endpoints are blocked', async () => {
    const group = await createGroup();
    const aws = await insertCloudDestination(group.id, 'aws', awsConfig(), cloud().s3SecretAccessKey);
    const gcp = await insertCloudDestination(group.id, 'gcp', gcpConfig(), cloud().gcpPrivateKey);
    for (const gid of [`${GROUP}/${aws.id}`, `${GROUP}/${gcp.id}`]) {
      const r = (await send(gid)).data.auditEventsStreamingDestinationSendTestEvent;
      expect(r.errors).toEqual(['The test event was not delivered: Destination url is blocked: DELIVERY_LOOPBACK_ONLY allows loopback addresses only']);
      expect(r.delivery.attempts).toEqual([{ status: 'FAILED', httpStatus: null, errorClass: 'url_blocked' }]);
    }
  });

  it('a cloud destination is named by its consolidated GID only (the legacy API shows http destinations only), for the test event and for redelivery', async () => {
    const group = await createGroup();
    const aws = await insertCloudDestination(group.id, 'aws', awsConfig(), cloud().s3SecretAccessKey);
    const legacy = await send(`gid://gitlab/AuditEvents::ExternalAuditEventDestination/${aws.id}`);
    expect(legacy.errors?.[0]?.message).toMatch(/does not exist or you don't have permission/);
    const redeliver = `mutation($i: AuditEventsStreamingDeliveriesRedeliverFailedInput!) { auditEventsStreamingDeliveriesRedeliverFailed(input: $i) { errors redeliveredCount } }`;
    const byConsolidated = await gql(redeliver, { i: { destinationId: `${GROUP}/${aws.id}`, since: '2020-01-01T00:00:00Z' } });
    expect(byConsolidated.body.errors).toBeUndefined();
    expect(byConsolidated.body.data.auditEventsStreamingDeliveriesRedeliverFailed).toEqual({ errors: [], redeliveredCount: 0 });
    const byLegacy = await gql(redeliver, { i: { destinationId: `gid://gitlab/AuditEvents::ExternalAuditEventDestination/${aws.id}`, since: '2020-01-01T00:00:00Z' } });
    expect(byLegacy.body.errors?.[0]?.message).toMatch(/does not exist or you don't have permission/);
  });

  it('aws and gcp destinations with the local endpoints: the object lands at its key, the entry in its log', async () => {
    clearGcpTokenCache();
    const group = await createGroup();
    const aws = await insertCloudDestination(group.id, 'aws', awsConfig(), cloud().s3SecretAccessKey);
    const config = gcpConfig();
    const gcp = await insertCloudDestination(group.id, 'gcp', config, cloud().gcpPrivateKey);
    const author = { id: 1, name: 'Administrator' };
    const ns = { id: group.id, fullPath: group.full_path };

    const s3 = await sendTestEvent(cloudEnv(), (await findDestination(env.DB, 'group', aws.id))!, ns, author);
    expect(s3).toMatchObject({ status: 'delivered', attempts: 1, lastHttpStatus: 200 });
    const key = s3ObjectKey({ id: s3.eventId, entityType: 'Group', eventType: TEST_EVENT_TYPE, createdAt: s3.createdAt });
    expect(key).toMatch(new RegExp(`^group/\\d{4}/\\d\\d/streaming_destination_test_${s3.eventId}_\\d+\\.json$`));
    const [put] = (await s3Puts()).filter((p) => p.path === `/${cloud().s3Bucket}/${key}`);
    expect(put.signature.ok).toBe(true);
    const object = await (await fetch(`${cloud().s3Endpoint}/${cloud().s3Bucket}/${key}`)).json<Record<string, unknown>>();
    expect(object).toMatchObject({ id: String(s3.eventId), event_type: TEST_EVENT_TYPE, entity_path: group.full_path });

    const logged = await sendTestEvent(cloudEnv(), (await findDestination(env.DB, 'group', gcp.id))!, ns, author);
    expect(logged).toMatchObject({ status: 'delivered', lastHttpStatus: 200 });
    const [entry] = await gcpEntries(`projects/audit-events-test/logs/${config.logIdName}`);
    expect(entry.entry.jsonPayload).toMatchObject({ id: String(logged.eventId), event_type: TEST_EVENT_TYPE });
  });

  it('is for Owners of the top-level group and administrators only; unknown or malformed GIDs are not available', async () => {
    const group = await createGroup();
    const dest = await insertDestination({ namespaceId: group.id, url: `${receiverOrigin()}/ok/${unique('te-authz')}` });
    const maintainer = await createUser();
    await addMember('groups', group.id, maintainer.id, 40);
    const owner = await createUser();
    await addMember('groups', group.id, owner.id, 50);
    const denied = await send(`${LEGACY_GROUP}/${dest.id}`, maintainer.token);
    expect(denied.errors.map((e: { message: string }) => e.message)).toEqual([
      "The resource that you are attempting to access does not exist or you don't have permission to perform this action",
    ]);
    expect((await send(`${LEGACY_GROUP}/${dest.id}`, owner.token)).data.auditEventsStreamingDestinationSendTestEvent.errors).toEqual([]);
    for (const gid of ['gid://gitlab/AuditEvents::ExternalAuditEventDestination/999999999', 'gid://gitlab/Project/1', 'not-a-gid', `${LEGACY_GROUP}/0`]) {
      expect((await send(gid)).errors?.[0].message).toMatch(/does not exist or you don't have permission/);
    }
  });
});

describe('health of a destination', () => {
  const HEALTH = 'health { lastSuccessAt lastFailureAt lastFailureReason consecutiveFailures breakerOpenUntil pending deadLettered }';

  it('shows the last success and failure, the breaker and the pending and dead-lettered counts', async () => {
    const group = await createGroup();
    const sw = unique('health');
    const dest = await insertDestination({ namespaceId: group.id, url: `${receiverOrigin()}/switch/${sw}/x` });
    const query = `query($p: ID!) { group(fullPath: $p) { externalAuditEventDestinations { nodes { id ${HEALTH} } } } }`;
    const read = async () =>
      (await gql(query, { p: group.full_path })).body.data.group.externalAuditEventDestinations.nodes.find((n: any) => n.id === `${LEGACY_GROUP}/${dest.id}`).health;

    expect(await read()).toEqual({ lastSuccessAt: null, lastFailureAt: null, lastFailureReason: null, consecutiveFailures: 0, breakerOpenUntil: null, pending: 0, deadLettered: 0 });

    const ok = await insertEventQuietly(groupEntityOf(group));
    expect(await deliverJob(env as unknown as ConsumerEnv, { eventId: ok.id, destinationId: dest.id })).toMatchObject({ result: 'delivered' });
    await fetch(`${receiverOrigin()}/_switch?name=${sw}&down=1`, { method: 'POST' });
    const bad = await insertEventQuietly(groupEntityOf(group));
    expect(await deliverJob(env as unknown as ConsumerEnv, { eventId: bad.id, destinationId: dest.id })).toMatchObject({ action: 'retry' });
    const gone = await insertEventQuietly(groupEntityOf(group));
    await deliverJob(env as unknown as ConsumerEnv, { eventId: gone.id, destinationId: dest.id });
    await deadLetterDelivery(env.DB, gone.id, dest.id, 'Gave up: test');
    const until = new Date(Date.now() + 600_000).toISOString();
    await env.DB.prepare('UPDATE streaming_destinations SET breaker_open_until = ?2 WHERE id = ?1').bind(dest.id, until).run();

    const h = await read();
    expect(Date.parse(h.lastSuccessAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(Date.parse(h.lastFailureAt)).toBeGreaterThanOrEqual(Date.parse(h.lastSuccessAt));
    expect(h.lastFailureReason).toBe('Gave up: test');
    expect(h).toMatchObject({ consecutiveFailures: 2, breakerOpenUntil: until, pending: 1, deadLettered: 1 });
  });

  it('is on instance destinations too (administrators), and hidden from anyone else', async () => {
    const dest = await insertDestination({ namespaceId: null, url: `${receiverOrigin()}/ok/${unique('ihealth')}` });
    const query = `{ instanceExternalAuditEventDestinations { nodes { id ${HEALTH} } } }`;
    const r = await gql(query);
    const node = r.body.data.instanceExternalAuditEventDestinations.nodes.find((n: any) => n.id === `${LEGACY_INSTANCE}/${dest.id}`);
    expect(node.health).toMatchObject({ consecutiveFailures: 0, pending: 0, deadLettered: 0, breakerOpenUntil: null });
    const user = await createUser();
    expect((await gql(query, undefined, user.token)).body.errors?.[0].message).toMatch(/does not exist or you don't have permission/);
  });
});
