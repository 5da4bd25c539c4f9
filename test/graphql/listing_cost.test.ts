/**
 * What the reference document's destinations list costs in D1 round trips: a fixed number
 * (caller, group, membership, one batch for destinations with their headers and filters), not
 * one or two more per destination.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { handleGraphql } from '../../src/graphql/handler';
import { BASE, createGroup, createUser, gql, type TestUser } from '../support/api';
import { createDestination, ok } from './support';
import { countingEnv } from '../support/d1';

const LIST = (path: string) => `query { group(fullPath: "${path}") { id externalAuditEventDestinations { nodes {
  destinationUrl verificationToken id headers { nodes { key value id } } eventTypeFilters } } } }`;

let owner: TestUser;

beforeAll(async () => {
  owner = await createUser();
});

async function listCost(path: string): Promise<{ roundTrips: number; nodes: any[] }> {
  const counting = countingEnv();
  const ctx = createExecutionContext();
  const res = await handleGraphql(
    new Request(`${BASE}/api/graphql`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'PRIVATE-TOKEN': owner.token }, body: JSON.stringify({ query: LIST(path) }) }),
    counting.env,
    ctx,
  );
  const body = (await res.json()) as any;
  await waitOnExecutionContext(ctx);
  expect(body.errors, JSON.stringify(body.errors)).toBeUndefined();
  return { roundTrips: counting.roundTrips(), nodes: body.data.group.externalAuditEventDestinations.nodes };
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
