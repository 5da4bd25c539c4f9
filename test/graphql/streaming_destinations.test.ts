/**
 * GitLab 18's consolidated streaming API (issue 16 §1): group destinations of every category,
 * one store with the legacy API, GitLab's validations and error texts (errors as data), the
 * limits counting both APIs, and the audit events of each change.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { addMember, createGroup, createUser, gql, type TestUser } from '../support/api';
import { NOT_AVAILABLE, createDestination, eventsOn, idOf, ok, topErrors } from './support';
import { GROUP_DELETE, GROUP_GID, GROUP_LIST, GROUP_UPDATE, LEGACY_GID, groupCreate, groupDestination, httpConfig } from './streaming_support';

const AWS = { accessKeyXid: 'AKIAIOSFODNN7EXAMPLE', bucketName: 'audit-bucket', awsRegion: 'eu-west-1' };
const GCP = { googleProjectIdName: 'my-project-1', clientEmail: 'streamer@my-project-1.iam.gserviceaccount.com' };
const PEM = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n';

const LEGACY_LIST = `query($p: ID!) { group(fullPath: $p) { externalAuditEventDestinations { nodes { id destinationUrl verificationToken headers { nodes { id key value active } } } } } }`;
const LEGACY_UPDATE = `mutation($i: ExternalAuditEventDestinationUpdateInput!) { externalAuditEventDestinationUpdate(input: $i) { errors externalAuditEventDestination { id } } }`;
const HEADER_CREATE = `mutation($i: AuditEventsStreamingHeadersCreateInput!) { auditEventsStreamingHeadersCreate(input: $i) { errors header { id } } }`;
const ROTATE = `mutation($i: AuditEventsStreamingDestinationSigningSecretRotateInput!) {
  auditEventsStreamingDestinationSigningSecretRotate(input: $i) { errors externalAuditEventDestination { signingSecret } }
}`;

let owner: TestUser;

/** A fresh top-level group of the owner. */
async function newGroup(): Promise<{ id: number; full_path: string }> {
  return createGroup({ token: owner.token });
}

async function listed(groupPath: string): Promise<any[]> {
  return (await ok(GROUP_LIST, owner.token, { p: groupPath })).group.externalAuditEventStreamingDestinations.nodes;
}
async function legacyListed(groupPath: string): Promise<any[]> {
  return (await ok(LEGACY_LIST, owner.token, { p: groupPath })).group.externalAuditEventDestinations.nodes;
}
async function update(input: Record<string, unknown>): Promise<{ errors: string[]; externalAuditEventDestination: any }> {
  return (await ok(GROUP_UPDATE, owner.token, { i: input })).groupAuditEventStreamingDestinationsUpdate;
}

beforeAll(async () => {
  owner = await createUser();
});

describe('create', () => {
  it('an http destination: GitLab defaults, and the legacy API sees it with its headers', async () => {
    const g = await newGroup();
    const config = httpConfig({ 'X-Team': { value: 'audit', active: true }, 'X-Off': { value: 'v', active: false } });
    const d = await groupDestination(owner.token, g.full_path, { config });
    expect(d.id).toMatch(new RegExp(`^${GROUP_GID}\\d+$`));
    expect(d.name).toMatch(/^Destination_[0-9a-f-]{36}$/);
    expect(d).toMatchObject({ category: 'http', active: true, config, eventTypeFilters: [], namespaceFilters: [], group: { fullPath: g.full_path } });
    // GitLab's SecureRandom.base64(18).
    expect(d.secretToken).toMatch(/^[A-Za-z0-9+/]{24}$/);

    const [legacy] = await legacyListed(g.full_path);
    expect(legacy.id).toBe(`${LEGACY_GID}${idOf(d.id)}`);
    expect(legacy.destinationUrl).toBe(config.url);
    expect(legacy.verificationToken).toBe(d.secretToken);
    expect(legacy.headers.nodes.map((h: any) => [h.key, h.value, h.active])).toEqual([
      ['X-Team', 'audit', true],
      ['X-Off', 'v', false],
    ]);
    const [event] = await eventsOn('Group', g.id);
    expect(event.event_type).toBe('created_group_audit_event_streaming_destination');
    expect(JSON.parse(event.details)).toMatchObject({ custom_message: 'Created audit event streaming destination for HTTP', category: 'http' });
    expect(event.target_id).toBe(idOf(d.id));
  });

  it('a legacy destination appears as category http with config {url, headers}', async () => {
    const g = await newGroup();
    const legacy = await createDestination(owner.token, g.full_path, { destinationUrl: 'http://127.0.0.1:9/legacy-one', name: 'legacy-one' });
    expect((await ok(HEADER_CREATE, owner.token, { i: { destinationId: legacy.id, key: 'X-Key', value: 'k1' } })).auditEventsStreamingHeadersCreate.errors).toEqual([]);
    const [d] = await listed(g.full_path);
    expect(d).toEqual({
      id: `${GROUP_GID}${idOf(legacy.id)}`,
      name: 'legacy-one',
      category: 'http',
      config: { url: 'http://127.0.0.1:9/legacy-one', headers: { 'X-Key': { value: 'k1', active: true } } },
      secretToken: legacy.verificationToken,
      active: true,
      eventTypeFilters: [],
      namespaceFilters: [],
    });
  });

  it('aws and gcp destinations: secret required, never shown, hidden from the legacy API', async () => {
    const g = await newGroup();
    expect((await groupCreate(owner.token, { groupPath: g.full_path, category: 'aws', config: AWS })).errors).toEqual(['Secret token is required for category']);
    expect((await groupCreate(owner.token, { groupPath: g.full_path, category: 'gcp', config: GCP, secretToken: '' })).errors).toEqual(['Secret token is required for category']);
    const aws = await groupDestination(owner.token, g.full_path, { category: 'aws', config: AWS, secretToken: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', name: 'to-s3' });
    expect(aws).toMatchObject({ category: 'aws', config: AWS, secretToken: '', name: 'to-s3' });
    const gcp = await groupDestination(owner.token, g.full_path, { category: 'gcp', config: GCP, secretToken: PEM });
    // GitLab's default log id.
    expect(gcp.config).toEqual({ ...GCP, logIdName: 'audit-events' });
    const row = await env.DB.prepare('SELECT category, config, secret_token FROM streaming_destinations WHERE id = ?1').bind(idOf(aws.id)).first();
    expect(row).toEqual({ category: 'aws', config: JSON.stringify(AWS), secret_token: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' });
    expect((await listed(g.full_path)).map((d) => d.category)).toEqual(['aws', 'gcp']);
    expect(await legacyListed(g.full_path)).toEqual([]);
    // A legacy GID of a cloud destination names nothing the legacy API knows.
    expect(await topErrors(LEGACY_UPDATE, owner.token, { i: { id: `${LEGACY_GID}${idOf(aws.id)}`, name: 'x' } })).toEqual([NOT_AVAILABLE]);
  });

  it('config as a literal in the document (the README examples), not only as a variable', async () => {
    const g = await newGroup();
    const r = await ok(
      `mutation {
        groupAuditEventStreamingDestinationsCreate(input: { groupPath: "${g.full_path}", category: "aws", secretToken: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            config: { accessKeyXid: "AKIAIOSFODNN7EXAMPLE", bucketName: "audit-events", awsRegion: "eu-west-1" } }) {
          errors externalAuditEventDestination { category config }
        }
      }`,
      owner.token,
    );
    expect(r.groupAuditEventStreamingDestinationsCreate).toEqual({
      errors: [],
      externalAuditEventDestination: { category: 'aws', config: { accessKeyXid: 'AKIAIOSFODNN7EXAMPLE', bucketName: 'audit-events', awsRegion: 'eu-west-1' } },
    });
  });

  it('refuses bad input with GitLab texts, as data', async () => {
    const g = await newGroup();
    const errors = async (input: Record<string, unknown>) => {
      const r = await groupCreate(owner.token, { groupPath: g.full_path, category: 'http', config: httpConfig(), ...input });
      expect(r.externalAuditEventDestination).toBeNull();
      return r.errors;
    };
    expect(await errors({ category: 'syslog', secretToken: 'x'.repeat(20) })).toEqual(["'syslog' is not a valid category"]);
    expect(await errors({ config: { headers: { 'X-A': { value: 'a' } } } })).toEqual(['Config must be a valid json schema']);
    expect(await errors({ config: { url: 'ftp://example.com/x' } })).toEqual(['Config must be a valid json schema']);
    expect(await errors({ config: { ...httpConfig(), extra: 1 } })).toEqual(['Config must be a valid json schema']);
    expect(await errors({ config: 'not a hash' })).toEqual(['Config must be a hash']);
    const many = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`X-H${i}`, { value: 'v' }]));
    expect(await errors({ config: httpConfig(many) })).toEqual(['Config must be a valid json schema']);
    expect(await errors({ config: httpConfig({ 'x-gitlab-event-streaming-token': { value: 'mine' } }) })).toEqual([
      'Config headers cannot contain X-Gitlab-Event-Streaming-Token',
    ]);
    expect(await errors({ config: httpConfig({ 'X-A': { value: ' padded' } }) })).toEqual(['Config must be a valid json schema']);
    expect(await errors({ config: httpConfig({ 'X-A': { value: 'v'.repeat(256) } }) })).toEqual(['Config must be a valid json schema']);
    expect(await errors({ config: { url: `https://example.com/${'a'.repeat(240)}` } })).toEqual(['Config must be a valid json schema']);
    expect(await errors({ name: 'n'.repeat(73) })).toEqual(['Name is too long (maximum is 72 characters)']);
    expect(await errors({ secretToken: 'short' })).toEqual(['Secret token should have length between 16 to 24 characters.']);
    expect(await errors({ category: 'aws', config: AWS, secretToken: 's'.repeat(4097) })).toEqual(['Secret token is too long (maximum is 4096 characters)']);
    expect(await errors({ category: 'aws', config: { ...AWS, bucketName: 'Bad_Bucket' }, secretToken: 'secret' })).toEqual(['Config must be a valid json schema']);
    expect(await errors({ category: 'gcp', config: { clientEmail: GCP.clientEmail }, secretToken: PEM })).toEqual(['Config must be a valid json schema']);
    const taken = await groupDestination(owner.token, g.full_path, { name: 'taken' });
    expect(await errors({ name: 'taken', config: taken.config })).toEqual(['Name has already been taken', 'Config url is already taken.']);
    // Up to 20 headers are fine; a config's headers may be empty.
    expect((await groupCreate(owner.token, { groupPath: g.full_path, category: 'http', config: httpConfig(Object.fromEntries(Object.entries(many).slice(0, 20))) })).errors).toEqual([]);
    expect((await groupCreate(owner.token, { groupPath: g.full_path, category: 'http', config: { ...httpConfig(), headers: {} } })).errors).toEqual([]);
  });

  it('at most 5 destinations per group, counting both APIs', async () => {
    const g = await newGroup();
    for (let i = 0; i < 3; i++) await createDestination(owner.token, g.full_path, { destinationUrl: `http://127.0.0.1:9/limit-${g.id}-${i}` });
    await groupDestination(owner.token, g.full_path);
    await groupDestination(owner.token, g.full_path, { category: 'aws', config: AWS, secretToken: 'secret' });
    const limit = 'Maximum number of external audit event destinations (5) exceeded';
    expect((await groupCreate(owner.token, { groupPath: g.full_path, category: 'http', config: httpConfig() })).errors).toEqual([limit]);
    const legacy = await ok(
      `mutation($i: ExternalAuditEventDestinationCreateInput!) { externalAuditEventDestinationCreate(input: $i) { errors } }`,
      owner.token,
      { i: { groupPath: g.full_path, destinationUrl: 'http://127.0.0.1:9/sixth' } },
    );
    expect(legacy.externalAuditEventDestinationCreate.errors).toEqual([limit]);
  });

  it('subgroups and strangers: GitLab answers', async () => {
    const g = await newGroup();
    const sub = await createGroup({ token: owner.token, parentId: g.id });
    expect((await groupCreate(owner.token, { groupPath: sub.full_path, category: 'http', config: httpConfig() })).errors).toEqual(['Group must not be a subgroup']);
    const stranger = await createUser();
    expect(await topErrors(`mutation($i: GroupAuditEventStreamingDestinationsCreateInput!) { groupAuditEventStreamingDestinationsCreate(input: $i) { errors } }`, stranger.token, {
      i: { groupPath: g.full_path, category: 'http', config: httpConfig() },
    })).toEqual([NOT_AVAILABLE]);
    // A private group the caller cannot read is null, as GitLab answers; a Maintainer is refused the list.
    expect((await gql(GROUP_LIST, { p: g.full_path }, stranger.token)).body.data.group).toBeNull();
    await addMember('groups', g.id, stranger.id, 40);
    expect(await topErrors(GROUP_LIST, stranger.token, { p: g.full_path })).toEqual([NOT_AVAILABLE]);
  });
});

describe('update and delete', () => {
  it('config headers are the legacy header rows: kept keys keep their GIDs', async () => {
    const g = await newGroup();
    const d = await groupDestination(owner.token, g.full_path, { config: httpConfig({ 'X-Keep': { value: 'one' }, 'X-Drop': { value: 'two' } }) });
    const before = (await legacyListed(g.full_path))[0].headers.nodes;
    const url = 'http://127.0.0.1:9/changed';
    const r = await update({ id: d.id, config: { url, headers: { 'X-Keep': { value: 'uno', active: false }, 'X-New': { value: 'three' } } } });
    expect(r.errors).toEqual([]);
    expect(r.externalAuditEventDestination.config).toEqual({ url, headers: { 'X-Keep': { value: 'uno', active: false }, 'X-New': { value: 'three', active: true } } });
    const after = (await legacyListed(g.full_path))[0].headers.nodes;
    expect(after.find((h: any) => h.key === 'X-Keep')).toEqual({ ...before.find((h: any) => h.key === 'X-Keep'), value: 'uno', active: false });
    expect(after.map((h: any) => h.key).sort()).toEqual(['X-Keep', 'X-New']);
    const [event] = await eventsOn('Group', g.id);
    expect(event.event_type).toBe('updated_group_audit_event_streaming_destination');
    // Header values never go into an event.
    expect(event.details).not.toContain('uno');
    expect(JSON.parse(event.details).custom_message).toBe('Changed config');
  });

  it('name, secret token and active: one event each; the same values change nothing', async () => {
    const g = await newGroup();
    const d = await groupDestination(owner.token, g.full_path);
    const before = (await eventsOn('Group', g.id)).length;
    expect((await update({ id: d.id, config: d.config, name: d.name })).errors).toEqual([]);
    expect((await eventsOn('Group', g.id)).length).toBe(before);
    const r = await update({ id: d.id, name: 'renamed', secretToken: 'a-new-token-of-20-ch', active: false });
    expect(r.errors).toEqual([]);
    expect(r.externalAuditEventDestination).toMatchObject({ name: 'renamed', secretToken: 'a-new-token-of-20-ch', active: false });
    const events = (await eventsOn('Group', g.id)).slice(0, 3).map((e) => JSON.parse(e.details).custom_message);
    expect(events.sort()).toEqual(['Changed active from true to false', 'Changed name from ' + d.name + ' to renamed', 'Changed secret_token']);
    expect(JSON.stringify(await eventsOn('Group', g.id))).not.toContain('a-new-token-of-20-ch');
    expect((await update({ id: d.id, secretToken: 'tiny' })).errors).toEqual(['Secret token should have length between 16 to 24 characters.']);
    expect((await update({ id: d.id, name: 'x'.repeat(73) })).errors).toEqual(['Name is too long (maximum is 72 characters)']);
  });

  it('changing the category: the new category validates its config; the legacy API loses an http destination turned aws', async () => {
    const g = await newGroup();
    const d = await groupDestination(owner.token, g.full_path, { config: httpConfig({ 'X-A': { value: 'a' } }) });
    expect((await update({ id: d.id, category: 'aws' })).errors).toEqual(['Config must be a valid json schema']);
    expect((await update({ id: d.id, category: 'ftp' })).errors).toEqual(["'ftp' is not a valid category"]);
    const r = await update({ id: d.id, category: 'aws', config: AWS, secretToken: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' });
    expect(r.errors).toEqual([]);
    expect(r.externalAuditEventDestination).toMatchObject({ category: 'aws', config: AWS, secretToken: '' });
    expect(await legacyListed(g.full_path)).toEqual([]);
    expect(await env.DB.prepare('SELECT COUNT(*) AS n FROM streaming_headers WHERE destination_id = ?1').bind(idOf(d.id)).first('n')).toBe(0);
    // Back to http: GitLab keeps the secret, which must then fit http's rule.
    expect((await update({ id: d.id, category: 'http', config: httpConfig() })).errors).toEqual(['Secret token should have length between 16 to 24 characters.']);
    const back = await update({ id: d.id, category: 'http', config: httpConfig(), secretToken: 'http-token-1234567890' });
    expect(back.errors).toEqual([]);
    expect((await legacyListed(g.full_path)).map((l) => l.id)).toEqual([`${LEGACY_GID}${idOf(d.id)}`]);
  });

  it('a config left out stays as it is, even a legacy header the new schema would refuse', async () => {
    const g = await newGroup();
    const legacy = await createDestination(owner.token, g.full_path);
    const long = 'v'.repeat(300);
    expect((await ok(HEADER_CREATE, owner.token, { i: { destinationId: legacy.id, key: 'X-Long', value: long } })).auditEventsStreamingHeadersCreate.errors).toEqual([]);
    const id = `${GROUP_GID}${idOf(legacy.id)}`;
    const r = await update({ id, name: 'renamed-legacy' });
    expect(r.errors).toEqual([]);
    expect(r.externalAuditEventDestination.config.headers).toEqual({ 'X-Long': { value: long, active: true } });
    // Given again, the same config is validated by GitLab's schema.
    expect((await update({ id, config: r.externalAuditEventDestination.config })).errors).toEqual(['Config must be a valid json schema']);
  });

  it('delete removes it from both APIs, with its event', async () => {
    const g = await newGroup();
    const d = await groupDestination(owner.token, g.full_path, { category: 'gcp', config: GCP, secretToken: PEM });
    expect((await ok(GROUP_DELETE, owner.token, { i: { id: d.id } })).groupAuditEventStreamingDestinationsDelete.errors).toEqual([]);
    expect(await listed(g.full_path)).toEqual([]);
    const [event] = await eventsOn('Group', g.id);
    expect(event.event_type).toBe('deleted_group_audit_event_streaming_destination');
    expect(JSON.parse(event.details).custom_message).toBe('Deleted audit event streaming destination for GCP');
    expect(await topErrors(GROUP_DELETE, owner.token, { i: { id: d.id } })).toEqual([NOT_AVAILABLE]);
    // A legacy GID is not a consolidated one.
    const legacy = await createDestination(owner.token, g.full_path);
    expect(await topErrors(GROUP_DELETE, owner.token, { i: { id: legacy.id } })).toHaveLength(1);
  });

  it('signing secret rotation applies to an http destination made by the consolidated API', async () => {
    const g = await newGroup();
    const d = await groupDestination(owner.token, g.full_path);
    const r = await ok(ROTATE, owner.token, { i: { destinationId: `${LEGACY_GID}${idOf(d.id)}` } });
    expect(r.auditEventsStreamingDestinationSigningSecretRotate.externalAuditEventDestination.signingSecret).toMatch(/^whsec_/);
  });
});

describe('event type filters', () => {
  it('add and delete through the consolidated mutations', async () => {
    const g = await newGroup();
    const d = await groupDestination(owner.token, g.full_path, { category: 'aws', config: AWS, secretToken: 'secret' });
    const add = `mutation($i: AuditEventsGroupDestinationEventsAddInput!) { auditEventsGroupDestinationEventsAdd(input: $i) { errors eventTypeFilters } }`;
    const del = `mutation($i: AuditEventsGroupDestinationEventsDeleteInput!) { auditEventsGroupDestinationEventsDelete(input: $i) { errors } }`;
    const r = await ok(add, owner.token, { i: { destinationId: d.id, eventTypeFilters: ['release_created', 'release_updated'] } });
    expect(r.auditEventsGroupDestinationEventsAdd).toEqual({ errors: [], eventTypeFilters: ['release_created', 'release_updated'] });
    expect((await ok(add, owner.token, { i: { destinationId: d.id, eventTypeFilters: ['nope'] } })).auditEventsGroupDestinationEventsAdd.errors).toEqual([
      'Audit event type with value nope is undefined.',
    ]);
    expect((await ok(del, owner.token, { i: { destinationId: d.id, eventTypeFilters: ['release_created'] } })).auditEventsGroupDestinationEventsDelete.errors).toEqual([]);
    expect((await ok(del, owner.token, { i: { destinationId: d.id, eventTypeFilters: ['release_created'] } })).auditEventsGroupDestinationEventsDelete.errors).toEqual([
      "Couldn't find event type filters where audit event type(s): release_created",
    ]);
    expect((await listed(g.full_path))[0].eventTypeFilters).toEqual(['release_updated']);
    expect(await topErrors(del, owner.token, { i: { destinationId: d.id, eventTypeFilters: [] } })).toEqual(['event type filters must be present']);
  });
});
