/**
 * Every GraphQL example of the reference document (GitLab's audit event streaming docs), sent
 * verbatim. Where an example names a placeholder (`destination`, header 1, destination 24601,
 * "list of event type filters"), it also runs with a real GID to show the documented success.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { api, createUser, gql, ADMIN, type TestUser } from '../support/api';
import { NOT_AVAILABLE, idOf, ok, topErrors } from './support';
import examples from '../fixtures/reference_graphql.json';

// Verbatim from 004_39e71149cbf389e1.txt (the fixture the GraphQL benchmark shares).
const {
  create: CREATE,
  createWithToken: CREATE_WITH_TOKEN,
  headerCreate: HEADER_CREATE,
  list: LIST,
  destroy: DESTROY,
  headerDestroy: HEADER_DESTROY,
  eventsAdd: EVENTS_ADD,
  eventsRemove: EVENTS_REMOVE,
} = examples;

let owner: TestUser;
let groupId: number;

beforeAll(async () => {
  owner = await createUser();
  // The documents' group is "my-group"; this file is its only user.
  const existing = await api('GET', '/api/v4/groups/my-group', { token: ADMIN });
  if (existing.status === 200) {
    groupId = existing.body.id;
    await api('POST', `/api/v4/groups/${groupId}/members`, { token: ADMIN, body: { user_id: owner.id, access_level: 50 } });
  } else {
    const g = await api('POST', '/api/v4/groups', { token: owner.token, body: { name: 'my-group', path: 'my-group' } });
    expect(g.status).toBe(201);
    groupId = g.body.id;
  }
});

describe('reference document examples, verbatim', () => {
  it('create, headers, list, update-by-destroy, header destroy, destroy: as documented', async () => {
    // "Add a new streaming destination": errors empty, 200 OK.
    const created = await gql(CREATE, undefined, owner.token);
    expect(created.status).toBe(200);
    expect(created.body.errors).toBeUndefined();
    const payload = created.body.data.externalAuditEventDestinationCreate;
    expect(payload.errors).toEqual([]);
    const dest = payload.externalAuditEventDestination;
    expect(dest.id).toMatch(/^gid:\/\/gitlab\/AuditEvents::ExternalAuditEventDestination\/\d+$/);
    expect(dest.destinationUrl).toBe('https://mydomain.io/endpoint/ingest');
    expect(dest.verificationToken).toHaveLength(24);
    expect(dest.group).toEqual({ name: 'my-group' });

    // The document's token is 37 characters: GitLab's 16..24 rule rejects it, and so do we.
    const withToken = await gql(CREATE_WITH_TOKEN, undefined, owner.token);
    expect(withToken.status).toBe(200);
    expect(withToken.body.data.externalAuditEventDestinationCreate).toEqual({
      errors: ['Verification token is too long (maximum is 24 characters)', 'Destination url has already been taken'],
      externalAuditEventDestination: null,
    });

    // Header create against destination 24601 (an example id): not found for this owner.
    if (!(await env.DB.prepare('SELECT 1 FROM streaming_destinations WHERE id = 24601').first())) {
      expect(await topErrors(HEADER_CREATE, owner.token)).toEqual([NOT_AVAILABLE]);
    }
    // The same operation with the real id creates the header.
    const headerCreate = await ok(HEADER_CREATE.replace('gid://gitlab/AuditEvents::ExternalAuditEventDestination/24601', dest.id), owner.token);
    expect(headerCreate.auditEventsStreamingHeadersCreate.errors).toEqual([]);

    // List: the destination, its token and its header.
    const list = await ok(LIST, owner.token);
    expect(list.group.id).toBe(`gid://gitlab/Group/${groupId}`);
    const node = list.group.externalAuditEventDestinations.nodes.find((n: any) => n.id === dest.id);
    expect(node).toMatchObject({ destinationUrl: 'https://mydomain.io/endpoint/ingest', verificationToken: dest.verificationToken, eventTypeFilters: [] });
    expect(node.headers.nodes).toHaveLength(1);
    expect(node.headers.nodes[0]).toMatchObject({ key: 'foo', value: 'bar' });
    const headerGid: string = node.headers.nodes[0].id;
    expect(headerGid).toMatch(/^gid:\/\/gitlab\/AuditEvents::Streaming::Header\/\d+$/);

    // Header destroy of header 1, verbatim: removes it when it is this group's, else not found.
    const header1 = await env.DB.prepare(
      `SELECT d.namespace_id FROM streaming_headers h JOIN streaming_destinations d ON d.id = h.destination_id WHERE h.id = 1`,
    ).first<{ namespace_id: number }>();
    if (header1?.namespace_id === groupId) expect((await ok(HEADER_DESTROY, owner.token)).auditEventsStreamingHeadersDestroy.errors).toEqual([]);
    else expect(await topErrors(HEADER_DESTROY, owner.token)).toEqual([NOT_AVAILABLE]);
    // With this destination's header: removed.
    if (idOf(headerGid) !== 1) {
      const hd = await ok(HEADER_DESTROY.replace('gid://gitlab/AuditEvents::Streaming::Header/1', headerGid), owner.token);
      expect(hd.auditEventsStreamingHeadersDestroy.errors).toEqual([]);
    }
    expect(await env.DB.prepare('SELECT 1 FROM streaming_headers WHERE id = ?1').bind(idOf(headerGid)).first()).toBeNull();

    // Destroy, verbatim: `destination` is an enum-like placeholder, not a GID: not found.
    const verbatimDestroy = await gql(DESTROY, undefined, owner.token);
    expect(verbatimDestroy.status).toBe(200);
    expect(verbatimDestroy.body.errors!.map((e) => e.message)).toEqual([NOT_AVAILABLE]);
    // With the GID the list returned: deleted, and the list is empty again.
    const destroyed = await ok(DESTROY.replace('id: destination', `id: "${dest.id}"`), owner.token);
    expect(destroyed.externalAuditEventDestinationDestroy.errors).toEqual([]);
    const after = await ok(LIST, owner.token);
    expect(after.group.externalAuditEventDestinations.nodes.find((n: any) => n.id === dest.id)).toBeUndefined();

    // A token of 16..24 characters, as the document recommends, is accepted and kept.
    const token = 'unique-random-token-24ch';
    const own = await ok(CREATE_WITH_TOKEN.replace('unique-random-verification-token-here', token), owner.token);
    expect(own.externalAuditEventDestinationCreate.errors).toEqual([]);
    expect(own.externalAuditEventDestinationCreate.externalAuditEventDestination.verificationToken).toBe(token);
    await ok(DESTROY.replace('id: destination', `id: "${own.externalAuditEventDestinationCreate.externalAuditEventDestination.id}"`), owner.token);
  });

  it('event type filter examples: the placeholder filter is undefined; real filters add and remove', async () => {
    // Make sure destination 1 exists (in a group of root's) so the verbatim examples reach validation.
    const fixture = await api('POST', '/api/v4/groups', { token: ADMIN, body: { name: 'ref-fixture', path: `ref-fixture-${crypto.randomUUID().slice(0, 8)}` } });
    expect(fixture.status).toBe(201);
    await env.DB.prepare(
      `INSERT OR IGNORE INTO streaming_destinations (id, scope, namespace_id, name, destination_url, verification_token, signing_secret, created_at, updated_at)
       VALUES (1, 'group', ?1, 'ref-fixture', 'https://example.com/ref-fixture', 'ref-fixture-token-0001', 'whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')`,
    )
      .bind(fixture.body.id)
      .run();
    const added = await ok(EVENTS_ADD, ADMIN);
    expect(added.auditEventsStreamingDestinationEventsAdd.errors).toEqual(['Audit event type with value list of event type filters is undefined.']);
    const removed = await ok(EVENTS_REMOVE, ADMIN);
    expect(removed.auditEventsStreamingDestinationEventsRemove.errors).toEqual([
      "Couldn't find event type filters where audit event type(s): list of event type filters",
    ]);

    // With a destination of my-group and real event types: added, listed, removed.
    const created = await ok(CREATE, owner.token);
    const id = created.externalAuditEventDestinationCreate.externalAuditEventDestination.id as string;
    const add = await ok(
      EVENTS_ADD.replace('gid://gitlab/AuditEvents::ExternalAuditEventDestination/1', id).replace('"list of event type filters"', '"release_created", "release_deleted_audit_event"'),
      owner.token,
    );
    expect(add.auditEventsStreamingDestinationEventsAdd).toEqual({ errors: [], eventTypeFilters: ['release_created', 'release_deleted_audit_event'] });
    const list = await ok(LIST, owner.token);
    expect(list.group.externalAuditEventDestinations.nodes.find((n: any) => n.id === id).eventTypeFilters).toEqual(['release_created', 'release_deleted_audit_event']);
    const rm = await ok(EVENTS_REMOVE.replace('gid://gitlab/AuditEvents::ExternalAuditEventDestination/1', id).replace('"list of event type filters"', '"release_created"'), owner.token);
    expect(rm.auditEventsStreamingDestinationEventsRemove.errors).toEqual([]);
    const list2 = await ok(LIST, owner.token);
    expect(list2.group.externalAuditEventDestinations.nodes.find((n: any) => n.id === id).eventTypeFilters).toEqual(['release_deleted_audit_event']);
    await ok(DESTROY.replace('id: destination', `id: "${id}"`), owner.token);
  });
});
