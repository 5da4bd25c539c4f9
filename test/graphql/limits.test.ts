/**
 * GraphQL limits (issue 17): each static limit at its boundary, counted through fragments; the
 * verdict cache (whitespace-insensitive, bounded); the per-request budget of resolver calls
 * and D1 queries, enforced while the document runs; and the documents the web pages send,
 * which must stay within all of it. Attack documents: test/sweeps/graphql_bombs.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { getIntrospectionQuery } from 'graphql';
import { LIMITS } from '../../src/graphql/limits';
import { BUDGET } from '../../src/graphql/budget';
import { clearDocumentCache, documentCacheStats } from '../../src/graphql/documents';
import { STREAMS } from '../../web/src/streams/config';
import { ADMIN, api, createGroup, createProject, createUser, type TestUser } from '../support/api';
import { groupDestination, httpConfig } from './streaming_support';
import { measured, messages, spent } from './limits_support';

/** `n` copies of `field` (aliased `a0`… when `alias`), in fragments of 10 spread from one. */
function throughFragments(n: number, field: (i: number) => string): string {
  const tens = Math.ceil(n / 10);
  const defs = Array.from({ length: tens }, (_, t) => {
    const fields = Array.from({ length: Math.min(10, n - t * 10) }, (_, k) => field(t * 10 + k));
    return `fragment T${t} on Query { ${fields.join(' ')} }`;
  });
  return `query { ...All }\nfragment All on Query { ${Array.from({ length: tens }, (_, t) => `...T${t}`).join(' ')} }\n${defs.join('\n')}`;
}

describe('static limits, counted through fragments', () => {
  let sub: { full_path: string };
  beforeAll(async () => {
    const g = await createGroup({ visibility: 'public' });
    let parent = g as { id: number; full_path: string };
    for (let i = 0; i < 14; i++) parent = (await createGroup({ visibility: 'public', parentId: parent.id })) as typeof parent;
    sub = parent;
  });

  const parents = (n: number) => `query { group(fullPath: "${sub.full_path}") { ...P0 } }\n${Array.from({ length: n }, (_, i) => `fragment P${i} on Group { parent { ${i + 1 < n ? `...P${i + 1}` : 'id'} } }`).join('\n')}`;

  it('depth: 15 answers, 16 is refused', async () => {
    // group (1), 13 parents, id (15).
    const fifteen = await measured(parents(13));
    expect(fifteen.body.errors).toBeUndefined();
    expect(fifteen.status).toBe(200);
    const sixteen = await measured(parents(14));
    expect([sixteen.status, messages(sixteen)]).toEqual([400, ['Query has depth of 16, which exceeds max depth of 15']]);
  });

  it('aliases: 30 answer, 31 are refused', async () => {
    const thirty = await measured(throughFragments(30, (i) => `a${i}: __typename`));
    expect([thirty.status, Object.keys(thirty.body.data ?? {}).length]).toEqual([200, 30]);
    const more = await measured(throughFragments(31, (i) => `a${i}: __typename`));
    expect([more.status, messages(more)]).toEqual([400, ['Query has 31 aliases, which exceeds max aliases of 30']]);
  });

  it('directives: 50 answer, 51 are refused', async () => {
    const fifty = await measured(throughFragments(50, () => '__typename @include(if: true)'));
    expect([fifty.status, fifty.body.data]).toEqual([200, { __typename: 'Query' }]);
    const more = await measured(throughFragments(51, () => '__typename @include(if: true)'));
    expect([more.status, messages(more)]).toEqual([400, ['Query has 51 directives, which exceeds max directives of 50']]);
  });

  it('complexity: 1,000 field selections answer, 1,001 are refused', async () => {
    // X1's 10 fields, spread n / 20 times by X0, spread twice: n selections of __typename written 10 times.
    const doc = (n: number) => `query { ...X0 ...X0 }\nfragment X0 on Query { ${'...X1 '.repeat(n / 20)}}\nfragment X1 on Query { ${'__typename '.repeat(10)}}`;
    const thousand = await measured(doc(1_000));
    expect([thousand.status, thousand.body.data]).toEqual([200, { __typename: 'Query' }]);
    const more = await measured(`${doc(1_000).replace('query { ...X0 ...X0 }', 'query { ...X0 ...X0 __typename }')}`);
    expect([more.status, messages(more)]).toEqual([400, ['Query has complexity of 1001, which exceeds max complexity of 1000']]);
  });

  it('tokens: 5,000 are parsed, 5,001 are refused', async () => {
    // `{`, `__typename`, `}` and `!`s are no document: 5,000 tokens reach the parser (its syntax error), 5,001 do not.
    const within = await measured(`{ __typename }${'!'.repeat(LIMITS.maxTokens - 3)}`);
    expect([within.status, messages(within)]).toEqual([400, ['Syntax Error: Unexpected "!".']]);
    const over = await measured(`{ __typename }${'!'.repeat(LIMITS.maxTokens - 2)}`);
    expect([over.status, messages(over)]).toEqual([400, ['Query too large']]);
  });

  it('one __schema per operation: introspection clients (graphql-js\'s full query) answer', async () => {
    const full = await measured(getIntrospectionQuery({ descriptions: true, specifiedByUrl: true, directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true }));
    expect(full.body.errors).toBeUndefined();
    expect(full.body.data.__schema.types.length).toBeGreaterThan(100);
    const two = await measured('{ a: __schema { queryType { name } } b: __schema { queryType { name } } }');
    expect([two.status, messages(two)]).toEqual([400, ['Query has 2 __schema fields, which exceeds max __schema fields of 1']]);
  });
});

describe('the verdict cache', () => {
  it('finds a document whatever its whitespace, commas and comments; string values count', async () => {
    clearDocumentCache();
    const base = '{ a: __typename b: group(fullPath: "x  y") { id } }';
    for (const variant of [base, `${base} `, `\n\t${base.replace(/ /g, '  ').replace('"x    y"', '"x  y"')}`, base.replace(' b:', ', b:'), `# a comment\n${base}`]) {
      const r = await measured(variant);
      expect([r.status, r.body.data]).toEqual([200, { a: 'Query', b: null }]);
    }
    expect(documentCacheStats()).toMatchObject({ size: 1, misses: 1, hits: 4 });
    await measured(base.replace('"x  y"', '"x y"'));
    expect(documentCacheStats()).toMatchObject({ size: 2, misses: 2 });
  });

  it('answers each spacing with locations in its own text', async () => {
    clearDocumentCache();
    // Valid: the cached verdict is reused (a hit), the text parsed again for its locations.
    const failing = '{ user(id: "bad") { id } }';
    const first = await measured(failing);
    const moved = await measured(`\n\n  ${failing}`);
    expect(messages(moved)).toEqual(['"bad" is not a valid Global ID']);
    expect([first.body.errors![0].locations, moved.body.errors![0].locations]).toEqual([[{ line: 1, column: 3 }], [{ line: 3, column: 5 }]]);
    expect(documentCacheStats()).toMatchObject({ size: 1, misses: 1, hits: 1 });
    // Invalid at a position: decided again for the other spacing.
    const invalid = '{ group(fullPath: "x") { nope } }';
    const a = await measured(invalid);
    const b = await measured(`\n${invalid}`);
    expect([a.status, b.status, messages(b)]).toEqual([400, 400, ['Cannot query field "nope" on type "Group". Did you mean "name"?']]);
    expect([a.body.errors![0].locations, b.body.errors![0].locations]).toEqual([[{ line: 1, column: 26 }], [{ line: 2, column: 26 }]]);
    expect(documentCacheStats()).toMatchObject({ size: 2, misses: 3, hits: 1 });
  });

  it('keeps refusals too, and is bounded', async () => {
    clearDocumentCache();
    const bomb = `query { ...F0 }\n${Array.from({ length: 25 }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`).join('\n')}\nfragment F25 on Query { __typename }`;
    for (const variant of [bomb, `${bomb} `, `${bomb}\n\n`]) {
      const r = await measured(variant);
      expect([r.status, messages(r)]).toEqual([400, [`Query has complexity of ${2 ** 25}, which exceeds max complexity of 1000`]]);
    }
    expect(documentCacheStats()).toMatchObject({ size: 1, misses: 1, hits: 2 });
    for (let i = 0; i <= LIMITS.cacheEntries; i++) await measured(`{ n${i}: __typename }`);
    expect(documentCacheStats().size).toBe(LIMITS.cacheEntries);
  });
});

describe('the request budget', () => {
  let owner: TestUser;
  let chain: { full_path: string };
  /** A project with a full page of releases: 100, two links each. */
  let releases: { path_with_namespace: string };
  beforeAll(async () => {
    owner = await createUser();
    let g = (await createGroup({ visibility: 'public' })) as { id: number; full_path: string };
    for (let i = 0; i < 3; i++) g = (await createGroup({ visibility: 'public', parentId: g.id })) as typeof g;
    chain = g;
    const project = await createProject((await createGroup()).id);
    for (let i = 0; i < 100; i++) {
      const links = ['a', 'b'].map((name) => ({ name, url: `https://example.com/v${i}/${name}` }));
      expect((await api('POST', `/api/v4/projects/${project.id}/releases`, { token: ADMIN, body: { tag_name: `v${i}`, assets: { links } } })).status).toBe(201);
    }
    releases = project;
  });

  it(`stops at ${BUDGET.d1Queries} D1 queries: 30 aliased groups and 3 parents each (120 queries without the budget) get one error`, async () => {
    const doc = `{ ${Array.from({ length: 30 }, (_, i) => `g${i}: group(fullPath: "${chain.full_path}") { parent { parent { parent { id } } } }`).join(' ')} }`;
    const r = await measured(doc);
    expect([r.status, messages(r)]).toEqual([200, [`Query exceeded the budget of ${BUDGET.d1Queries} D1 queries per request`]]);
    expect(r.d1).toBeLessThanOrEqual(BUDGET.d1Queries);
    // What was read within the budget is answered; what was not is null.
    expect(r.body.data.g0).not.toBeNull();
    expect(JSON.stringify(r.body.data)).toContain('null');
  });

  it(`stops at ${BUDGET.resolverCalls} resolver calls: 100 releases × 2 links × 29 aliased ids get one error`, async () => {
    const doc = (fields: string) => `query { project(fullPath: "${releases.path_with_namespace}") { releases(first: 100) { nodes { assets { links { nodes { ...L } } } } } } }
      fragment L on ReleaseLink { ${fields} }`;
    const within = await measured(doc('i0: id name'), ADMIN);
    expect(within.body.errors).toBeUndefined();
    expect(within.body.data.project.releases.nodes.map((n: any) => n.assets.links.nodes.length)).toEqual(Array(100).fill(2));
    const r = await measured(doc(Array.from({ length: 29 }, (_, i) => `i${i}: id`).join(' ')), ADMIN);
    expect([r.status, messages(r)]).toEqual([200, [`Query exceeded the budget of ${BUDGET.resolverCalls} resolver calls per request`]]);
    expect(r.d1).toBeLessThanOrEqual(BUDGET.d1Queries);
  });

  it('leaves room for the web pages\' heaviest documents (5 destinations with their deliveries)', async () => {
    const group = await createGroup({ token: owner.token });
    const headers = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`X-H${i}`, { value: 'v', active: true }]));
    for (let i = 0; i < 5; i++) await groupDestination(owner.token, group.full_path, { config: httpConfig(headers) });
    const list = await measured(STREAMS.group.list, owner.token, { fullPath: group.full_path });
    expect(list.body.errors).toBeUndefined();
    expect(list.body.data.group.externalAuditEventDestinations.nodes).toHaveLength(5);
    // The Streams tab's deliveries query (web/src/streams/delivery_data.ts), every field it asks.
    const deliveries = `query ($fullPath: ID!, $status: AuditEventStreamingDeliveryStatus, $after: String, $first: Int) { group(fullPath: $fullPath) {
      externalAuditEventStreamingDestinations(first: 100) { nodes { id deliveryCounts { pending delivered failed total }
        deliveries(first: $first, after: $after, status: $status) { count pageInfo { hasNextPage endCursor } nodes {
          id eventId eventType status attemptsCount lastHttpStatus lastError createdAt updatedAt deliveredAt nextRetryAt
          attempts { attempt status httpStatus durationMs errorClass responseExcerpt createdAt } } } } } } }`;
    const page = await measured(deliveries, owner.token, { fullPath: group.full_path, first: 20 });
    expect(page.body.errors).toBeUndefined();
    expect(page.body.data.group.externalAuditEventStreamingDestinations.nodes).toHaveLength(5);
    const listCost = await spent(STREAMS.group.list, owner.token, { fullPath: group.full_path });
    const pageCost = await spent(deliveries, owner.token, { fullPath: group.full_path, first: 20 });
    console.log(`web pages' documents, 5 destinations: list ${listCost.resolverCalls} resolver calls and ${listCost.d1Queries} D1 queries, deliveries ${pageCost.resolverCalls} and ${pageCost.d1Queries}`);
    // Measured: the list 15 D1 queries, the deliveries 39 (about 7 per destination, which every destination's card asks).
    for (const cost of [listCost, pageCost]) {
      expect(cost.errors).toEqual([]);
      expect(cost.d1Queries).toBeLessThanOrEqual(BUDGET.d1Queries);
      expect(cost.resolverCalls).toBeLessThanOrEqual(BUDGET.resolverCalls);
    }
  });

  it('leaves room for a full page of releases (100, two links each, every field)', async () => {
    const doc = `query { project(fullPath: "${releases.path_with_namespace}") { releases(first: 100) { count nodes {
      id tagName tagPath name description releasedAt createdAt upcomingRelease historicalRelease author { id username name webUrl }
      links { selfUrl editUrl } assets { count sources { nodes { format url } } links { nodes { id name url linkType directAssetUrl directAssetPath external downloadCount } } } } } } }`;
    const r = await measured(doc, ADMIN);
    expect(r.body.errors, JSON.stringify(r.body.errors)).toBeUndefined();
    expect(r.body.data.project.releases.nodes).toHaveLength(100);
    const cost = await spent(doc, ADMIN);
    console.log(`100 releases with 2 links, every field: ${cost.resolverCalls} resolver calls, ${cost.d1Queries} D1 queries`);
    expect(cost.resolverCalls).toBeLessThanOrEqual(BUDGET.resolverCalls);
  });
});
