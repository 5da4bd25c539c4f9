/**
 * What the reference document's destinations list costs in D1 round trips: a fixed number
 * (caller, group, membership, one batch for destinations with their headers and filters), not
 * one or two more per destination.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { handleGraphql } from '../../src/graphql/handler';
import { BASE, createGroup, createProject, createUser, gql, type TestUser } from '../support/api';
import { env } from 'cloudflare:workers';
import { createDestination, idOf, ok } from './support';
import { countingEnv } from '../support/d1';

const LIST = (path: string) => `query { group(fullPath: "${path}") { id externalAuditEventDestinations { nodes {
  destinationUrl verificationToken id headers { nodes { key value id } } eventTypeFilters } } } }`;

let owner: TestUser;

beforeAll(async () => {
  owner = await createUser();
});

/** Run a query as the owner on a counting env: its data and the D1 round trips it cost. */
async function queryCost(query: string): Promise<{ roundTrips: number; data: any }> {
  const counting = countingEnv();
  const ctx = createExecutionContext();
  const res = await handleGraphql(
    new Request(`${BASE}/api/graphql`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'PRIVATE-TOKEN': owner.token }, body: JSON.stringify({ query }) }),
    counting.env,
    ctx,
  );
  const body = (await res.json()) as any;
  await waitOnExecutionContext(ctx);
  expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
  return { roundTrips: counting.roundTrips(), data: body.data };
}

async function listCost(path: string): Promise<{ roundTrips: number; nodes: any[] }> {
  const { roundTrips, data } = await queryCost(LIST(path));
  return { roundTrips, nodes: data.group.externalAuditEventDestinations.nodes };
}

async function addDestination(path: string, headers: number) {
  const d = await createDestination(owner.token, path, { destinationUrl: `http://127.0.0.1:9/${crypto.randomUUID()}` });
  for (let h = 0; h < headers; h++) {
    await ok(`mutation($i: AuditEventsStreamingHeadersCreateInput!) { auditEventsStreamingHeadersCreate(input: $i) { errors } }`, owner.token, {
      i: { destinationId: d.id, key: `X-Cost-${h}`, value: 'v' },
    });
  }
  await ok(`mutation($i: AuditEventsStreamingDestinationEventsAddInput!) { auditEventsStreamingDestinationEventsAdd(input: $i) { errors } }`, owner.token, {
    i: { destinationId: d.id, eventTypeFilters: ['release_created'] },
  });
}

describe('destinations list: D1 round trips', () => {
  it('a fixed number, whatever the count of destinations, headers and filters', async () => {
    const group = await createGroup({ token: owner.token });
    await addDestination(group.full_path, 1);
    const one = await listCost(group.full_path);
    expect(one.nodes).toHaveLength(1);
    for (let i = 0; i < 4; i++) await addDestination(group.full_path, 3);
    const five = await listCost(group.full_path);
    expect(five.nodes).toHaveLength(5);
    expect(five.nodes.map((n) => n.headers.nodes.length)).toEqual([1, 3, 3, 3, 3]);
    expect(five.nodes.every((n) => n.eventTypeFilters.length === 1 && typeof n.verificationToken === 'string')).toBe(true);
    expect(five.roundTrips).toBe(one.roundTrips);
    // The caller's token, the group, the owner's membership, the listing batch.
    expect(five.roundTrips).toBeLessThanOrEqual(4);
    // Unchanged for a caller who is not allowed: the answer is the permission error, not data.
    const stranger = await createUser();
    const r = await gql(LIST(group.full_path), undefined, stranger.token);
    expect(r.body.data?.group?.externalAuditEventDestinations ?? null).toBeNull();
  });
});

const FILTERED_LIST = (path: string) => `query { group(fullPath: "${path}") { externalAuditEventDestinations { nodes {
  id group { fullPath } namespaceFilter { id namespace { id fullPath } externalAuditEventDestination { id } } } } } }`;

describe('destinations list with namespace filters: D1 round trips', () => {
  it('do not grow with the number of destinations and filters', async () => {
    const group = await createGroup({ token: owner.token });
    const targets: string[] = [];
    const addFiltered = async (i: number) => {
      const d = await createDestination(owner.token, group.full_path, { destinationUrl: `http://127.0.0.1:9/${crypto.randomUUID()}` });
      // Alternately a subgroup and a project of the group.
      const target =
        i % 2 === 0
          ? { groupPath: (await createGroup({ token: owner.token, parentId: group.id })).full_path }
          : { projectPath: (await createProject(group.id, { token: owner.token })).path_with_namespace };
      targets.push(target.groupPath ?? target.projectPath);
      const r = await ok(
        `mutation($i: AuditEventsStreamingHTTPNamespaceFiltersAddInput!) { auditEventsStreamingHttpNamespaceFiltersAdd(input: $i) { errors } }`,
        owner.token,
        { i: { destinationId: d.id, ...target } },
      );
      expect(r.auditEventsStreamingHttpNamespaceFiltersAdd.errors).toEqual([]);
    };
    await addFiltered(0);
    await addFiltered(1);
    const two = await queryCost(FILTERED_LIST(group.full_path));
    for (let i = 2; i < 4; i++) await addFiltered(i);
    const four = await queryCost(FILTERED_LIST(group.full_path));
    const nodes = four.data.group.externalAuditEventDestinations.nodes;
    expect(nodes.map((n: any) => n.namespaceFilter.namespace.fullPath)).toEqual(targets);
    expect(nodes.every((n: any) => n.group.fullPath === group.full_path && n.namespaceFilter.externalAuditEventDestination.id === n.id)).toBe(true);
    expect(nodes.map((n: any) => n.namespaceFilter.namespace.id.split('/').slice(0, -1).join('/'))).toEqual([
      'gid://gitlab/Group',
      'gid://gitlab/Namespaces::ProjectNamespace',
      'gid://gitlab/Group',
      'gid://gitlab/Namespaces::ProjectNamespace',
    ]);
    expect(four.roundTrips).toBe(two.roundTrips);
    // The caller's token, the group, the membership, the listing batch, the filters' groups and projects.
    expect(four.roundTrips).toBeLessThanOrEqual(6);
  });
});

const STREAMING_LIST = (path: string) => `query { group(fullPath: "${path}") { externalAuditEventStreamingDestinations { nodes {
  id name category config secretToken active eventTypeFilters namespaceFilters { id namespace { id fullPath } externalStreamingDestination { id } } } } } }`;

describe('consolidated destinations list (issue 16): D1 round trips', () => {
  it('do not grow with the number of destinations, headers and namespace filters', async () => {
    const group = await createGroup({ token: owner.token });
    const addDestinationWithFilters = async () => {
      await addDestination(group.full_path, 2);
      const listed = await ok(`query { group(fullPath: "${group.full_path}") { externalAuditEventStreamingDestinations { nodes { id } } } }`, owner.token);
      const id = listed.group.externalAuditEventStreamingDestinations.nodes.at(-1).id;
      for (const path of [(await createGroup({ token: owner.token, parentId: group.id })).full_path, (await createProject(group.id, { token: owner.token })).path_with_namespace]) {
        const r = await ok(
          `mutation($i: AuditEventsGroupDestinationNamespaceFilterCreateInput!) { auditEventsGroupDestinationNamespaceFilterCreate(input: $i) { errors } }`,
          owner.token,
          { i: { destinationId: id, namespacePath: path } },
        );
        expect(r.auditEventsGroupDestinationNamespaceFilterCreate.errors).toEqual([]);
      }
    };
    await addDestinationWithFilters();
    const one = await queryCost(STREAMING_LIST(group.full_path));
    for (let i = 0; i < 3; i++) await addDestinationWithFilters();
    const four = await queryCost(STREAMING_LIST(group.full_path));
    const nodes = four.data.group.externalAuditEventStreamingDestinations.nodes;
    expect(nodes).toHaveLength(4);
    expect(nodes.every((n: any) => n.namespaceFilters.length === 2 && Object.keys(n.config.headers).length === 2 && n.eventTypeFilters.length === 1)).toBe(true);
    expect(nodes.every((n: any) => n.namespaceFilters.every((f: any) => f.externalStreamingDestination.id === n.id && f.namespace.fullPath))).toBe(true);
    console.log(`consolidated destinations list: ${one.roundTrips} D1 round trips for 1 destination, ${four.roundTrips} for 4 (2 headers, 2 namespace filters each)`);
    expect(four.roundTrips).toBe(one.roundTrips);
    // The caller's token, the group, the membership, the listing batch, the filters' groups and projects.
    expect(four.roundTrips).toBeLessThanOrEqual(6);
  });
});

const DELIVERY_PAGE = (path: string, first: number) => `query { group(fullPath: "${path}") { externalAuditEventDestinations { nodes {
  deliveries(status: DELIVERED, first: ${first}) { nodes { id eventType attempts { attempt status httpStatus } } } } } } }`;

describe('a page of deliveries with their attempts: D1 round trips', () => {
  it('do not grow with the number of deliveries on the page', async () => {
    const group = await createGroup({ token: owner.token });
    // Nothing is ever delivered to port 9: the delivered deliveries are exactly the rows below.
    const d = await createDestination(owner.token, group.full_path, { destinationUrl: `http://127.0.0.1:9/${crypto.randomUUID()}` });
    const destinationId = idOf(d.id);
    // The group's creation event: recorded before the destination existed, so never routed to it.
    const event = await env.DB.prepare("SELECT id, event_type FROM audit_events WHERE entity_type = 'Group' AND entity_id = ?1 ORDER BY id LIMIT 1")
      .bind(group.id)
      .first<{ id: number; event_type: string }>();
    const now = new Date().toISOString();
    // Six deliveries (of fake event ids but the first), with 2, 3, ... 7 attempts each; the newest has 102.
    const deliveryIds: number[] = [];
    for (let i = 0; i < 6; i++) {
      const eventId = i === 0 ? event!.id : 1_000_000_000 + destinationId * 10 + i;
      const row = await env.DB.prepare(
        `INSERT INTO deliveries (event_id, destination_id, status, attempts, created_at, updated_at) VALUES (?1, ?2, 'delivered', ?3, ?4, ?4) RETURNING id`,
      )
        .bind(eventId, destinationId, i + 2, now)
        .first<{ id: number }>();
      deliveryIds.push(row!.id);
      const attempts = i === 5 ? 102 : i + 2;
      await env.DB.batch(
        Array.from({ length: attempts }, (_, a) =>
          env.DB.prepare(
            `INSERT INTO delivery_attempts (delivery_id, attempt, status, http_status, duration_ms, created_at) VALUES (?1, ?2, 'failed', 500, 1, ?3)`,
          ).bind(row!.id, a + 1, now),
        ),
      );
    }
    const page = async (first: number) => {
      const r = await queryCost(DELIVERY_PAGE(group.full_path, first));
      return { roundTrips: r.roundTrips, nodes: r.data.group.externalAuditEventDestinations.nodes[0].deliveries.nodes };
    };
    const one = await page(1);
    const six = await page(6);
    expect(one.nodes).toHaveLength(1);
    expect(six.nodes).toHaveLength(6);
    // Newest first; each with its own attempts, oldest first, at most 100 (the newest kept).
    expect(six.nodes.map((n: any) => idOf(n.id))).toEqual([...deliveryIds].reverse());
    expect(six.nodes.map((n: any) => n.attempts.length)).toEqual([100, 6, 5, 4, 3, 2]);
    expect(six.nodes[0].attempts[0].attempt).toBe(3);
    expect(six.nodes[0].attempts[99].attempt).toBe(102);
    expect(six.nodes[5].attempts).toEqual([
      { attempt: 1, status: 'FAILED', httpStatus: 500 },
      { attempt: 2, status: 'FAILED', httpStatus: 500 },
    ]);
    expect(six.nodes[5].eventType).toBe(event!.event_type);
    expect(six.nodes[0].eventType).toBeNull();
    expect(six.roundTrips).toBe(one.roundTrips);
    // The page's count (every delivery of the destination, read in its index) only when asked for.
    const counted = await queryCost(DELIVERY_PAGE(group.full_path, 6).replace('{ nodes { id eventType', '{ count nodes { id eventType'));
    expect(counted.data.group.externalAuditEventDestinations.nodes[0].deliveries.count).toBe(6);
    expect(counted.roundTrips).toBe(six.roundTrips + 1);
  });
});
