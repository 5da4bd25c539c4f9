/**
 * The over-long fields sweep (issue 17): every writer that stores free text in an audit event,
 * fed each of its text fields just over its limit and at it. Each case asserts its exact outcome:
 * a REST or GraphQL input longer than GitLab allows is refused (400 in REST's error shape,
 * errors as data in GraphQL) and records nothing; what is accepted is stored in the event as the
 * writer's bounds say (src/audit/bounds.ts): a User-Agent's first 512 characters, a change diff
 * value over 1 KB as {truncated, length, sha256, prefix}, any other text's first 2 KB. Every
 * family has a valid control whose value is stored whole.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, api, call, createGroup, createProject, createUser, gql, unique } from '../support/api';
import { receiverOrigin } from '../support/receiver';
import { projectEvents, releasesPath } from '../releases/support';
import { utf8Sha256 } from '../../src/audit/bounds';

type Json = Record<string, any>;
let project: { id: number; path_with_namespace: string };
let destGroup: { id: number; full_path: string };

/** The {truncated, length, sha256, prefix} object the writer stores for a diff value over 1 KB (ASCII here). */
const cut = (s: string) => ({ truncated: true, length: s.length, sha256: utf8Sha256(s), prefix: s.slice(0, 1024) });
const x = (n: number, c = 'x') => c.repeat(n);
/** The latest event of a type on the sweep's project (download buffers flushed). */
const lastEvent = async (type: string) => (await projectEvents(project.id, type)).at(-1);

beforeAll(async () => {
  const g = await createGroup({ visibility: 'public' });
  project = await createProject(g.id, { visibility: 'public' });
  destGroup = await createGroup();
});

describe('REST releases and links', () => {
  const create = (body: Json) => api('POST', releasesPath(project.id), { token: ADMIN, body });

  it('refuses a name, tag or link field over its limit, and records nothing', async () => {
    const before = (await projectEvents(project.id, 'release_created')).length;
    const refused: [Json, unknown][] = [
      [{ tag_name: unique('t'), name: x(256) }, { message: 'Validation failed: Name is too long (maximum is 255 characters)' }],
      [{ tag_name: x(256) }, { message: 'Tag name invalid' }],
      [{ tag_name: unique('t'), assets: { links: [{ name: x(256), url: 'https://e.example.com/a' }] } }, { message: 'Validation failed: Links name is too long (maximum is 255 characters)' }],
      [{ tag_name: unique('t'), assets: { links: [{ name: 'a', url: `https://e.example.com/${x(2049 - 22)}` }] } }, { message: 'Validation failed: Links url is too long (maximum is 2048 characters)' }],
      [{ tag_name: unique('t'), assets: { links: [{ name: 'a', url: 'https://e.example.com/a', direct_asset_path: `/${x(128)}` }] } }, { message: 'Validation failed: Links filepath is too long (maximum is 128 characters)' }],
    ];
    for (const [body, answer] of refused) {
      const r = await create(body);
      expect({ status: r.status, body: r.body }, JSON.stringify(body).slice(0, 80)).toEqual({ status: 400, body: answer });
    }
    expect(await projectEvents(project.id, 'release_created')).toHaveLength(before);
  });

  it('control: every field at its limit is stored whole; a 600 KB description stays out of the creation event', async () => {
    const tag = unique('t');
    const name = x(255, 'n');
    const url = `https://e.example.com/${x(2048 - 22, 'u')}`;
    const r = await create({ tag_name: tag, name, description: x(600_000, 'd'), assets: { links: [{ name: x(255, 'l'), url, direct_asset_path: `/${x(127, 'f')}` }] } });
    expect(r.status).toBe(201);
    expect(r.body.name).toBe(name);
    expect(r.body.assets.links[0].url).toBe(url);
    const ev = await lastEvent('release_created');
    expect(ev).toMatchObject({ target_details: name, details: { tag_name: tag, target_details: name } });
    expect(JSON.stringify(ev!.details).length).toBeLessThan(2048);
    // The link's diff: name (255) whole, url (2,048 > 1 KB) bounded.
    const link = await lastEvent('release_asset_link_created');
    expect(link!.details.changes).toEqual([
      { field: 'name', from: null, to: x(255, 'l') },
      { field: 'url', from: null, to: cut(url) },
      { field: 'filepath', from: null, to: `/${x(127, 'f')}` },
      { field: 'link_type', from: null, to: 'other' },
    ]);
  });

  it('a description changed to another of 600 KB: both sides bounded in the event, whole in the release', async () => {
    const tag = unique('t');
    const [d1, d2] = [x(600_000, 'a'), x(600_001, 'b')];
    expect((await create({ tag_name: tag, description: d1 })).status).toBe(201);
    const u = await api('PUT', releasesPath(project.id, tag), { token: ADMIN, body: { description: d2 } });
    expect(u.status).toBe(200);
    expect(u.body.description).toBe(d2);
    const ev = await lastEvent('release_updated');
    expect(ev!.details.changes).toEqual([{ field: 'description', from: cut(d1), to: cut(d2) }]);
    // The whole stored event: 2,987 bytes as JSON (1,200,700 before the bounds).
    expect(JSON.stringify(ev).length).toBeLessThan(3 * 1024);
  });
});

describe('GraphQL releases', () => {
  it('refuses a name over 255 as data; bounds an updated description of 5,000 characters', async () => {
    const tag = unique('t');
    const over = await gql(`mutation($i: ReleaseCreateInput!) { releaseCreate(input: $i) { errors release { name } } }`, {
      i: { projectPath: project.path_with_namespace, tagName: tag, name: x(256) },
    });
    expect(over.body.data.releaseCreate).toEqual({ errors: ['Validation failed: Name is too long (maximum is 255 characters)'], release: null });
    const ok = await gql(`mutation($i: ReleaseCreateInput!) { releaseCreate(input: $i) { errors release { name } } }`, {
      i: { projectPath: project.path_with_namespace, tagName: tag, name: x(255, 'g'), description: 'short' },
    });
    expect(ok.body.data.releaseCreate).toEqual({ errors: [], release: { name: x(255, 'g') } });
    const description = x(5000, 'q');
    const upd = await gql(`mutation($i: ReleaseUpdateInput!) { releaseUpdate(input: $i) { errors release { description } } }`, {
      i: { projectPath: project.path_with_namespace, tagName: tag, description },
    });
    expect(upd.body.data.releaseUpdate).toEqual({ errors: [], release: { description } });
    expect((await lastEvent('release_updated'))!.details.changes).toEqual([{ field: 'description', from: 'short', to: cut(description) }]);
  });
});

describe('the download redirect', () => {
  it('stores the first 512 characters of a User-Agent and 2 KB of a client address; control: 512 stored whole', async () => {
    const tag = unique('t');
    const rel = await api('POST', releasesPath(project.id), {
      token: ADMIN,
      body: { tag_name: tag, assets: { links: [{ name: 'f', url: 'https://downloads.example.com/f', direct_asset_path: '/f' }] } },
    });
    expect(rel.status).toBe(201);
    const path = `/${project.path_with_namespace}/-/releases/${tag}/downloads/f`;
    const download = async (headers: Record<string, string>) => {
      const res = await call('GET', path, { headers });
      expect(res.status).toBe(302);
      return (await lastEvent('release_external_artifact_download'))!;
    };
    const sent: [Record<string, string>, (ev: Json) => void][] = [
      [{ 'User-Agent': x(512, 'a') }, (ev) => expect(ev.details.user_agent).toBe(x(512, 'a'))],
      [{ 'User-Agent': x(8000, 'b') }, (ev) => expect(ev.details.user_agent).toBe(x(512, 'b'))],
      [{ 'User-Agent': 'c', 'CF-Connecting-IP': x(3000, '1') }, (ev) => expect([ev.ip_address, ev.details.ip_address]).toEqual([x(2048, '1'), x(2048, '1')])],
    ];
    for (const [headers, check] of sent) {
      check(await download(headers));
    }
  });
});

describe('ingest', () => {
  const ingest = (body: Json) => api('POST', '/api/v4/audit_events', { token: ADMIN, body: { event_type: 'long_fields', entity_type: 'Group', entity_id: destGroup.id, ...body } });

  it('refuses what is over its limit', async () => {
    const refused: [Json, unknown][] = [
      [{ author_name: x(256) }, { message: { author_name: ['is too long (maximum is 255 characters)'] } }],
      [{ target_type: x(256) }, { message: { target_type: ['is too long (maximum is 255 characters)'] } }],
      [{ target_details: x(5501) }, { message: { target_details: ['is too long (maximum is 5500 characters)'] } }],
      [{ details: { blob: x(16 * 1024) } }, { message: { details: ['is too long (maximum is 16384 bytes as JSON)'] } }],
    ];
    for (const [body, answer] of refused) {
      const r = await ingest(body);
      expect({ status: r.status, body: r.body }, Object.keys(body)[0]).toEqual({ status: 400, body: answer });
    }
  });

  it('stores texts over 2 KB as their first 2 KB, diff values over 1 KB bounded, a User-Agent as 512 characters', async () => {
    const from = x(2000, 'f');
    const to = x(1500, 't');
    const r = await ingest({
      author_name: x(255, 'a'),
      target_details: x(5500, 'd'),
      details: { custom_message: x(3000, 'm'), user_agent: x(600, 'u'), change: 'field', from, to: 'new', changes: [{ field: 'other', from: null, to }] },
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ author_name: x(255, 'a'), target_details: x(2048, 'd') });
    expect(r.body.details).toMatchObject({
      custom_message: x(2048, 'm'),
      user_agent: x(512, 'u'),
      from: cut(from),
      to: 'new',
      changes: [{ field: 'other', from: null, to: cut(to) }],
    });
  });

  it('control: texts at their limits are stored whole', async () => {
    const r = await ingest({ target_details: x(2048, 'd'), details: { custom_message: x(2048, 'm'), user_agent: x(512, 'u'), from: x(1024, 'f') } });
    expect(r.status).toBe(201);
    expect(r.body.target_details).toBe(x(2048, 'd'));
    expect(r.body.details).toMatchObject({ custom_message: x(2048, 'm'), user_agent: x(512, 'u'), from: x(1024, 'f') });
  });
});

describe('groups, projects, users and tokens', () => {
  it('refuses names and descriptions over GitLab limits', async () => {
    const user = await createUser();
    const refused: [string, string, Json, unknown][] = [
      ['POST', '/api/v4/groups', { name: x(256), path: unique('g') }, { message: { name: ['is too long (maximum is 255 characters)'] } }],
      ['POST', '/api/v4/groups', { name: 'g', path: unique('g'), description: x(501) }, { message: { description: ['is too long (maximum is 500 characters)'] } }],
      ['POST', '/api/v4/projects', { name: x(256), path: unique('p'), namespace_id: destGroup.id }, { message: { name: ['is too long (maximum is 255 characters)'] } }],
      ['POST', '/api/v4/projects', { name: 'p', path: unique('p'), namespace_id: destGroup.id, description: x(2001) }, { message: { description: ['is too long (maximum is 2000 characters)'] } }],
      ['POST', '/api/v4/users', { username: unique('u'), name: x(256), email: `${unique('e')}@example.com`, password: 'secret-password' }, { message: { name: ['is too long (maximum is 255 characters)'] } }],
      ['POST', `/api/v4/users/${user.id}/personal_access_tokens`, { name: x(256), scopes: ['api'] }, { message: { name: ['is too long (maximum is 255 characters)'] } }],
    ];
    for (const [method, path, body, answer] of refused) {
      const r = await api(method, path, { token: ADMIN, body });
      expect({ status: r.status, body: r.body }, `${path} ${Object.keys(body).join(',')}`).toEqual({ status: 400, body: answer });
    }
  });

  it('control: a group at its limits is created and its event stored whole', async () => {
    const path = unique('g');
    const r = await api('POST', '/api/v4/groups', { token: ADMIN, body: { name: x(255, 'n'), path, description: x(500) } });
    expect(r.status).toBe(201);
    const events = await api('GET', `/api/v4/groups/${r.body.id}/audit_events`, { token: ADMIN });
    expect(events.body[0].details).toMatchObject({ custom_message: `Added group ${path}`, entity_path: path });
  });
});

describe('GraphQL streaming destinations', () => {
  const legacy = `mutation($i: ExternalAuditEventDestinationCreateInput!) { externalAuditEventDestinationCreate(input: $i) { errors externalAuditEventDestination { id name } } }`;
  const url = () => `${receiverOrigin()}/ok/${unique('long')}`;

  it('refuses a name, URL or header value over its limit as data', async () => {
    const refused: [string, Json, string, string[]][] = [
      [legacy, { groupPath: destGroup.full_path, name: x(73), destinationUrl: url() }, 'externalAuditEventDestinationCreate', ['Name is too long (maximum is 72 characters)']],
      [legacy, { groupPath: destGroup.full_path, destinationUrl: `${url()}/${x(256)}` }, 'externalAuditEventDestinationCreate', ['Destination url is too long (maximum is 255 characters)']],
      [
        `mutation($i: GroupAuditEventStreamingDestinationsCreateInput!) { groupAuditEventStreamingDestinationsCreate(input: $i) { errors externalAuditEventDestination { id } } }`,
        { groupPath: destGroup.full_path, category: 'http', name: x(73), config: { url: url() } },
        'groupAuditEventStreamingDestinationsCreate',
        ['Name is too long (maximum is 72 characters)'],
      ],
    ];
    for (const [query, input, field, errors] of refused) {
      const r = await gql(query, { i: input });
      expect(r.body.data[field].errors, JSON.stringify(input).slice(0, 80)).toEqual(errors);
    }
  });

  it('control: a name of 72 is stored whole in the destination and its event; a header value over 2,000 is refused', async () => {
    const name = x(72, 'n');
    const r = await gql(legacy, { i: { groupPath: destGroup.full_path, name, destinationUrl: url() } });
    expect(r.body.data.externalAuditEventDestinationCreate).toMatchObject({ errors: [], externalAuditEventDestination: { name } });
    const events = await api('GET', `/api/v4/groups/${destGroup.id}/audit_events?event_type=create_event_streaming_destination`, { token: ADMIN });
    expect(events.body[0].details).toMatchObject({ target_details: name });
    const header = await gql(
      `mutation($i: AuditEventsStreamingHeadersCreateInput!) { auditEventsStreamingHeadersCreate(input: $i) { errors header { id } } }`,
      { i: { destinationId: r.body.data.externalAuditEventDestinationCreate.externalAuditEventDestination.id, key: 'X-Long', value: x(2001) } },
    );
    expect(header.body.data.auditEventsStreamingHeadersCreate).toEqual({ errors: ['Value is too long (maximum is 2000 characters)'], header: null });
  });
});
