// End-to-end: the API Worker and the consumer Worker started with `npm start`, delivering to an
// `aws` destination (s3rver behind a proxy that verifies each PUT's SigV4 signature on its own)
// and a `gcp` destination (a token endpoint verifying the RS256 assertion, a Logging receiver
// checking the bearer token and entries:write body), all on 127.0.0.1, through the three
// endpoint vars. The destinations are created with GitLab 18's consolidated mutation.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { api, must, startWorker, until } from './harness.mjs';
import { startCloudServers } from '../support/cloud-servers.mjs';

const CREATE = `mutation($i: GroupAuditEventStreamingDestinationsCreateInput!) { groupAuditEventStreamingDestinationsCreate(input: $i) { errors externalAuditEventDestination { id category } } }`;
const SEND = `mutation($i: AuditEventsStreamingDestinationSendTestEventInput!) { auditEventsStreamingDestinationSendTestEvent(input: $i) { errors delivery { eventId status } } }`;

describe('delivery to aws and gcp destinations from npm start', { concurrency: false }, () => {
  let worker, cloud;
  const s = Date.now().toString(36);
  let group, project, awsId, gcpId;
  const logIdName = `audit-events-e2e-${s}`;

  const gql = async (query, variables) => {
    const r = await api(worker.base, 'POST', '/api/graphql', { token: worker.adminToken, body: { query, variables } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  };
  const s3Puts = async () => (await fetch(`${cloud.config.s3Endpoint}/_s3/requests?bucket=${cloud.config.s3Bucket}`)).json();
  const entries = async () => (await fetch(`${cloud.config.gcpLoggingEndpoint}/_gcp/entries?logName=${encodeURIComponent(`projects/audit-events-test/logs/${logIdName}`)}`)).json();

  before(async () => {
    cloud = await startCloudServers();
    worker = await startWorker({
      vars: { AWS_S3_ENDPOINT: cloud.config.s3Endpoint, GCP_OAUTH_TOKEN_URL: cloud.config.gcpTokenUrl, GCP_LOGGING_ENDPOINT: cloud.config.gcpLoggingEndpoint },
    });
    group = await must(worker.base, 201, 'POST', '/api/v4/groups', { token: worker.adminToken, body: { name: `cloud-${s}`, path: `cloud-${s}` } });
    project = await must(worker.base, 201, 'POST', '/api/v4/projects', { token: worker.adminToken, body: { name: 'app', path: 'app', namespace_id: group.id } });
    const created = async (category, config, secretToken) => {
      const r = await gql(CREATE, { i: { groupPath: group.full_path, category, config, secretToken } });
      const payload = r.data.groupAuditEventStreamingDestinationsCreate;
      assert.deepEqual(payload.errors, [], JSON.stringify(r));
      assert.equal(payload.externalAuditEventDestination.category, category);
      return Number(payload.externalAuditEventDestination.id.split('/').pop());
    };
    awsId = await created('aws', { accessKeyXid: cloud.config.s3AccessKeyId, bucketName: cloud.config.s3Bucket, awsRegion: 'us-east-2' }, cloud.config.s3SecretAccessKey);
    gcpId = await created('gcp', { googleProjectIdName: 'audit-events-test', clientEmail: cloud.config.gcpClientEmail, logIdName }, cloud.config.gcpPrivateKey);
  });

  after(async () => {
    await worker?.stop();
    await cloud?.close();
  });

  it('a release event reaches the bucket as one signed object and the log as one entry, through the queue and the consumer', async () => {
    await must(worker.base, 201, 'POST', `/api/v4/projects/${project.id}/releases`, { token: worker.adminToken, body: { tag_name: 'v1.0', name: 'One' } });
    const put = await until(async () => (await s3Puts()).find((p) => /\/project\/\d{4}\/\d\d\/release_created_\d+_\d+\.json$/.test(p.path)), 'the S3 PUT', 60_000);
    assert.deepEqual(put.signature, { ok: true, accessKeyId: cloud.config.s3AccessKeyId, region: 'us-east-2', service: 's3' });
    assert.equal(put.status, 200);
    const object = await until(async () => {
      const res = await fetch(`${cloud.config.s3Endpoint}${put.path}`);
      return res.status === 200 ? res.json() : null;
    }, 'the stored object', 60_000);
    assert.equal(object.event_type, 'release_created');
    assert.equal(object.entity_type, 'Project');
    const key = put.path.split('/').slice(2).join('/');
    const at = new Date(object.created_at);
    assert.equal(key, `project/${at.getUTCFullYear()}/${String(at.getUTCMonth() + 1).padStart(2, '0')}/release_created_${object.id}_${at.getTime()}.json`);

    // The log also holds the destinations' own creation events: find the release's entry.
    const entry = await until(async () => (await entries()).find((e) => e.entry.jsonPayload.event_type === 'release_created'), 'the Logging entry', 60_000);
    assert.equal(entry.entry.logName, `projects/audit-events-test/logs/${logIdName}`);
    assert.deepEqual(entry.entry.resource, { type: 'global' });
    assert.deepEqual(entry.entry.jsonPayload, object);
    const tokens = await (await fetch(`${cloud.config.gcpLoggingEndpoint}/_gcp/tokens`)).json();
    assert.ok(tokens.length >= 1 && tokens.every((t) => t.ok), JSON.stringify(tokens));
  });

  it('a test event to each, by its consolidated GID, from the API Worker', async () => {
    for (const id of [awsId, gcpId]) {
      const r = await gql(SEND, { i: { destinationId: `gid://gitlab/AuditEvents::Group::ExternalStreamingDestination/${id}` } });
      assert.deepEqual(r.data.auditEventsStreamingDestinationSendTestEvent.errors, [], JSON.stringify(r));
      assert.equal(r.data.auditEventsStreamingDestinationSendTestEvent.delivery.status, 'DELIVERED');
    }
    assert.ok((await s3Puts()).some((p) => /\/group\/\d{4}\/\d\d\/streaming_destination_test_-\d+_\d+\.json$/.test(p.path) && p.signature.ok));
    assert.ok((await entries()).some((e) => e.entry.jsonPayload.event_type === 'streaming_destination_test'));
  });
});
