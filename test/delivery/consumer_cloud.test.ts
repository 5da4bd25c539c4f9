/**
 * Delivery to `aws` (S3) and `gcp` (Cloud Logging) destinations, against real local servers the
 * tests start (test/support/cloud-servers.mjs): s3rver behind a proxy that verifies each PUT's
 * SigV4 signature with its own node:crypto implementation, and a token endpoint that verifies
 * the service account's RS256 assertion plus a Logging receiver that checks the bearer token and
 * the entries:write body. Retries, failure classes and the delivery log work as for HTTP.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import type { ConsumerEnv } from '../../src/env';
import { deliverJob } from '../../src/delivery/consumer';
import { s3EntityTypeSegment, s3ObjectKey, s3ObjectUrl } from '../../src/delivery/s3';
import { clearGcpTokenCache, gcpLogName } from '../../src/delivery/gcp';
import { streamingPayload } from '../../src/audit/record';
import { createGroup } from '../support/api';
import { attemptRows, deliveryRow, groupEntityOf, insertEventQuietly } from './support';
import {
  awsConfig, cloud, cloudEnv, failNext, gcpConfig, gcpEntries, gcpTokenRequests, insertCloudDestination, s3Puts,
} from '../support/cloud';

async function groupEvent() {
  const group = await createGroup();
  const event = await insertEventQuietly(groupEntityOf(group));
  return { group, event };
}

/** The key GitLab's layout gives, computed here from the event's created_at. */
function expectedKey(event: { id: number; eventType: string; createdAt: string }, entity = 'group'): string {
  const at = new Date(event.createdAt);
  const mm = String(at.getUTCMonth() + 1).padStart(2, '0');
  return `${entity}/${at.getUTCFullYear()}/${mm}/${event.eventType}_${event.id}_${at.getTime()}.json`;
}

describe('aws destinations: one S3 object per event', () => {
  it('PUTs the event JSON at GitLab key layout, signed with SigV4 (verified independently), and logs the attempt', async () => {
    const { group, event } = await groupEvent();
    const dest = await insertCloudDestination(group.id, 'aws', awsConfig(), cloud().s3SecretAccessKey);
    const outcome = await deliverJob(cloudEnv(), { eventId: event.id, destinationId: dest.id });
    expect(outcome).toEqual({ action: 'ack', result: 'delivered' });

    const key = expectedKey(event);
    expect(s3ObjectKey(event)).toBe(key);
    const puts = (await s3Puts()).filter((p) => p.path === `/${cloud().s3Bucket}/${key}`);
    expect(puts).toHaveLength(1);
    expect(puts[0].signature).toEqual({ ok: true, accessKeyId: cloud().s3AccessKeyId, region: 'eu-west-1', service: 's3' });
    expect(puts[0].contentType).toBe('application/json');
    expect(puts[0].status).toBe(200);
    const stored = await fetch(`${cloud().s3Endpoint}/${cloud().s3Bucket}/${key}`);
    expect(stored.status).toBe(200);
    expect(await stored.json()).toEqual(streamingPayload(event));

    expect(await deliveryRow(event.id, dest.id)).toMatchObject({ status: 'delivered', attempts: 1, last_http_status: 200 });
    const [attempt] = await attemptRows((await deliveryRow(event.id, dest.id))!.id);
    expect(attempt).toMatchObject({ status: 'delivered', http_status: 200, error_class: null });
  });

  it('names the entity type segment as GitLab does (instance, user, lower case with non-alphanumerics as _)', () => {
    expect(s3EntityTypeSegment('Gitlab::Audit::InstanceScope')).toBe('instance');
    expect(s3EntityTypeSegment('Namespaces::UserNamespace')).toBe('user');
    expect(s3EntityTypeSegment('Group')).toBe('group');
    expect(s3EntityTypeSegment('Project')).toBe('project');
    expect(s3EntityTypeSegment('Ci::Runner Thing')).toBe('ci_runner_thing');
    const event = { id: 42, entityType: 'Gitlab::Audit::InstanceScope', eventType: 'user_created', createdAt: '2026-01-05T10:00:00.123Z' };
    expect(s3ObjectKey(event)).toBe(`instance/2026/01/user_created_42_${Date.parse('2026-01-05T10:00:00.123Z')}.json`);
    // Production: the region's virtual-hosted endpoint; AWS_S3_ENDPOINT: path style.
    const config = { bucketName: 'my-bucket', awsRegion: 'eu-central-1' };
    expect(s3ObjectUrl(undefined, config, 'group/2026/01/x_1_2.json')).toBe('https://my-bucket.s3.eu-central-1.amazonaws.com/group/2026/01/x_1_2.json');
    expect(s3ObjectUrl('http://127.0.0.1:9000/', config, 'group/2026/01/x_1_2.json')).toBe('http://127.0.0.1:9000/my-bucket/group/2026/01/x_1_2.json');
  });

  it('retries a 5xx on the schedule and the retry overwrites the same object (the key comes from created_at)', async () => {
    const { group, event } = await groupEvent();
    const dest = await insertCloudDestination(group.id, 'aws', awsConfig(), cloud().s3SecretAccessKey);
    await failNext({ s3Match: `_${event.id}_` }, 503);
    const first = await deliverJob(cloudEnv(), { eventId: event.id, destinationId: dest.id });
    expect(first).toMatchObject({ action: 'retry', result: 'failed' });
    const row = await deliveryRow(event.id, dest.id);
    expect(row).toMatchObject({ status: 'pending', attempts: 1, last_http_status: 503 });
    const [failed] = await attemptRows(row!.id);
    expect(failed).toMatchObject({ status: 'failed', http_status: 503, error_class: 'http_5xx' });
    expect(failed.response_excerpt).toContain('SlowDown');
    // The next attempt, when it is due.
    await env.DB.prepare('UPDATE deliveries SET next_retry_at = NULL WHERE id = ?1').bind(row!.id).run();
    expect(await deliverJob(cloudEnv(), { eventId: event.id, destinationId: dest.id })).toEqual({ action: 'ack', result: 'delivered' });
    const puts = (await s3Puts()).filter((p) => p.path.includes(`_${event.id}_`));
    expect(puts.map((p) => p.path)).toEqual([`/${cloud().s3Bucket}/${expectedKey(event)}`, `/${cloud().s3Bucket}/${expectedKey(event)}`]);
  });

  it('a wrong secret access key: S3 answers 403 SignatureDoesNotMatch, logged as a failed attempt', async () => {
    const { group, event } = await groupEvent();
    const dest = await insertCloudDestination(group.id, 'aws', awsConfig(), 'not-the-secret-access-key');
    const outcome = await deliverJob(cloudEnv(), { eventId: event.id, destinationId: dest.id });
    expect(outcome).toMatchObject({ action: 'retry', result: 'failed' });
    const row = await deliveryRow(event.id, dest.id);
    expect(row).toMatchObject({ status: 'pending', last_http_status: 403, last_error: 'HTTP 403' });
    const [attempt] = await attemptRows(row!.id);
    expect(attempt).toMatchObject({ status: 'failed', http_status: 403, error_class: 'http_4xx' });
    expect(attempt.response_excerpt).toContain('SignatureDoesNotMatch');
    const [put] = (await s3Puts()).filter((p) => p.path.includes(`_${event.id}_`));
    expect(put.signature).toMatchObject({ ok: false, error: 'SignatureDoesNotMatch' });
  });

  it('the loopback-only rule applies to the S3 endpoint: without AWS_S3_ENDPOINT the attempt is blocked, no request', async () => {
    const { group, event } = await groupEvent();
    const dest = await insertCloudDestination(group.id, 'aws', awsConfig(), cloud().s3SecretAccessKey);
    const outcome = await deliverJob(env as unknown as ConsumerEnv, { eventId: event.id, destinationId: dest.id });
    expect(outcome).toEqual({ action: 'ack', result: 'failed' });
    const row = await deliveryRow(event.id, dest.id);
    expect(row).toMatchObject({ status: 'failed', last_error: 'Destination url is blocked: DELIVERY_LOOPBACK_ONLY allows loopback addresses only' });
    expect((await attemptRows(row!.id))[0]).toMatchObject({ status: 'failed', http_status: null, error_class: 'url_blocked' });
    expect((await s3Puts()).filter((p) => p.path.includes(`_${event.id}_`))).toEqual([]);
  });

  it('an unusable config (bucket name S3 refuses) fails at once as config_invalid, without a request or retries', async () => {
    const { group, event } = await groupEvent();
    const dest = await insertCloudDestination(group.id, 'aws', { ...awsConfig(), bucketName: 'Bad_Bucket' }, cloud().s3SecretAccessKey);
    expect(await deliverJob(cloudEnv(), { eventId: event.id, destinationId: dest.id })).toEqual({ action: 'ack', result: 'failed' });
    const row = await deliveryRow(event.id, dest.id);
    expect(row).toMatchObject({ status: 'failed', last_error: 'The aws destination has no valid bucketName' });
    expect((await attemptRows(row!.id))[0]).toMatchObject({ error_class: 'config_invalid' });
  });
});

describe('gcp destinations: Cloud Logging entries:write with a service-account token', () => {
  beforeEach(() => clearGcpTokenCache());

  it('writes GitLab entry shape to projects/<project>/logs/<log>, with a token from a verified RS256 assertion, cached', async () => {
    const { group, event } = await groupEvent();
    const config = gcpConfig();
    const dest = await insertCloudDestination(group.id, 'gcp', config, cloud().gcpPrivateKey);
    const tokensBefore = (await gcpTokenRequests()).length;
    expect(await deliverJob(cloudEnv(), { eventId: event.id, destinationId: dest.id })).toEqual({ action: 'ack', result: 'delivered' });
    const logName = `projects/audit-events-test/logs/${config.logIdName}`;
    expect(gcpLogName(config)).toBe(logName);
    const written = await gcpEntries(logName);
    expect(written).toHaveLength(1);
    expect(written[0].entry).toEqual({ logName, resource: { type: 'global' }, severity: 'INFO', jsonPayload: streamingPayload(event) });
    const tokens = (await gcpTokenRequests()).slice(tokensBefore);
    expect(tokens).toEqual([{ clientEmail: cloud().gcpClientEmail, ok: true, error: null }]);

    // A second event: the cached token is used, no second token request.
    const second = await insertEventQuietly(groupEntityOf(group));
    expect(await deliverJob(cloudEnv(), { eventId: second.id, destinationId: dest.id })).toEqual({ action: 'ack', result: 'delivered' });
    expect((await gcpTokenRequests()).length).toBe(tokensBefore + 1);
    const both = await gcpEntries(logName);
    expect(both.map((w) => w.entry.jsonPayload.id)).toEqual([String(event.id), String(second.id)]);
    expect(both[1].token).toBe(both[0].token);
    expect((await attemptRows((await deliveryRow(second.id, dest.id))!.id))[0]).toMatchObject({ status: 'delivered', http_status: 200 });
  });

  it('Logging 5xx is retried on the schedule; 403 is logged as a failed attempt', async () => {
    const { group, event } = await groupEvent();
    const config = gcpConfig();
    const logName = `projects/audit-events-test/logs/${config.logIdName}`;
    const dest = await insertCloudDestination(group.id, 'gcp', config, cloud().gcpPrivateKey);
    await failNext({ logName }, 503);
    expect(await deliverJob(cloudEnv(), { eventId: event.id, destinationId: dest.id })).toMatchObject({ action: 'retry', result: 'failed' });
    const row = await deliveryRow(event.id, dest.id);
    expect((await attemptRows(row!.id))[0]).toMatchObject({ status: 'failed', http_status: 503, error_class: 'http_5xx' });
    await env.DB.prepare('UPDATE deliveries SET next_retry_at = NULL WHERE id = ?1').bind(row!.id).run();
    expect(await deliverJob(cloudEnv(), { eventId: event.id, destinationId: dest.id })).toEqual({ action: 'ack', result: 'delivered' });

    const denied = await insertEventQuietly(groupEntityOf(group));
    await failNext({ logName }, 403);
    expect(await deliverJob(cloudEnv(), { eventId: denied.id, destinationId: dest.id })).toMatchObject({ action: 'retry', result: 'failed' });
    const deniedRow = await deliveryRow(denied.id, dest.id);
    expect(deniedRow).toMatchObject({ status: 'pending', last_http_status: 403, last_error: 'HTTP 403' });
    const [attempt] = await attemptRows(deniedRow!.id);
    expect(attempt).toMatchObject({ status: 'failed', http_status: 403, error_class: 'http_4xx' });
    expect(attempt.response_excerpt).toContain('PERMISSION_DENIED');
  });

  it('a key the service account does not have: the token endpoint refuses the assertion (400), a failed attempt', async () => {
    const { group, event } = await groupEvent();
    const config = gcpConfig();
    const dest = await insertCloudDestination(group.id, 'gcp', config, cloud().gcpStrangerPrivateKey);
    const before = (await gcpTokenRequests()).length;
    expect(await deliverJob(cloudEnv(), { eventId: event.id, destinationId: dest.id })).toMatchObject({ action: 'retry', result: 'failed' });
    expect((await gcpTokenRequests()).slice(before)).toEqual([{ clientEmail: cloud().gcpClientEmail, ok: false, error: 'invalid signature' }]);
    const row = await deliveryRow(event.id, dest.id);
    expect(row).toMatchObject({ status: 'pending', last_http_status: 400, last_error: 'OAuth token request: HTTP 400' });
    const [attempt] = await attemptRows(row!.id);
    expect(attempt).toMatchObject({ status: 'failed', http_status: 400, error_class: 'http_4xx' });
    expect(attempt.response_excerpt).toContain('invalid_grant');
    expect(await gcpEntries(`projects/audit-events-test/logs/${config.logIdName}`)).toEqual([]);
  });

  it('a token endpoint 5xx is retried; an unreadable private key fails at once as config_invalid', async () => {
    const { group, event } = await groupEvent();
    const dest = await insertCloudDestination(group.id, 'gcp', gcpConfig(), cloud().gcpPrivateKey);
    await failNext({ token: true }, 503);
    expect(await deliverJob(cloudEnv(), { eventId: event.id, destinationId: dest.id })).toMatchObject({ action: 'retry', result: 'failed' });
    expect((await attemptRows((await deliveryRow(event.id, dest.id))!.id))[0]).toMatchObject({ http_status: 503, error_class: 'http_5xx' });

    const broken = await insertCloudDestination(group.id, 'gcp', gcpConfig(), '-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----');
    expect(await deliverJob(cloudEnv(), { eventId: event.id, destinationId: broken.id })).toEqual({ action: 'ack', result: 'failed' });
    const row = await deliveryRow(event.id, broken.id);
    expect(row).toMatchObject({ status: 'failed', last_error: 'The gcp destination private key is not a valid PKCS#8 PEM RSA key' });
    expect((await attemptRows(row!.id))[0]).toMatchObject({ error_class: 'config_invalid', http_status: null });
  });

  it('the loopback-only rule applies to the Google endpoints: without the vars the attempt is blocked', async () => {
    const { group, event } = await groupEvent();
    const dest = await insertCloudDestination(group.id, 'gcp', gcpConfig(), cloud().gcpPrivateKey);
    const before = (await gcpTokenRequests()).length;
    expect(await deliverJob(env as unknown as ConsumerEnv, { eventId: event.id, destinationId: dest.id })).toEqual({ action: 'ack', result: 'failed' });
    expect((await attemptRows((await deliveryRow(event.id, dest.id))!.id))[0]).toMatchObject({ error_class: 'url_blocked' });
    expect((await gcpTokenRequests()).length).toBe(before);
  });
});
