/**
 * What the reference document's destinations list costs in D1 round trips: a fixed number
 * (caller, group, membership, one batch for destinations with their headers and filters), not
 * one or two more per destination.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { handleGraphql } from '../../src/graphql/handler';
import type { Env } from '../../src/env';
import { BASE, createGroup, createUser, gql, type TestUser } from '../support/api';
import { createDestination, ok } from './support';

/** env.DB wrapped so that every D1 round trip (a statement's first/all/run/raw, or a batch) is counted. */
function countingEnv(): { env: Env; roundTrips: () => number } {
  let n = 0;
  const real = new WeakMap<object, D1PreparedStatement>();
  const wrap = (s: D1PreparedStatement): D1PreparedStatement => {
    const p = new Proxy(s, {
      get(t, k) {
        if (k === 'bind') return (...args: unknown[]) => wrap(t.bind(...args));
        if (k === 'first' || k === 'all' || k === 'run' || k === 'raw') n++;
        const v = Reflect.get(t, k, t);
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
    real.set(p, s);
    return p;
  };
  const db = new Proxy(env.DB, {
    get(t, k) {
      if (k === 'prepare') return (sql: string) => wrap(t.prepare(sql));
      if (k === 'batch') return (stmts: D1PreparedStatement[]) => (n++, t.batch(stmts.map((s) => real.get(s) ?? s)));
      const v = Reflect.get(t, k, t);
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
  return { env: { ...env, DB: db } as Env, roundTrips: () => n };
}

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
