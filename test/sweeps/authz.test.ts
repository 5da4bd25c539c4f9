/**
 * Authorization table (issue 8): every operation, REST and GraphQL, reads and writes, against
 * every kind of caller, with the outcome GitLab's rules give. One world: a private top-level
 * group T, its private subgroup S, a private project P in S. Guest..Owner are members of T and
 * of S at their level; "inheritedOwner" is Owner of T only (so Owner of S and P by inheritance);
 * "admin" is an administrator's own token; "readApi" and "expired" are tokens of the Owner
 * (scope read_api; an expired one). Streaming destinations live on the top-level group T.
 * "expiredMember" was Owner of T and S until yesterday (issue 14): an expired membership is no
 * membership, so every one of their cells is nonMember's (the rows list the other callers only).
 *
 * REST cells are status codes. GraphQL cells are: ok (no errors), denied (GitLab's "resource
 * ... does not exist or you don't have permission" top-level error), hidden (the field is null
 * without error, as GitLab answers unreadable groups and projects), refused (errors-as-data),
 * 401 (a bad token on /api/graphql).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { ADMIN, api, call, createGroup, createProject, createUser, addMember, gql, unique, type TestUser } from '../support/api';
import { receiverOrigin } from '../support/receiver';

const LISTED_ROLES = ['anonymous', 'nonMember', 'guest', 'reporter', 'developer', 'maintainer', 'owner', 'inheritedOwner', 'admin', 'readApi', 'expired'] as const;
const ROLES = [...LISTED_ROLES, 'expiredMember'] as const;
type Role = (typeof ROLES)[number];
type Cell = number | 'ok' | 'denied' | 'hidden' | 'refused' | '401' | 'listed' | 'unlisted';
const LEVELS: [Role, number][] = [
  ['guest', 10],
  ['reporter', 20],
  ['developer', 30],
  ['maintainer', 40],
  ['owner', 50],
];
const NOT_AVAILABLE = "The resource that you are attempting to access does not exist or you don't have permission to perform this action";

let T: { id: number; full_path: string };
let S: { id: number; full_path: string };
let P: { id: number; path_with_namespace: string };
const users: Partial<Record<Role, TestUser>> = {};
const tokens: Partial<Record<Role, string | null>> = {};
let spare: TestUser;
let destGid: string;
let eventId: number;
const TAG = 'authz-v1';

/** Expected cells in role order (expiredMember: nonMember's cell). */
function row(...cells: Cell[]): Record<Role, Cell> {
  expect(cells).toHaveLength(LISTED_ROLES.length);
  const expected = Object.fromEntries(LISTED_ROLES.map((r, i) => [r, cells[i]])) as Record<Role, Cell>;
  expected.expiredMember = expected.nonMember;
  return expected;
}

/** Classify a GraphQL answer (see the file comment); `field` is the operation's root field. */
async function gqlCell(query: string, variables: Record<string, unknown>, token: string | null, field: string): Promise<{ cell: Cell; data: any }> {
  const r = await gql(query, variables, token);
  if (r.status === 401) return { cell: '401', data: null };
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  const messages = (r.body.errors ?? []).map((e) => e.message);
  if (messages.length > 0) {
    expect(messages, JSON.stringify(r.body)).toEqual([NOT_AVAILABLE]);
    return { cell: 'denied', data: r.body.data };
  }
  const value = r.body.data?.[field as keyof typeof r.body.data] as any;
  if (value === null || value === undefined) return { cell: 'hidden', data: r.body.data };
  if (Array.isArray(value?.errors) && value.errors.length > 0) return { cell: 'refused', data: r.body.data };
  return { cell: 'ok', data: r.body.data };
}

const CREATE_DEST = `mutation($i: ExternalAuditEventDestinationCreateInput!) { externalAuditEventDestinationCreate(input: $i) { errors externalAuditEventDestination { id } } }`;
const DESTROY_DEST = `mutation($i: ExternalAuditEventDestinationDestroyInput!) { externalAuditEventDestinationDestroy(input: $i) { errors } }`;
const CREATE_INSTANCE = `mutation($i: InstanceExternalAuditEventDestinationCreateInput!) { instanceExternalAuditEventDestinationCreate(input: $i) { errors instanceExternalAuditEventDestination { id } } }`;
const DESTROY_INSTANCE = `mutation($i: InstanceExternalAuditEventDestinationDestroyInput!) { instanceExternalAuditEventDestinationDestroy(input: $i) { errors } }`;

/** The cells of sending a test event to each of these destination GIDs. */
async function testEventCells(t: string | null, gids: string[]): Promise<Cell[]> {
  const cells: Cell[] = [];
  for (const destinationId of gids) {
    const { cell } = await gqlCell(
      `mutation($i: AuditEventsStreamingDestinationSendTestEventInput!) { auditEventsStreamingDestinationSendTestEvent(input: $i) { errors } }`,
      { i: { destinationId } },
      t,
      'auditEventsStreamingDestinationSendTestEvent',
    );
    cells.push(cell);
  }
  return cells;
}

/** A fresh group destination on T (as root), for operations that change or remove one. */
async function freshDestination(): Promise<string> {
  const r = await gql(CREATE_DEST, { i: { destinationUrl: `${receiverOrigin()}/authz/${unique('d')}`, groupPath: T.full_path } });
  const id = r.body.data?.externalAuditEventDestinationCreate?.externalAuditEventDestination?.id;
  if (!id) throw new Error(`freshDestination: ${JSON.stringify(r.body)}`);
  return id;
}
async function dropDestination(id: string): Promise<void> {
  await gql(DESTROY_DEST, { i: { id } });
}

/** The id of a fresh token of the spare user (as root). */
async function freshSpareToken(): Promise<number> {
  const r = await api('POST', `/api/v4/users/${spare.id}/personal_access_tokens`, { token: ADMIN, body: { name: 'authz', scopes: ['api'] } });
  if (r.status !== 201) throw new Error(`freshSpareToken: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.id;
}

/** A fresh release on P (as root). */
async function freshRelease(): Promise<string> {
  const tag = unique('r');
  const r = await api('POST', `/api/v4/projects/${P.id}/releases`, { token: ADMIN, body: { tag_name: tag, assets: { links: [{ name: 'f', url: `https://example.com/${tag}` }] } } });
  if (r.status !== 201) throw new Error(`freshRelease: ${r.status} ${JSON.stringify(r.body)}`);
  return tag;
}

beforeAll(async () => {
  T = await createGroup();
  S = await createGroup({ parentId: T.id });
  P = await createProject(S.id);
  const made = await Promise.all([createUser(), createUser(), createUser(), createUser(), createUser(), createUser(), createUser(), createUser({ admin: true }), createUser(), createUser()]);
  [users.nonMember, users.guest, users.reporter, users.developer, users.maintainer, users.owner, users.inheritedOwner, users.admin, spare, users.expiredMember] = made;
  for (const [role, level] of LEVELS) {
    await addMember('groups', T.id, users[role]!.id, level);
    await addMember('groups', S.id, users[role]!.id, level);
  }
  await addMember('groups', T.id, users.inheritedOwner!.id, 50);
  // Owner of T and S until yesterday (written directly: the API refuses past dates).
  await addMember('groups', T.id, users.expiredMember!.id, 50);
  await addMember('groups', S.id, users.expiredMember!.id, 50);
  await env.DB.prepare(`UPDATE members SET expires_at = '2000-01-01' WHERE user_id = ?1`).bind(users.expiredMember!.id).run();
  for (const r of ROLES) tokens[r] = users[r]?.token ?? null;
  // The Owner's other tokens: read_api, and one that expired yesterday (written directly: the API refuses past dates).
  const ro = await api('POST', `/api/v4/users/${users.owner!.id}/personal_access_tokens`, { token: ADMIN, body: { name: 'ro', scopes: ['read_api'] } });
  tokens.readApi = ro.body.token;
  const ex = await api('POST', `/api/v4/users/${users.owner!.id}/personal_access_tokens`, { token: ADMIN, body: { name: 'ex', scopes: ['api'] } });
  tokens.expired = ex.body.token;
  await env.DB.prepare(`UPDATE personal_access_tokens SET expires_at = '2000-01-01' WHERE id = ?1`).bind(ex.body.id).run();

  const rel = await api('POST', `/api/v4/projects/${P.id}/releases`, { token: ADMIN, body: { tag_name: TAG, assets: { links: [{ name: 'bin', url: 'https://example.com/bin', direct_asset_path: '/bin/app' }] } } });
  if (rel.status !== 201) throw new Error(JSON.stringify(rel.body));
  destGid = await freshDestination();
  const ev = await api('POST', '/api/v4/audit_events', { token: ADMIN, body: { event_type: 'authz_seed', entity_type: 'Group', entity_id: T.id } });
  eventId = ev.body.id;
});

interface Op {
  name: string;
  expected: Record<Role, Cell>;
  run: (token: string | null, role: Role) => Promise<Cell>;
}

const status = async (p: Promise<Response>): Promise<Cell> => {
  const res = await p;
  await res.body?.cancel();
  return res.status;
};
const rest = (method: string, path: () => string, body?: () => unknown) => (token: string | null) =>
  status(call(method, path(), { token, body: body?.() }));

let checkpointed: Promise<unknown> | null = null;
/** An operation that needs a signed checkpoint covering the seeded event (one, issued by root before the first such cell). */
const afterCheckpoint = (run: (token: string | null) => Promise<Cell>) => async (token: string | null): Promise<Cell> => {
  checkpointed ??= call('POST', '/api/v4/audit_events/checkpoint', { token: ADMIN }).then((r) => r.body?.cancel());
  await checkpointed;
  return run(token);
};

let evidence: Promise<string> | null = null;
/** The path of one evidence of TAG (collected by root at the latest checkpoint, once). */
const evidenceFile = (): Promise<string> => {
  evidence ??= afterCheckpoint(async () => 0)(null).then(async () => {
    const r = await api('POST', `/api/v4/projects/${P.id}/releases/${TAG}/evidence`, { token: ADMIN });
    expect(r.status).toBe(201);
    return new URL(r.body.filepath).pathname;
  });
  return evidence;
};

/** A listing cell: 'listed' when the row `id()` shows up on some page of `path()`, else 'unlisted' (or the status when not 200). */
const lists = (path: () => string, id: () => number) => async (token: string | null): Promise<Cell> => {
  for (let page = 1; ; page++) {
    const r = await call('GET', `${path()}?per_page=100&page=${page}`, { token });
    if (r.status !== 200) return status(Promise.resolve(r));
    const rows = (await r.json()) as { id: number }[];
    if (rows.some((g) => g.id === id())) return 'listed';
    if (rows.length < 100) return 'unlisted';
  }
};

// anonymous, nonMember, guest, reporter, developer, maintainer, owner, inheritedOwner, admin, readApi, expired
/** GraphQL cells of Owner-only writes on T's streaming destinations, and of administrator-only operations (consolidated API). */
const OWNER_WRITES = row('denied', 'denied', 'denied', 'denied', 'denied', 'denied', 'ok', 'ok', 'ok', 'denied', '401');
const ADMIN_ONLY = row('denied', 'denied', 'denied', 'denied', 'denied', 'denied', 'denied', 'denied', 'ok', 'denied', '401');

/** A consolidated-API mutation `field` (input type named after it), asking for its errors. */
function streamingMutation(field: string): string {
  const created = field.endsWith('DestinationsCreate') ? ' externalAuditEventDestination { id }' : '';
  return `mutation($i: ${field[0].toUpperCase()}${field.slice(1)}Input!) { ${field}(input: $i) { errors${created} } }`;
}
/** The consolidated API's GID of a legacy group destination GID (one store: the same row). */
function consolidated(legacyGid: string): string {
  return legacyGid.replace('AuditEvents::ExternalAuditEventDestination', 'AuditEvents::Group::ExternalStreamingDestination');
}
/** A consolidated mutation on T's destinations, with its input prepared (as root) before each caller. */
function streamingGroupOp(field: string, prepare: () => Promise<{ vars: Record<string, unknown>; cleanup?: () => Promise<void> }>): Op {
  return {
    name: `gql ${field}`,
    expected: OWNER_WRITES,
    run: async (t) => {
      const { vars, cleanup } = await prepare();
      const { cell } = await gqlCell(streamingMutation(field), { i: vars }, t, field);
      await cleanup?.();
      return cell;
    },
  };
}
/** A consolidated mutation on a fresh instance destination (made by root, removed after each caller). */
function streamingInstanceOp(field: string, prepare: (destinationId: string) => Promise<{ vars: Record<string, unknown> }>): Op {
  return {
    name: `gql ${field}`,
    expected: ADMIN_ONLY,
    run: async (t) => {
      const made = await gql(`mutation($i: InstanceAuditEventStreamingDestinationsCreateInput!) { instanceAuditEventStreamingDestinationsCreate(input: $i) { errors externalAuditEventDestination { id } } }`, {
        i: { category: 'http', config: { url: `${receiverOrigin()}/authz/${unique('is')}` } },
      });
      const id = made.body.data?.instanceAuditEventStreamingDestinationsCreate?.externalAuditEventDestination?.id;
      if (!id) throw new Error(`instance destination: ${JSON.stringify(made.body)}`);
      const { vars } = await prepare(id);
      const { cell, data } = await gqlCell(streamingMutation(field), { i: vars }, t, field);
      await gql(streamingMutation('instanceAuditEventStreamingDestinationsDelete'), { i: { id } });
      const created = data?.[field]?.externalAuditEventDestination?.id;
      if (field.endsWith('Create') && created) await gql(streamingMutation('instanceAuditEventStreamingDestinationsDelete'), { i: { id: created } });
      return cell;
    },
  };
}

const OPS: Op[] = [
  // --- Groups and projects (S, P) ---
  {
    name: 'GET /groups (lists the private group T)',
    expected: row('unlisted', 'unlisted', 'listed', 'listed', 'listed', 'listed', 'listed', 'listed', 'listed', 'listed', 401),
    // The listing is ordered by name: walk its pages until T shows up.
    run: lists(() => '/api/v4/groups', () => T.id),
  },
  {
    // A membership of T reaches its subgroups (inheritedOwner), as can(read_group) decides.
    name: 'GET /groups (lists the private subgroup S)',
    expected: row('unlisted', 'unlisted', 'listed', 'listed', 'listed', 'listed', 'listed', 'listed', 'listed', 'listed', 401),
    run: lists(() => '/api/v4/groups', () => S.id),
  },
  {
    name: 'GET /groups/:T/subgroups (lists S)',
    expected: row(404, 404, 'listed', 'listed', 'listed', 'listed', 'listed', 'listed', 'listed', 'listed', 401),
    run: lists(() => `/api/v4/groups/${T.id}/subgroups`, () => S.id),
  },
  {
    name: 'GET /groups/:S/projects (lists P)',
    expected: row(404, 404, 'listed', 'listed', 'listed', 'listed', 'listed', 'listed', 'listed', 'listed', 401),
    run: lists(() => `/api/v4/groups/${S.id}/projects`, () => P.id),
  },
  {
    // An expired membership is no membership: the members listing leaves it out for everyone.
    name: 'GET /groups/:S/members (lists expiredMember)',
    expected: row(404, 404, 'unlisted', 'unlisted', 'unlisted', 'unlisted', 'unlisted', 'unlisted', 'unlisted', 'unlisted', 401),
    run: lists(() => `/api/v4/groups/${S.id}/members`, () => users.expiredMember!.id),
  },
  {
    name: 'GET /groups/:S/members (lists owner)',
    expected: row(404, 404, 'listed', 'listed', 'listed', 'listed', 'listed', 'listed', 'listed', 'listed', 401),
    run: lists(() => `/api/v4/groups/${S.id}/members`, () => users.owner!.id),
  },
  {
    name: 'POST /groups (top-level)',
    expected: row(401, 201, 201, 201, 201, 201, 201, 201, 201, 403, 401),
    run: rest('POST', () => '/api/v4/groups', () => {
      const n = unique('top');
      return { name: n, path: n };
    }),
  },
  { name: 'GET /groups/:S', expected: row(404, 404, 200, 200, 200, 200, 200, 200, 200, 200, 401), run: rest('GET', () => `/api/v4/groups/${S.id}`) },
  { name: 'GET /groups/:S/subgroups', expected: row(404, 404, 200, 200, 200, 200, 200, 200, 200, 200, 401), run: rest('GET', () => `/api/v4/groups/${S.id}/subgroups`) },
  { name: 'GET /groups/:S/projects', expected: row(404, 404, 200, 200, 200, 200, 200, 200, 200, 200, 401), run: rest('GET', () => `/api/v4/groups/${S.id}/projects`) },
  {
    name: 'POST /groups (subgroup of S)',
    expected: row(401, 404, 403, 403, 403, 403, 201, 201, 201, 403, 401),
    run: rest('POST', () => '/api/v4/groups', () => ({ name: unique('s'), path: unique('s'), parent_id: S.id })),
  },
  { name: 'POST /projects (in S)', expected: row(401, 404, 403, 403, 403, 201, 201, 201, 201, 403, 401), run: rest('POST', () => '/api/v4/projects', () => ({ name: unique('p'), namespace_id: S.id })) },
  { name: 'GET /projects/:P', expected: row(404, 404, 200, 200, 200, 200, 200, 200, 200, 200, 401), run: rest('GET', () => `/api/v4/projects/${P.id}`) },
  // --- Members ---
  { name: 'GET /groups/:S/members', expected: row(404, 404, 200, 200, 200, 200, 200, 200, 200, 200, 401), run: rest('GET', () => `/api/v4/groups/${S.id}/members`) },
  { name: 'GET /projects/:P/members', expected: row(404, 404, 200, 200, 200, 200, 200, 200, 200, 200, 401), run: rest('GET', () => `/api/v4/projects/${P.id}/members`) },
  {
    name: 'POST /groups/:S/members',
    expected: row(401, 404, 403, 403, 403, 403, 201, 201, 201, 403, 401),
    run: async (t) => {
      const c = await status(call('POST', `/api/v4/groups/${S.id}/members`, { token: t, body: { user_id: spare.id, access_level: 10 } }));
      if (c === 201) await api('DELETE', `/api/v4/groups/${S.id}/members/${spare.id}`, { token: ADMIN });
      return c;
    },
  },
  {
    name: 'PUT /groups/:S/members/:spare',
    expected: row(401, 404, 403, 403, 403, 403, 200, 200, 200, 403, 401),
    run: async (t) => {
      await api('POST', `/api/v4/groups/${S.id}/members`, { token: ADMIN, body: { user_id: spare.id, access_level: 10 } });
      const c = await status(call('PUT', `/api/v4/groups/${S.id}/members/${spare.id}`, { token: t, body: { access_level: 20 } }));
      await api('DELETE', `/api/v4/groups/${S.id}/members/${spare.id}`, { token: ADMIN });
      return c;
    },
  },
  {
    name: 'DELETE /groups/:S/members/:spare',
    expected: row(401, 404, 403, 403, 403, 403, 204, 204, 204, 403, 401),
    run: async (t) => {
      await api('POST', `/api/v4/groups/${S.id}/members`, { token: ADMIN, body: { user_id: spare.id, access_level: 10 } });
      const c = await status(call('DELETE', `/api/v4/groups/${S.id}/members/${spare.id}`, { token: t }));
      await api('DELETE', `/api/v4/groups/${S.id}/members/${spare.id}`, { token: ADMIN });
      return c;
    },
  },
  {
    name: 'POST /projects/:P/members',
    expected: row(401, 404, 403, 403, 403, 201, 201, 201, 201, 403, 401),
    run: async (t) => {
      const c = await status(call('POST', `/api/v4/projects/${P.id}/members`, { token: t, body: { user_id: spare.id, access_level: 10 } }));
      if (c === 201) await api('DELETE', `/api/v4/projects/${P.id}/members/${spare.id}`, { token: ADMIN });
      return c;
    },
  },
  // --- Users and tokens ---
  { name: 'GET /user', expected: row(401, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401), run: rest('GET', () => '/api/v4/user') },
  {
    name: 'POST /users',
    expected: row(401, 403, 403, 403, 403, 403, 403, 403, 201, 403, 401),
    run: rest('POST', () => '/api/v4/users', () => {
      const n = unique('au');
      return { username: n, name: n, email: `${n}@example.com`, password: 'secret-password' };
    }),
  },
  {
    name: 'POST /users/:spare/personal_access_tokens',
    expected: row(401, 403, 403, 403, 403, 403, 403, 403, 201, 403, 401),
    run: rest('POST', () => `/api/v4/users/${spare.id}/personal_access_tokens`, () => ({ name: 'x', scopes: ['read_api'] })),
  },
  {
    name: "GET /personal_access_tokens/:id (spare's token)",
    expected: row(401, 404, 404, 404, 404, 404, 404, 404, 200, 404, 401),
    run: async (t) => status(call('GET', `/api/v4/personal_access_tokens/${await freshSpareToken()}`, { token: t })),
  },
  {
    name: "DELETE /personal_access_tokens/:id (spare's token)",
    expected: row(401, 404, 404, 404, 404, 404, 404, 404, 204, 403, 401),
    run: async (t) => status(call('DELETE', `/api/v4/personal_access_tokens/${await freshSpareToken()}`, { token: t })),
  },
  {
    name: "POST /projects (in spare's personal namespace)",
    expected: row(401, 403, 403, 403, 403, 403, 403, 403, 201, 403, 401),
    run: rest('POST', () => '/api/v4/projects', () => ({ name: unique('p'), namespace_id: spare.username })),
  },
  // --- Releases and links (P) ---
  { name: 'GET /projects/:P/releases', expected: row(404, 404, 403, 200, 200, 200, 200, 200, 200, 200, 401), run: rest('GET', () => `/api/v4/projects/${P.id}/releases`) },
  { name: 'GET /projects/:P/releases/:tag', expected: row(404, 404, 403, 200, 200, 200, 200, 200, 200, 200, 401), run: rest('GET', () => `/api/v4/projects/${P.id}/releases/${TAG}`) },
  { name: 'POST /projects/:P/releases', expected: row(401, 404, 403, 403, 201, 201, 201, 201, 201, 403, 401), run: rest('POST', () => `/api/v4/projects/${P.id}/releases`, () => ({ tag_name: unique('t') })) },
  { name: 'PUT /projects/:P/releases/:tag', expected: row(401, 404, 403, 403, 200, 200, 200, 200, 200, 403, 401), run: rest('PUT', () => `/api/v4/projects/${P.id}/releases/${TAG}`, () => ({ description: unique('d') })) },
  {
    name: 'DELETE /projects/:P/releases/:tag',
    expected: row(401, 404, 403, 403, 403, 200, 200, 200, 200, 403, 401),
    run: async (t) => status(call('DELETE', `/api/v4/projects/${P.id}/releases/${await freshRelease()}`, { token: t })),
  },
  { name: 'GET release links', expected: row(404, 404, 403, 200, 200, 200, 200, 200, 200, 200, 401), run: rest('GET', () => `/api/v4/projects/${P.id}/releases/${TAG}/assets/links`) },
  {
    name: 'POST release link',
    expected: row(401, 404, 403, 403, 201, 201, 201, 201, 201, 403, 401),
    run: rest('POST', () => `/api/v4/projects/${P.id}/releases/${TAG}/assets/links`, () => ({ name: unique('l'), url: `https://example.com/${unique('u')}` })),
  },
  {
    name: 'PUT release link',
    expected: row(401, 404, 403, 403, 200, 200, 200, 200, 200, 403, 401),
    run: async (t) => {
      const tag = await freshRelease();
      const links = await api('GET', `/api/v4/projects/${P.id}/releases/${tag}/assets/links`, { token: ADMIN });
      return status(call('PUT', `/api/v4/projects/${P.id}/releases/${tag}/assets/links/${links.body[0].id}`, { token: t, body: { name: unique('n') } }));
    },
  },
  {
    name: 'DELETE release link',
    expected: row(401, 404, 403, 403, 403, 200, 200, 200, 200, 403, 401),
    run: async (t) => {
      const tag = await freshRelease();
      const links = await api('GET', `/api/v4/projects/${P.id}/releases/${tag}/assets/links`, { token: ADMIN });
      return status(call('DELETE', `/api/v4/projects/${P.id}/releases/${tag}/assets/links/${links.body[0].id}`, { token: t }));
    },
  },
  {
    // A browser route: anything refused or missing is 404 (never 401/403), see src/http/downloads.ts.
    name: 'GET download redirect (private project)',
    expected: row(404, 404, 404, 302, 302, 302, 302, 302, 302, 302, 404),
    run: (t) => status(call('GET', `/${P.path_with_namespace}/-/releases/${TAG}/downloads/bin/app`, { token: t, tokenVia: 'query' })),
  },
  // Ours (issue 15): downloads per day and link; the same rule as reading the release.
  { name: 'GET release downloads stats', expected: row(404, 404, 403, 200, 200, 200, 200, 200, 200, 200, 401), run: rest('GET', () => `/api/v4/projects/${P.id}/releases/${TAG}/downloads/stats`) },
  // Ours (issue 17): a signed URL of a link for the caller; whoever may download it (the release's read rule).
  {
    name: 'GET release link signed_url (signed for the caller: anonymous 401)',
    expected: row(401, 404, 403, 200, 200, 200, 200, 200, 200, 200, 401),
    run: async (t) => {
      const links = await api('GET', `/api/v4/projects/${P.id}/releases/${TAG}/assets/links`, { token: ADMIN });
      return status(call('GET', `/api/v4/projects/${P.id}/releases/${TAG}/assets/links/${links.body[0].id}/signed_url`, { token: t }));
    },
  },
  // Release evidence (issue 18 section 5): collecting is updating the release; the document is read as the release.
  {
    name: 'POST /projects/:P/releases/:tag/evidence',
    expected: row(401, 404, 403, 403, 201, 201, 201, 201, 201, 403, 401),
    run: afterCheckpoint(rest('POST', () => `/api/v4/projects/${P.id}/releases/${TAG}/evidence`)),
  },
  {
    // A browser route like the download redirect: anything the caller may not read is 404 (a bad token 401, as the API).
    name: 'GET release evidence file (private project)',
    expected: row(404, 404, 404, 200, 200, 200, 200, 200, 200, 200, 401),
    run: async (t) => status(call('GET', await evidenceFile(), { token: t })),
  },
  // --- Audit log ---
  { name: 'GET /admin/audit_events/stats (ours)', expected: row(401, 403, 403, 403, 403, 403, 403, 403, 200, 403, 401), run: rest('GET', () => '/api/v4/admin/audit_events/stats') },
  { name: 'GET /audit_events (instance)', expected: row(401, 403, 403, 403, 403, 403, 403, 403, 200, 403, 401), run: rest('GET', () => '/api/v4/audit_events') },
  { name: 'GET /audit_events.csv (instance)', expected: row(401, 403, 403, 403, 403, 403, 403, 403, 200, 403, 401), run: rest('GET', () => '/api/v4/audit_events.csv') },
  { name: 'GET /audit_events.json (instance)', expected: row(401, 403, 403, 403, 403, 403, 403, 403, 200, 403, 401), run: rest('GET', () => '/api/v4/audit_events.json') },
  { name: 'GET /groups/:S/audit_events', expected: row(404, 404, 403, 403, 200, 200, 200, 200, 200, 200, 401), run: rest('GET', () => `/api/v4/groups/${S.id}/audit_events`) },
  { name: 'GET /groups/:S/audit_events.csv', expected: row(404, 404, 403, 403, 200, 200, 200, 200, 200, 200, 401), run: rest('GET', () => `/api/v4/groups/${S.id}/audit_events.csv`) },
  { name: 'GET /groups/:S/audit_events.json', expected: row(404, 404, 403, 403, 200, 200, 200, 200, 200, 200, 401), run: rest('GET', () => `/api/v4/groups/${S.id}/audit_events.json`) },
  { name: 'GET /projects/:P/audit_events', expected: row(404, 404, 403, 403, 200, 200, 200, 200, 200, 200, 401), run: rest('GET', () => `/api/v4/projects/${P.id}/audit_events`) },
  { name: 'GET /projects/:P/audit_events.csv', expected: row(404, 404, 403, 403, 200, 200, 200, 200, 200, 200, 401), run: rest('GET', () => `/api/v4/projects/${P.id}/audit_events.csv`) },
  { name: 'GET /projects/:P/audit_events.json', expected: row(404, 404, 403, 403, 200, 200, 200, 200, 200, 200, 401), run: rest('GET', () => `/api/v4/projects/${P.id}/audit_events.json`) },
  {
    name: 'POST /audit_events (ingest)',
    expected: row(401, 403, 403, 403, 403, 403, 403, 403, 201, 403, 401),
    run: rest('POST', () => '/api/v4/audit_events', () => ({ event_type: 'authz_probe', entity_type: 'Group', entity_id: T.id })),
  },
  // --- The verifiable audit log (issue 18); proofs need a checkpoint covering `eventId` ---
  { name: 'GET /-/audit-log/verifier-key (no authentication)', expected: row(200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200), run: rest('GET', () => '/-/audit-log/verifier-key') },
  { name: 'GET /audit_events/checkpoint', expected: row(401, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401), run: afterCheckpoint(rest('GET', () => '/api/v4/audit_events/checkpoint')) },
  { name: 'POST /audit_events/checkpoint', expected: row(401, 403, 403, 403, 403, 403, 403, 403, 201, 403, 401), run: afterCheckpoint(rest('POST', () => '/api/v4/audit_events/checkpoint')) },
  { name: 'POST /audit_events/integrity/acknowledge', expected: row(401, 403, 403, 403, 403, 403, 403, 403, 200, 403, 401), run: rest('POST', () => '/api/v4/audit_events/integrity/acknowledge') },
  {
    // Whoever may read the event (T's, authored by root): T's Owners and administrators.
    name: 'GET /audit_events/:id/inclusion_proof',
    expected: row(401, 404, 404, 404, 404, 404, 200, 200, 200, 200, 401),
    run: afterCheckpoint(rest('GET', () => `/api/v4/audit_events/${eventId}/inclusion_proof`)),
  },
  { name: 'GET /audit_events/inclusion_proofs', expected: row(401, 404, 404, 404, 404, 404, 200, 200, 200, 200, 401), run: afterCheckpoint(rest('GET', () => `/api/v4/audit_events/inclusion_proofs?ids=${eventId}`)) },
  { name: 'GET /audit_events/consistency_proof', expected: row(401, 200, 200, 200, 200, 200, 200, 200, 200, 200, 401), run: afterCheckpoint(rest('GET', () => '/api/v4/audit_events/consistency_proof?first=1')) },
  // --- GraphQL: directory and releases ---
  {
    name: 'gql group(S)',
    expected: row('hidden', 'hidden', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', '401'),
    run: async (t) => (await gqlCell(`query($p: ID!) { group(fullPath: $p) { id } }`, { p: S.full_path }, t, 'group')).cell,
  },
  {
    name: 'gql project(P)',
    expected: row('hidden', 'hidden', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', '401'),
    run: async (t) => (await gqlCell(`query($p: ID!) { project(fullPath: $p) { id } }`, { p: P.path_with_namespace }, t, 'project')).cell,
  },
  {
    // A guest sees the project but no releases (GitLab: read_release needs Reporter on private projects).
    name: 'gql project(P).release(tag)',
    expected: row('hidden', 'hidden', 'hidden', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'ok', '401'),
    run: async (t) => {
      const { cell, data } = await gqlCell(`query($p: ID!, $t: String!) { project(fullPath: $p) { release(tagName: $t) { tagName } } }`, { p: P.path_with_namespace, t: TAG }, t, 'project');
      return cell === 'ok' && data.project.release === null ? 'hidden' : cell;
    },
  },
  {
    name: 'gql releaseCreate',
    expected: row('denied', 'denied', 'denied', 'denied', 'ok', 'ok', 'ok', 'ok', 'ok', 'denied', '401'),
    run: async (t) =>
      (await gqlCell(`mutation($i: ReleaseCreateInput!) { releaseCreate(input: $i) { errors } }`, { i: { projectPath: P.path_with_namespace, tagName: unique('g') } }, t, 'releaseCreate')).cell,
  },
  {
    name: 'gql releaseUpdate',
    expected: row('denied', 'denied', 'denied', 'denied', 'ok', 'ok', 'ok', 'ok', 'ok', 'denied', '401'),
    run: async (t) =>
      (await gqlCell(`mutation($i: ReleaseUpdateInput!) { releaseUpdate(input: $i) { errors } }`, { i: { projectPath: P.path_with_namespace, tagName: TAG, name: unique('n') } }, t, 'releaseUpdate')).cell,
  },
  {
    name: 'gql releaseDelete',
    expected: row('denied', 'denied', 'denied', 'denied', 'denied', 'ok', 'ok', 'ok', 'ok', 'denied', '401'),
    run: async (t) =>
      (await gqlCell(`mutation($i: ReleaseDeleteInput!) { releaseDelete(input: $i) { errors } }`, { i: { projectPath: P.path_with_namespace, tagName: await freshRelease() } }, t, 'releaseDelete')).cell,
  },
  {
    name: 'gql releaseAssetLinkCreate',
    expected: row('denied', 'denied', 'denied', 'denied', 'ok', 'ok', 'ok', 'ok', 'ok', 'denied', '401'),
    run: async (t) =>
      (
        await gqlCell(
          `mutation($i: ReleaseAssetLinkCreateInput!) { releaseAssetLinkCreate(input: $i) { errors } }`,
          { i: { projectPath: P.path_with_namespace, tagName: TAG, name: unique('l'), url: `https://example.com/${unique('u')}` } },
          t,
          'releaseAssetLinkCreate',
        )
      ).cell,
  },
  // --- GraphQL: streaming destinations of T (top-level) ---
  {
    // GitLab answers the unreadable connection with null and the permission error.
    name: 'gql group(T).externalAuditEventDestinations',
    expected: row('hidden', 'hidden', 'denied', 'denied', 'denied', 'denied', 'ok', 'ok', 'ok', 'ok', '401'),
    run: async (t) => {
      const { cell, data } = await gqlCell(`query($p: ID!) { group(fullPath: $p) { externalAuditEventDestinations { nodes { id } } } }`, { p: T.full_path }, t, 'group');
      return cell === 'ok' && data.group.externalAuditEventDestinations === null ? 'hidden' : cell;
    },
  },
  {
    name: 'gql externalAuditEventDestinationCreate',
    expected: row('denied', 'denied', 'denied', 'denied', 'denied', 'denied', 'ok', 'ok', 'ok', 'denied', '401'),
    run: async (t) => {
      const { cell, data } = await gqlCell(CREATE_DEST, { i: { destinationUrl: `${receiverOrigin()}/authz/${unique('c')}`, groupPath: T.full_path } }, t, 'externalAuditEventDestinationCreate');
      const id = data?.externalAuditEventDestinationCreate?.externalAuditEventDestination?.id;
      if (id) await dropDestination(id);
      return cell;
    },
  },
  {
    name: 'gql externalAuditEventDestinationUpdate',
    expected: row('denied', 'denied', 'denied', 'denied', 'denied', 'denied', 'ok', 'ok', 'ok', 'denied', '401'),
    run: async (t) =>
      (await gqlCell(`mutation($i: ExternalAuditEventDestinationUpdateInput!) { externalAuditEventDestinationUpdate(input: $i) { errors } }`, { i: { id: destGid, name: unique('n') } }, t, 'externalAuditEventDestinationUpdate')).cell,
  },
  {
    name: 'gql externalAuditEventDestinationDestroy',
    expected: row('denied', 'denied', 'denied', 'denied', 'denied', 'denied', 'ok', 'ok', 'ok', 'denied', '401'),
    run: async (t) => {
      const id = await freshDestination();
      const { cell } = await gqlCell(DESTROY_DEST, { i: { id } }, t, 'externalAuditEventDestinationDestroy');
      if (cell !== 'ok') await dropDestination(id);
      return cell;
    },
  },
  {
    name: 'gql auditEventsStreamingHeadersCreate',
    expected: row('denied', 'denied', 'denied', 'denied', 'denied', 'denied', 'ok', 'ok', 'ok', 'denied', '401'),
    run: async (t) =>
      (await gqlCell(`mutation($i: AuditEventsStreamingHeadersCreateInput!) { auditEventsStreamingHeadersCreate(input: $i) { errors } }`, { i: { destinationId: destGid, key: `X-${unique('h')}`, value: 'v' } }, t, 'auditEventsStreamingHeadersCreate')).cell,
  },
  {
    name: 'gql auditEventsStreamingDestinationEventsAdd',
    expected: row('denied', 'denied', 'denied', 'denied', 'denied', 'denied', 'ok', 'ok', 'ok', 'denied', '401'),
    run: async (t) => {
      const id = await freshDestination();
      const { cell } = await gqlCell(`mutation($i: AuditEventsStreamingDestinationEventsAddInput!) { auditEventsStreamingDestinationEventsAdd(input: $i) { errors } }`, { i: { destinationId: id, eventTypeFilters: ['release_created'] } }, t, 'auditEventsStreamingDestinationEventsAdd');
      await dropDestination(id);
      return cell;
    },
  },
  {
    name: 'gql auditEventsStreamingHttpNamespaceFiltersAdd',
    expected: row('denied', 'denied', 'denied', 'denied', 'denied', 'denied', 'ok', 'ok', 'ok', 'denied', '401'),
    run: async (t) => {
      const id = await freshDestination();
      const { cell } = await gqlCell(
        `mutation($i: AuditEventsStreamingHTTPNamespaceFiltersAddInput!) { auditEventsStreamingHttpNamespaceFiltersAdd(input: $i) { errors } }`,
        { i: { destinationId: id, groupPath: S.full_path } },
        t,
        'auditEventsStreamingHttpNamespaceFiltersAdd',
      );
      await dropDestination(id);
      return cell;
    },
  },
  {
    name: 'gql auditEventsStreamingDestinationSigningSecretRotate',
    expected: row('denied', 'denied', 'denied', 'denied', 'denied', 'denied', 'ok', 'ok', 'ok', 'denied', '401'),
    run: async (t) =>
      (
        await gqlCell(
          `mutation($i: AuditEventsStreamingDestinationSigningSecretRotateInput!) { auditEventsStreamingDestinationSigningSecretRotate(input: $i) { errors } }`,
          { i: { destinationId: destGid } },
          t,
          'auditEventsStreamingDestinationSigningSecretRotate',
        )
      ).cell,
  },
  {
    name: 'gql destination deliveries + deliveryCounts (delivery log)',
    expected: row('hidden', 'hidden', 'denied', 'denied', 'denied', 'denied', 'ok', 'ok', 'ok', 'ok', '401'),
    run: async (t) => {
      const { cell, data } = await gqlCell(
        `query($p: ID!) { group(fullPath: $p) { externalAuditEventDestinations { nodes { deliveries(first: 5) { nodes { eventId status } } deliveryCounts { total } } } } }`,
        { p: T.full_path },
        t,
        'group',
      );
      if (cell !== 'ok') return cell;
      const nodes = data.group.externalAuditEventDestinations?.nodes;
      if (!nodes) return 'hidden';
      expect(nodes.some((n: any) => n.deliveryCounts.total > 0)).toBe(true);
      return 'ok';
    },
  },
  {
    name: 'gql destination deliveryStats (ours)',
    expected: row('hidden', 'hidden', 'denied', 'denied', 'denied', 'denied', 'ok', 'ok', 'ok', 'ok', '401'),
    run: async (t) => {
      const { cell, data } = await gqlCell(
        `query($p: ID!) { group(fullPath: $p) { externalAuditEventDestinations { nodes { deliveryStats(hours: 2) { bucketStart delivered } } } } }`,
        { p: T.full_path },
        t,
        'group',
      );
      if (cell !== 'ok') return cell;
      const nodes = data.group.externalAuditEventDestinations?.nodes;
      if (!nodes) return 'hidden';
      expect(nodes.every((n: any) => n.deliveryStats.length === 2)).toBe(true);
      return 'ok';
    },
  },
  {
    name: 'gql auditEventsStreamingDeliveryRedeliver',
    expected: row('denied', 'denied', 'denied', 'denied', 'denied', 'denied', 'ok', 'ok', 'ok', 'denied', '401'),
    run: async (t) =>
      (
        await gqlCell(
          `mutation($i: AuditEventsStreamingDeliveryRedeliverInput!) { auditEventsStreamingDeliveryRedeliver(input: $i) { errors } }`,
          { i: { destinationId: destGid, eventId: String(eventId) } },
          t,
          'auditEventsStreamingDeliveryRedeliver',
        )
      ).cell,
  },
  {
    name: 'gql auditEventsStreamingDeliveriesRedeliverFailed',
    expected: row('denied', 'denied', 'denied', 'denied', 'denied', 'denied', 'ok', 'ok', 'ok', 'denied', '401'),
    run: async (t) =>
      (
        await gqlCell(
          `mutation($i: AuditEventsStreamingDeliveriesRedeliverFailedInput!) { auditEventsStreamingDeliveriesRedeliverFailed(input: $i) { errors } }`,
          { i: { destinationId: destGid, since: new Date(Date.now() + 3_600_000).toISOString() } },
          t,
          'auditEventsStreamingDeliveriesRedeliverFailed',
        )
      ).cell,
  },
  {
    name: 'gql auditEventsStreamingDestinationSendTestEvent (legacy and consolidated group GIDs)',
    expected: row('denied', 'denied', 'denied', 'denied', 'denied', 'denied', 'ok', 'ok', 'ok', 'denied', '401'),
    run: async (t) => {
      const consolidated = destGid.replace('AuditEvents::ExternalAuditEventDestination', 'AuditEvents::Group::ExternalStreamingDestination');
      const cells = await testEventCells(t, [destGid, consolidated]);
      expect(cells[1]).toBe(cells[0]);
      return cells[0];
    },
  },
  {
    name: 'gql destination health',
    expected: row('hidden', 'hidden', 'denied', 'denied', 'denied', 'denied', 'ok', 'ok', 'ok', 'ok', '401'),
    run: async (t) => {
      const { cell, data } = await gqlCell(
        `query($p: ID!) { group(fullPath: $p) { externalAuditEventDestinations { nodes { health { consecutiveFailures pending deadLettered lastSuccessAt } } } } }`,
        { p: T.full_path },
        t,
        'group',
      );
      if (cell !== 'ok') return cell;
      const nodes = data.group.externalAuditEventDestinations?.nodes;
      if (!nodes) return 'hidden';
      expect(nodes.length).toBeGreaterThan(0);
      expect(nodes.every((n: any) => Number.isInteger(n.health.pending))).toBe(true);
      return 'ok';
    },
  },
  // --- GraphQL: instance destinations (administrators only) ---
  {
    name: 'gql instanceExternalAuditEventDestinations',
    expected: row('denied', 'denied', 'denied', 'denied', 'denied', 'denied', 'denied', 'denied', 'ok', 'denied', '401'),
    run: async (t) => (await gqlCell(`{ instanceExternalAuditEventDestinations { nodes { id deliveryCounts { total } } } }`, {}, t, 'instanceExternalAuditEventDestinations')).cell,
  },
  {
    name: 'gql instance destination deliveryStats (ours)',
    expected: row('denied', 'denied', 'denied', 'denied', 'denied', 'denied', 'denied', 'denied', 'ok', 'denied', '401'),
    run: async (t) => {
      const made = await gql(CREATE_INSTANCE, { i: { destinationUrl: `${receiverOrigin()}/authz/${unique('s')}` } });
      const id = made.body.data?.instanceExternalAuditEventDestinationCreate?.instanceExternalAuditEventDestination?.id;
      if (!id) throw new Error(`instance destination: ${JSON.stringify(made.body)}`);
      try {
        const { cell, data } = await gqlCell(`{ instanceExternalAuditEventDestinations { nodes { id deliveryStats { delivered failed } } } }`, {}, t, 'instanceExternalAuditEventDestinations');
        if (cell === 'ok') expect(data.instanceExternalAuditEventDestinations.nodes.find((n: any) => n.id === id).deliveryStats).toHaveLength(24);
        return cell;
      } finally {
        await gql(DESTROY_INSTANCE, { i: { id } });
      }
    },
  },
  {
    name: 'gql instanceExternalAuditEventDestinationCreate',
    expected: row('denied', 'denied', 'denied', 'denied', 'denied', 'denied', 'denied', 'denied', 'ok', 'denied', '401'),
    run: async (t) => {
      const { cell, data } = await gqlCell(CREATE_INSTANCE, { i: { destinationUrl: `${receiverOrigin()}/authz/${unique('i')}` } }, t, 'instanceExternalAuditEventDestinationCreate');
      const id = data?.instanceExternalAuditEventDestinationCreate?.instanceExternalAuditEventDestination?.id;
      if (id) await gql(DESTROY_INSTANCE, { i: { id } });
      return cell;
    },
  },
  {
    name: 'gql auditEventsStreamingDestinationSendTestEvent (legacy and consolidated instance GIDs) + instance health',
    expected: row('denied', 'denied', 'denied', 'denied', 'denied', 'denied', 'denied', 'denied', 'ok', 'denied', '401'),
    run: async (t) => {
      const created = await gql(CREATE_INSTANCE, { i: { destinationUrl: `${receiverOrigin()}/authz/${unique('it')}` } });
      const id: string = created.body.data.instanceExternalAuditEventDestinationCreate.instanceExternalAuditEventDestination.id;
      const consolidated = id.replace('AuditEvents::InstanceExternalAuditEventDestination', 'AuditEvents::Instance::ExternalStreamingDestination');
      const cells = await testEventCells(t, [id, consolidated]);
      cells.push((await gqlCell(`{ instanceExternalAuditEventDestinations { nodes { id health { pending deadLettered } } } }`, {}, t, 'instanceExternalAuditEventDestinations')).cell);
      await gql(DESTROY_INSTANCE, { i: { id } });
      expect(cells.slice(1)).toEqual([cells[0], cells[0]]);
      return cells[0];
    },
  },
  // --- GraphQL: GitLab 18's consolidated streaming API (issue 16), group T and the instance ---
  {
    name: 'gql group(T).externalAuditEventStreamingDestinations',
    expected: row('hidden', 'hidden', 'denied', 'denied', 'denied', 'denied', 'ok', 'ok', 'ok', 'ok', '401'),
    run: async (t) => {
      const { cell, data } = await gqlCell(`query($p: ID!) { group(fullPath: $p) { externalAuditEventStreamingDestinations { nodes { id secretToken } } } }`, { p: T.full_path }, t, 'group');
      return cell === 'ok' && data.group.externalAuditEventStreamingDestinations === null ? 'hidden' : cell;
    },
  },
  {
    name: 'gql groupAuditEventStreamingDestinationsCreate',
    expected: OWNER_WRITES,
    run: async (t) => {
      const field = 'groupAuditEventStreamingDestinationsCreate';
      const input = { groupPath: T.full_path, category: 'http', config: { url: `${receiverOrigin()}/authz/${unique('sc')}` } };
      const { cell, data } = await gqlCell(`mutation($i: GroupAuditEventStreamingDestinationsCreateInput!) { ${field}(input: $i) { errors externalAuditEventDestination { id } } }`, { i: input }, t, field);
      const id = data?.[field]?.externalAuditEventDestination?.id;
      if (id) await gql(streamingMutation('groupAuditEventStreamingDestinationsDelete'), { i: { id } });
      return cell;
    },
  },
  streamingGroupOp('groupAuditEventStreamingDestinationsUpdate', async () => ({ vars: { id: consolidated(destGid), name: unique('n') } })),
  streamingGroupOp('groupAuditEventStreamingDestinationsDelete', async () => {
    const id = await freshDestination();
    return { vars: { id: consolidated(id) }, cleanup: () => dropDestination(id) };
  }),
  streamingGroupOp('auditEventsGroupDestinationEventsAdd', async () => {
    const id = await freshDestination();
    return { vars: { destinationId: consolidated(id), eventTypeFilters: ['release_created'] }, cleanup: () => dropDestination(id) };
  }),
  streamingGroupOp('auditEventsGroupDestinationEventsDelete', async () => {
    const id = await freshDestination();
    await gql(streamingMutation('auditEventsGroupDestinationEventsAdd'), { i: { destinationId: consolidated(id), eventTypeFilters: ['release_created'] } });
    return { vars: { destinationId: consolidated(id), eventTypeFilters: ['release_created'] }, cleanup: () => dropDestination(id) };
  }),
  streamingGroupOp('auditEventsGroupDestinationNamespaceFilterCreate', async () => {
    const id = await freshDestination();
    return { vars: { destinationId: consolidated(id), namespacePath: S.full_path }, cleanup: () => dropDestination(id) };
  }),
  streamingGroupOp('auditEventsGroupDestinationNamespaceFilterDelete', async () => {
    const id = await freshDestination();
    const r = await gql(`mutation($i: AuditEventsGroupDestinationNamespaceFilterCreateInput!) { auditEventsGroupDestinationNamespaceFilterCreate(input: $i) { errors namespaceFilter { id } } }`, {
      i: { destinationId: consolidated(id), namespacePath: P.path_with_namespace },
    });
    return { vars: { namespaceFilterId: r.body.data.auditEventsGroupDestinationNamespaceFilterCreate.namespaceFilter.id }, cleanup: () => dropDestination(id) };
  }),
  {
    name: 'gql auditEventsInstanceStreamingDestinations',
    expected: ADMIN_ONLY,
    run: async (t) => (await gqlCell(`{ auditEventsInstanceStreamingDestinations { nodes { id secretToken } } }`, {}, t, 'auditEventsInstanceStreamingDestinations')).cell,
  },
  streamingInstanceOp('instanceAuditEventStreamingDestinationsCreate', async () => ({ vars: { category: 'http', config: { url: `${receiverOrigin()}/authz/${unique('ic')}` } } })),
  streamingInstanceOp('instanceAuditEventStreamingDestinationsUpdate', async (id) => ({ vars: { id, name: unique('n') } })),
  streamingInstanceOp('instanceAuditEventStreamingDestinationsDelete', async (id) => ({ vars: { id } })),
  streamingInstanceOp('auditEventsInstanceDestinationEventsAdd', async (id) => ({ vars: { destinationId: id, eventTypeFilters: ['release_created'] } })),
  streamingInstanceOp('auditEventsInstanceDestinationEventsDelete', async (id) => {
    await gql(streamingMutation('auditEventsInstanceDestinationEventsAdd'), { i: { destinationId: id, eventTypeFilters: ['release_created'] } });
    return { vars: { destinationId: id, eventTypeFilters: ['release_created'] } };
  }),
  streamingInstanceOp('auditEventsInstanceDestinationNamespaceFilterCreate', async (id) => ({ vars: { destinationId: id, namespacePath: S.full_path } })),
  streamingInstanceOp('auditEventsInstanceDestinationNamespaceFilterDelete', async (id) => {
    const r = await gql(`mutation($i: AuditEventsInstanceDestinationNamespaceFilterCreateInput!) { auditEventsInstanceDestinationNamespaceFilterCreate(input: $i) { errors namespaceFilter { id } } }`, {
      i: { destinationId: id, namespacePath: S.full_path },
    });
    return { vars: { namespaceFilterId: r.body.data.auditEventsInstanceDestinationNamespaceFilterCreate.namespaceFilter.id } };
  }),
];

describe('authorization table', () => {
  const cells = OPS.length * ROLES.length;

  for (const op of OPS) {
    it(op.name, async () => {
      const got: Partial<Record<Role, Cell>> = {};
      for (const role of ROLES) got[role] = await op.run(tokens[role] ?? null, role);
      expect(got).toEqual(op.expected);
    });
  }

  it('counts its cells', () => {
    console.log(`authorization table: ${OPS.length} operations x ${ROLES.length} callers = ${cells} cells`);
    expect(cells).toBeGreaterThanOrEqual(500);
  });
});
