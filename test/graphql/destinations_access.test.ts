/** Who may manage streaming destinations; GID misuse; GraphQL over HTTP; limits; introspection. */
import { beforeAll, describe, expect, it } from 'vitest';
import { addMember, call, createGroup, createUser, gql, ADMIN, type TestUser } from '../support/api';
import { NOT_AVAILABLE, createDestination, ok, topErrors } from './support';

let owner: TestUser;
let top: { id: number; full_path: string };
let destination: { id: string };
let headerId: string;
const actors: Record<string, string | null> = {};

beforeAll(async () => {
  owner = await createUser();
  top = await createGroup({ token: owner.token });
  const sub = await createGroup({ token: owner.token, parentId: top.id });
  destination = await createDestination(owner.token, top.full_path);
  const h = await ok(
    `mutation { auditEventsStreamingHeadersCreate(input: { destinationId: "${destination.id}", key: "X-A", value: "b" }) { errors header { id } } }`,
    owner.token,
  );
  headerId = h.auditEventsStreamingHeadersCreate.header.id;
  actors.anonymous = null;
  actors.nonMember = (await createUser()).token;
  for (const [role, level] of [['guest', 10], ['reporter', 20], ['developer', 30], ['maintainer', 40]] as const) {
    const u = await createUser();
    await addMember('groups', top.id, u.id, level);
    actors[role] = u.token;
  }
  const subOwner = await createUser();
  await addMember('groups', sub.id, subOwner.id, 50);
  actors.subgroupOwnerOnly = subOwner.token;
  const readOnlyOwner = await createUser({ scopes: ['read_api'] });
  await addMember('groups', top.id, readOnlyOwner.id, 50);
  actors.ownerWithReadApiToken = readOnlyOwner.token;
});

const operations = () => ({
  create: `mutation { externalAuditEventDestinationCreate(input: { destinationUrl: "https://example.com/denied", groupPath: "${top.full_path}" }) { errors } }`,
  update: `mutation { externalAuditEventDestinationUpdate(input: { id: "${destination.id}", name: "hijack" }) { errors } }`,
  destroy: `mutation { externalAuditEventDestinationDestroy(input: { id: "${destination.id}" }) { errors } }`,
  headerCreate: `mutation { auditEventsStreamingHeadersCreate(input: { destinationId: "${destination.id}", key: "k", value: "v" }) { errors } }`,
  headerUpdate: `mutation { auditEventsStreamingHeadersUpdate(input: { headerId: "${headerId}", value: "v" }) { errors } }`,
  headerDestroy: `mutation { auditEventsStreamingHeadersDestroy(input: { headerId: "${headerId}" }) { errors } }`,
  eventsAdd: `mutation { auditEventsStreamingDestinationEventsAdd(input: { destinationId: "${destination.id}", eventTypeFilters: ["user_created"] }) { errors } }`,
  eventsRemove: `mutation { auditEventsStreamingDestinationEventsRemove(input: { destinationId: "${destination.id}", eventTypeFilters: ["user_created"] }) { errors } }`,
  namespaceFilter: `mutation { auditEventsStreamingHttpNamespaceFiltersAdd(input: { destinationId: "${destination.id}", groupPath: "${top.full_path}" }) { errors } }`,
  rotate: `mutation { auditEventsStreamingDestinationSigningSecretRotate(input: { destinationId: "${destination.id}" }) { errors } }`,
  instanceCreate: `mutation { instanceExternalAuditEventDestinationCreate(input: { destinationUrl: "https://example.com/denied-instance" }) { errors } }`,
  instanceList: `{ instanceExternalAuditEventDestinations { nodes { id } } }`,
});

describe('permission matrix', () => {
  it('everyone but the owner (and admin) gets "resource not available" for every operation', async () => {
    for (const [who, token] of Object.entries(actors)) {
      for (const [op, query] of Object.entries(operations())) {
        const r = await gql(query, undefined, token);
        expect(r.status, `${who} ${op}`).toBe(200);
        expect(r.body.errors?.map((e) => e.message), `${who} ${op}`).toEqual([NOT_AVAILABLE]);
      }
    }
  });

  it('the list: the group is hidden from outsiders, its destinations (and tokens) from members who are no owner', async () => {
    // What each caller sees of the private group's destinations: 'hidden' (no group at all),
    // 'denied' (the group, its destinations refused), or 'listed' (an owner with a read_api
    // token: reading needs no write scope).
    const expected: Record<string, 'hidden' | 'denied' | 'listed'> = {
      anonymous: 'hidden',
      nonMember: 'hidden',
      guest: 'denied',
      reporter: 'denied',
      developer: 'denied',
      maintainer: 'denied',
      subgroupOwnerOnly: 'hidden',
      ownerWithReadApiToken: 'listed',
    };
    expect(Object.keys(expected).sort()).toEqual(Object.keys(actors).sort());
    for (const [who, token] of Object.entries(actors)) {
      const list = await gql(`{ group(fullPath: "${top.full_path}") { externalAuditEventDestinations { nodes { id verificationToken signingSecret } } } }`, undefined, token);
      expect(list.status, who).toBe(200);
      const seen =
        expected[who] === 'hidden'
          ? { data: { group: null } }
          : expected[who] === 'denied'
            ? { data: { group: { externalAuditEventDestinations: null } }, errors: [NOT_AVAILABLE] }
            : { data: { group: { externalAuditEventDestinations: { nodes: [{ id: destination.id, verificationToken: expect.any(String), signingSecret: expect.stringMatching(/^whsec_/) }] } } } };
      expect({ data: list.body.data, ...(list.body.errors ? { errors: list.body.errors.map((e) => e.message) } : {}) }, who).toEqual(seen);
    }
  });

  it('an owner of a subgroup only learns "Group must not be a subgroup" for that subgroup', async () => {
    const subOwner = await createUser();
    const sub = await createGroup({ token: ADMIN, parentId: top.id });
    await addMember('groups', sub.id, subOwner.id, 50);
    const r = await ok(
      `mutation { externalAuditEventDestinationCreate(input: { destinationUrl: "https://example.com/s", groupPath: "${sub.full_path}" }) { errors externalAuditEventDestination { id } } }`,
      subOwner.token,
    );
    expect(r.externalAuditEventDestinationCreate).toEqual({ errors: ['Group must not be a subgroup'], externalAuditEventDestination: null });
    // A developer of that subgroup learns nothing.
    const dev = await createUser();
    await addMember('groups', sub.id, dev.id, 30);
    expect(await topErrors(`mutation { externalAuditEventDestinationCreate(input: { destinationUrl: "https://example.com/s", groupPath: "${sub.full_path}" }) { errors } }`, dev.token)).toEqual([
      NOT_AVAILABLE,
    ]);
  });

  it('the owner and an administrator may read and change', async () => {
    for (const token of [owner.token, ADMIN]) {
      const list = await ok(`{ group(fullPath: "${top.full_path}") { externalAuditEventDestinations { nodes { id verificationToken signingSecret } } } }`, token);
      expect(list.group.externalAuditEventDestinations.nodes[0].id).toBe(destination.id);
      expect(list.group.externalAuditEventDestinations.nodes[0].signingSecret).toMatch(/^whsec_/);
      const upd = await ok(operations().headerUpdate, token);
      expect(upd.auditEventsStreamingHeadersUpdate.errors).toEqual([]);
    }
  });
});

describe('GID misuse', () => {
  it('wrong type, unknown id, malformed and another group\'s destination are all "not available"', async () => {
    const otherOwner = await createUser();
    const other = await createGroup({ token: otherOwner.token });
    const foreign = await createDestination(otherOwner.token, other.full_path);
    const ids = [
      headerId, // a header GID where a destination GID belongs
      destination.id.replace('ExternalAuditEventDestination', 'InstanceExternalAuditEventDestination'),
      'gid://gitlab/AuditEvents::ExternalAuditEventDestination/999999999',
      'gid://gitlab/AuditEvents::ExternalAuditEventDestination/abc',
      'not-a-gid',
      '',
      foreign.id,
    ];
    for (const id of ids) {
      expect(await topErrors(`mutation { externalAuditEventDestinationUpdate(input: { id: "${id}", name: "x" }) { errors } }`, owner.token), id).toEqual([NOT_AVAILABLE]);
      expect(await topErrors(`mutation { auditEventsStreamingHeadersCreate(input: { destinationId: "${id}", key: "k", value: "v" }) { errors } }`, owner.token), id).toEqual([
        NOT_AVAILABLE,
      ]);
    }
    for (const id of [destination.id, 'gid://gitlab/AuditEvents::Streaming::Header/999999999', 'gid://gitlab/AuditEvents::Streaming::InstanceHeader/1']) {
      expect(await topErrors(`mutation { auditEventsStreamingHeadersDestroy(input: { headerId: "${id}" }) { errors } }`, owner.token), id).toEqual([NOT_AVAILABLE]);
    }
    expect(await topErrors(`mutation { auditEventsStreamingHttpNamespaceFiltersDelete(input: { namespaceFilterId: "${destination.id}" }) { errors } }`, owner.token)).toEqual([
      NOT_AVAILABLE,
    ]);
    // The foreign destination is untouched.
    const theirs = await ok(`{ group(fullPath: "${other.full_path}") { externalAuditEventDestinations { nodes { id headers { nodes { id } } } } } }`, otherOwner.token);
    expect(theirs.group.externalAuditEventDestinations.nodes).toEqual([{ id: foreign.id, headers: { nodes: [] } }]);
  });
});

describe('GraphQL over HTTP', () => {
  const url = (q: string) => `/api/graphql?query=${encodeURIComponent(q)}`;
  it('answers with the right status codes', async () => {
    const get = await call('GET', url(`{ group(fullPath: "${top.full_path}") { externalAuditEventDestinations { nodes { id } } } }`), { token: owner.token });
    expect(get.status).toBe(200);
    expect(((await get.json()) as any).data.group.externalAuditEventDestinations.nodes[0].id).toBe(destination.id);
    const getMutation = await call('GET', url(`mutation { externalAuditEventDestinationDestroy(input: { id: "${destination.id}" }) { errors } }`), { token: owner.token });
    expect(getMutation.status).toBe(405);
    const parse = await gql('mutation { externalAuditEventDestinationCreate(', undefined, owner.token);
    expect(parse.status).toBe(400);
    expect(parse.body.errors![0].message).toMatch(/^Syntax Error/);
    const invalid = await gql('mutation { externalAuditEventDestinationCreate(input: { groupPath: "x" }) { errors } }', undefined, owner.token);
    expect(invalid.status).toBe(400);
    expect(invalid.body.errors![0].message).toMatch(/destinationUrl/);
    const badVariable = await gql('mutation($id: AuditEventsExternalAuditEventDestinationID!) { externalAuditEventDestinationDestroy(input: { id: $id }) { errors } }', {}, owner.token);
    expect(badVariable.status).toBe(400);
    const put = await call('PUT', '/api/graphql', { token: owner.token, body: { query: '{ currentUser { id } }' } });
    expect(put.status).toBe(405);
    // The destination survived the GET mutation.
    const still = await ok(`{ group(fullPath: "${top.full_path}") { externalAuditEventDestinations { count } } }`, owner.token);
    expect(still.group.externalAuditEventDestinations.count).toBe(1);
  });

  it('refuses oversized and deeply nested queries with clear errors', async () => {
    const big = await gql(`{ currentUser { id } }${' '.repeat(10_001)}`, undefined, owner.token);
    expect(big.status).toBe(400);
    expect(big.body.errors![0].message).toBe('Query too large');
    const deep = `{ group(fullPath: "${top.full_path}") { ${'parent { '.repeat(16)}id${' }'.repeat(16)} } }`;
    const r = await gql(deep, undefined, owner.token);
    expect(r.status).toBe(400);
    expect(r.body.errors![0].message).toBe('Query has depth of 18, which exceeds max depth of 15');
  });

  it('introspection lists GitLab\'s scalar, input and payload names', async () => {
    const d = await ok('{ __schema { types { name } } }', null);
    const names = new Set(d.__schema.types.map((t: { name: string }) => t.name));
    for (const n of [
      'AuditEventsExternalAuditEventDestinationID',
      'AuditEventsInstanceExternalAuditEventDestinationID',
      'AuditEventsStreamingHeaderID',
      'AuditEventsStreamingInstanceHeaderID',
      'AuditEventsStreamingHTTPNamespaceFilterID',
      'ExternalAuditEventDestination',
      'InstanceExternalAuditEventDestination',
      'AuditEventStreamingHeader',
      'AuditEventsStreamingInstanceHeader',
      'AuditEventStreamingHTTPNamespaceFilter',
      'ExternalAuditEventDestinationCreateInput',
      'ExternalAuditEventDestinationCreatePayload',
      'AuditEventsStreamingHeadersCreateInput',
      'AuditEventsStreamingDestinationEventsAddInput',
      'AuditEventsStreamingHTTPNamespaceFiltersAddInput',
      'InstanceExternalAuditEventDestinationCreateInput',
    ]) {
      expect(names.has(n), n).toBe(true);
    }
  });
});
