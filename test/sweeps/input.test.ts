/**
 * Bad-input sweep (issue 8, made exact by issue 17): hostile values (fast-check, fixed seed) into
 * every REST and GraphQL input, one field at a time on top of a valid request, plus malformed
 * bodies, tokens, GIDs, path segments, download paths and hostile documents.
 *
 * Every family (a route or operation) first sends its valid control request, which must
 * succeed: a family cannot be built on a base that fails anyway. Then every case asserts its
 * exact expected answer: REST, the exact status (the family's success status for a valid value,
 * the exact 4xx for a bad one, always in `{"message": ...}` shape without internal text);
 * GraphQL, 'ok', 'invalid' (400: the value does not fit the schema) or 'refused' (200 with
 * errors, top-level or as data). The judges below state the rules each field is held to.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ADMIN, addMember, api, call, createGroup, createProject, createUser, gql, unique, type TestUser } from '../support/api';
import { isKnownAuditEventType } from '../../src/audit/catalogue';
import { RESERVED_HEADER_KEYS } from '../../src/destinations/rules';
import { isIpAddress } from '../../src/http/audit_ingest';
import {
  answerOf,
  CaseCounter,
  expectGraphqlOutcome,
  expectNoInternalText,
  expectRestStatus,
  hostileToken,
  hostileValue,
  type Answer,
  type GraphqlOutcome,
} from './support';

const counter = new CaseCounter();
/** fast-check runs per field-sweep property; the sweep tries each field several times. */
const RUNS = 24;
/** Fixed seed: the sweep is reproducible (change it to explore further). */
const SEED = 20_260_808;
/**
 * Where the sweep's destinations point: loopback port 9, which refuses connections at once.
 * The sweep tests input validation, not delivery, so its events need no receiver.
 */
const SINK = 'http://127.0.0.1:9/sweep-input';
/** Cases each family should run; the last test checks that every one of them ran. */
let expectedCases = 0;
const runsFor = (fields: number) => RUNS * Math.min(4, fields);

// ---------------------------------------------------------------------------------------------
// REST verdicts: the exact status a value must get. 'ok' is the family's success status.
type Outcome = 'ok' | number;
type Judge = (v: unknown) => Outcome;
const structured = (v: unknown) => v !== null && typeof v === 'object';
/** A parameter as the service reads text: strings, and numbers or booleans as their text (Grape's coercion). */
const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined);
const blank = (s: string) => s.trim() === '';
const tooLong = (s: string, max: number) => [...s].length > max;
/** Required text: missing (null), not text, blank or over `max` is 400; then `rule` decides. */
const reqStr = (max = Infinity, rule: (s: string) => Outcome = () => 'ok'): Judge => (v) => {
  const s = text(v);
  return s === undefined || blank(s) || tooLong(s, max) ? 400 : rule(s);
};
/** Optional text: null, not text, over `max` (and blank unless allowed) is 400; then `rule` decides. */
const optStr = (max = Infinity, allowBlank = false, rule: (s: string) => Outcome = () => 'ok'): Judge => (v) => {
  const s = text(v);
  return s === undefined || tooLong(s, max) || (!allowBlank && blank(s)) ? 400 : rule(s);
};
/** An integer (JSON number or decimal text of up to 15 digits). */
const isInt = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v)) || (typeof v === 'string' && /^-?\d{1,15}$/.test(v.trim()));
/** One of a fixed set of values. */
const oneOf = (...values: unknown[]): Judge => (v) => (values.includes(v) ? 'ok' : 400);
/** A real YYYY-MM-DD calendar date (empty or null means unset). */
const validDate = (s: string) => {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
};
const date: Judge = (v) => (v === null || v === '' || (typeof v === 'string' && validDate(v)) ? 'ok' : 400);
/** An ISO 8601 date or datetime (empty or null means unset). */
const ISO = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const isoDateTime = (s: string) => ISO.test(s.trim()) && !Number.isNaN(new Date(s.trim().replace(' ', 'T')).getTime());
const dateTime: Judge = (v) => (v === null || v === '' || (typeof v === 'string' && isoDateTime(v)) ? 'ok' : 400);
const anything: Judge = () => 'ok';
/** A boolean or its text forms. */
const bool: Judge = (v) => ([true, false, 'true', 'false', '1', '0', 1, 0].includes(v as never) ? 'ok' : 400);
/** GitLab's path rule (usernames, group and project paths). */
const RESERVED = new Set(['-', '.well-known', 'admin', 'api', 'assets', 'dashboard', 'explore', 'groups', 'help', 'login', 'oauth', 'profile', 'projects', 'public', 'robots.txt', 'search', 'sitemap', 'uploads', 'users', 'v2']);
const pathOk = (s: string, topLevel: boolean) =>
  s.length <= 255 && /^[a-zA-Z0-9_][a-zA-Z0-9_\-.]*$/.test(s) && !/[._-]{2,}/.test(s) && !/[._-]$/.test(s) && !/\.(git|atom)$/i.test(s) && !(topLevel && RESERVED.has(s.toLowerCase()));
/** GitLab's group and project name rule. */
const nameOk = (s: string) => /^[\p{L}\p{N}\p{Emoji_Presentation}_][\p{L}\p{N}\p{Emoji_Presentation}_.+\- ()]*$/u.test(s);
const ACCESS = [10, 20, 30, 40, 50];
const accessLevel: Judge = (v) => {
  if (v === null || v === '') return 400;
  if (!isInt(v)) return 400;
  return ACCESS.includes(Number(v)) ? 'ok' : 400;
};

/** An integer as JSON number or digits (no surrounding blanks), as the ingest route reads it. */
const strictInt = (v: unknown): number | undefined =>
  typeof v === 'number' ? (Number.isSafeInteger(v) ? v : undefined) : typeof v === 'string' && /^-?\d{1,15}$/.test(v) && Number.isSafeInteger(Number(v)) ? Number(v) : undefined;
/** git check-ref-format, as GitLab checks a new tag's name. */
const tagOk = (t: string) =>
  t !== '' && t.length <= 255 && t !== '@' && !/[\u0000-\u0020\u007f~^:?*[\\]/.test(t) && !t.includes('..') && !t.includes('@{') && !t.includes('//') &&
  !t.startsWith('/') && !t.startsWith('-') && !t.endsWith('/') && !t.endsWith('.') && !t.endsWith('.lock') && !t.split('/').some((x) => x.startsWith('.'));
/** A link URL: http, https or ftp with a host, no control characters, at most 2,048 characters. */
const linkUrlOk = (u: string) => {
  if (u.trim() === '' || [...u].length > 2048 || /[\u0000-\u001f\u007f]/.test(u)) return false;
  try {
    const url = new URL(u.trim());
    return ['http:', 'https:', 'ftp:'].includes(url.protocol) && url.hostname !== '';
  } catch {
    return false;
  }
};
/** A link's direct_asset_path (GitLab's FILEPATH_REGEX, at most 128 characters; no dot segments); blank means none. */
const filepathOk = (raw: string) => {
  if (raw.trim() === '') return true;
  const f = raw.startsWith('/') ? raw : `/${raw}`;
  return f.length <= 128 && /^\/(?:[-.A-Za-z0-9_]+\/?)*[0-9a-zA-Z]+$/.test(f) && !f.split('/').some((x) => x === '.' || x === '..');
};
/** Link text fields: strings only (null means empty). */
const linkText = (required: boolean, rule: (s: string) => boolean): Judge => (v) => (v === null ? (required ? 400 : rule('') ? 'ok' : 400) : typeof v !== 'string' ? 400 : rule(v) ? 'ok' : 400);
const linkName = (s: string) => s.trim() !== '' && [...s].length <= 255;
/** An optional text field of the ingest route: strings only, not blank, at most `max`. */
const ingestStr = (max: number, rule: (s: string) => Outcome = () => 'ok'): Judge => (v) =>
  v === null ? 'ok' : typeof v !== 'string' || blank(v) || tooLong(v, max) ? 400 : rule(v);
/** A day of the download chart (YYYY-MM-DD or an ISO datetime); the window is at most 90 days, ending today by default. */
const statsDay = (which: 'from' | 'to'): Judge => (v) => {
  const s = q(v);
  if (s === '') return 'ok';
  if (!validDate(s.slice(0, 10)) || !isoDateTime(s)) return 400;
  const day = new Date(s.trim().replace(' ', 'T')).toISOString().slice(0, 10);
  const today = new Date().toISOString().slice(0, 10);
  const days = (a: string, b: string) => Math.round((Date.parse(b) - Date.parse(a)) / 86_400_000);
  if (which === 'to') return 'ok';
  return day > today || days(day, today) > 90 ? 400 : 'ok';
};

/** Query-string verdicts see the value as it travels (a string). */
const q = (v: unknown): string => (typeof v === 'string' ? v : v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
/** page and per_page: empty or up to 9 digits (out-of-range values are clamped, as GitLab does). */
const qInt: Judge = (v) => (q(v) === '' || /^-?\d{1,9}$/.test(q(v)) ? 'ok' : 400);
const qEnum = (...values: string[]): Judge => (v) => (values.includes(q(v)) ? 'ok' : 400);
const qDateTime: Judge = (v) => (q(v) === '' || isoDateTime(q(v)) ? 'ok' : 400);

// ---------------------------------------------------------------------------------------------
// The world the sweep writes into (its own users, groups and projects). Families that create
// things write into their own project and release, so that what one case creates never changes
// what another case's path, tag or file name finds.
let owner: TestUser;
let plain: TestUser;
let memberUser: TestUser;
let projectMember: TestUser;
let joiner: { id: number };
let group: { id: number; full_path: string };
/** The parent of the groups the group family creates (a subgroup's path would take a project's in `group`). */
let nest: { id: number; full_path: string };
let destGroup: { id: number; full_path: string };
let filterGroup: { id: number; full_path: string };
/** The subgroup the namespace filter families filter openDestGid by (a namespace has one filter at most). */
let openFilterGroup: { id: number; full_path: string };
let project: { id: number; path_with_namespace: string };
let writeProject: { id: number; path_with_namespace: string };
/** The release the download and path sweeps read: nothing of the sweep adds links to it. */
const TAG = 'v1.0.0';
/** A catalogued event type no test records: the event type filter families add and remove it. */
const REMOVABLE_TYPE = 'project_group_link_create';
/** The release whose links the link families create, change and delete. */
const LINK_TAG = 'v2.0.0';
let linkId: number;
/** The link of TAG that the download sweep's control follows. */
let binLinkId: number;
let patId: number;
let destGid: string;
/** A destination without a namespace filter, for the namespace filter families. */
let openDestGid: string;
let headerGid: string;
let instanceGid: string;
let instanceHeaderGid: string;
let eventId: number;
const instanceCreated: string[] = [];
const instanceDestroyed = new Set<string>();
/** Families whose control ran, and cases, as declared: the last test compares. */
let expectedFamilies = 0;

/** Fail the setup on anything but a success. */
function must(status: number, what: string, body: unknown): void {
  if (status >= 300) throw new Error(`${what}: ${status} ${JSON.stringify(body)}`);
}

/** Run a GraphQL mutation that must succeed with empty errors; return its payload. */
async function mutate(name: string, inputType: string, input: Record<string, unknown>, selection = 'errors', token: string = ADMIN): Promise<any> {
  const r = await gql(`mutation($i: ${inputType}!) { ${name}(input: $i) { ${selection} } }`, { i: input }, token);
  const payload = r.body.data?.[name];
  if (r.status !== 200 || r.body.errors || !payload || payload.errors.length > 0) throw new Error(`${name}: ${r.status} ${JSON.stringify(r.body)}`);
  return payload;
}

const newDestination = async (url = `${SINK}/${unique('d')}`): Promise<string> =>
  (await mutate('externalAuditEventDestinationCreate', 'ExternalAuditEventDestinationCreateInput', { destinationUrl: url, groupPath: destGroup.full_path, name: unique('sweep') }, 'errors externalAuditEventDestination { id }', owner.token))
    .externalAuditEventDestination.id;
const newHeader = async (destinationId: string): Promise<string> =>
  (await mutate('auditEventsStreamingHeadersCreate', 'AuditEventsStreamingHeadersCreateInput', { destinationId, key: `X-${unique('h')}`, value: 'v' }, 'errors header { id }', owner.token)).header.id;
const newFilter = async (): Promise<string> =>
  (await mutate('auditEventsStreamingHttpNamespaceFiltersAdd', 'AuditEventsStreamingHTTPNamespaceFiltersAddInput', { destinationId: openDestGid, groupPath: openFilterGroup.full_path }, 'errors namespaceFilter { id }', owner.token))
    .namespaceFilter.id;
const dropFilter = (namespaceFilterId: string) =>
  mutate('auditEventsStreamingHttpNamespaceFiltersDelete', 'AuditEventsStreamingHTTPNamespaceFiltersDeleteInput', { namespaceFilterId }, 'errors', owner.token);
/** An inactive instance destination taking one event type nobody records here (see beforeAll). */
async function newInstanceDestination(): Promise<string> {
  const id = (await mutate('instanceExternalAuditEventDestinationCreate', 'InstanceExternalAuditEventDestinationCreateInput', { destinationUrl: `${SINK}/${unique('i')}`, name: unique('sweep') }, 'errors instanceExternalAuditEventDestination { id }'))
    .instanceExternalAuditEventDestination.id;
  instanceCreated.push(id);
  await mutate('auditEventsStreamingDestinationInstanceEventsAdd', 'AuditEventsStreamingDestinationInstanceEventsAddInput', { destinationId: id, eventTypeFilters: ['project_fork_operation'] });
  await mutate('instanceExternalAuditEventDestinationUpdate', 'InstanceExternalAuditEventDestinationUpdateInput', { id, active: false });
  return id;
}
const newInstanceHeader = async (): Promise<string> =>
  (await mutate('auditEventsStreamingInstanceHeadersCreate', 'AuditEventsStreamingInstanceHeadersCreateInput', { destinationId: instanceGid, key: `X-${unique('h')}`, value: 'v' }, 'errors header { id }')).header.id;
async function newLink(): Promise<number> {
  const r = await api('POST', `/api/v4/projects/${project.id}/releases/${LINK_TAG}/assets/links`, { token: owner.token, body: { name: unique('l'), url: `https://example.com/${unique('f')}` } });
  must(r.status, 'link', r.body);
  return r.body.id;
}
/** Put the link the update families change back as it was (name, url, no direct asset path). */
const restoreLink = async () => {
  const r = await api('PUT', `/api/v4/projects/${project.id}/releases/${LINK_TAG}/assets/links/${linkId}`, { token: owner.token, body: { name: 'lib', url: 'https://example.com/lib', direct_asset_path: '' } });
  must(r.status, 'restore link', r.body);
};
const dropLink = async (id: number) => must((await call('DELETE', `/api/v4/projects/${project.id}/releases/${LINK_TAG}/assets/links/${id}`, { token: owner.token })).status, 'drop link', id);

beforeAll(async () => {
  [owner, plain, memberUser, projectMember] = await Promise.all([createUser(), createUser(), createUser(), createUser()]);
  const j = await api('POST', '/api/v4/users', { token: ADMIN, body: { username: unique('join'), name: 'Joiner', email: `${unique('join')}@example.com`, password: 'secret-password' } });
  must(j.status, 'joiner', j.body);
  joiner = j.body;
  group = await createGroup({ token: owner.token });
  nest = await createGroup({ token: owner.token });
  destGroup = await createGroup({ token: owner.token });
  filterGroup = await createGroup({ token: owner.token, parentId: destGroup.id });
  openFilterGroup = await createGroup({ token: owner.token, parentId: destGroup.id });
  project = await createProject(group.id, { token: owner.token });
  writeProject = await createProject(group.id, { token: owner.token });
  await addMember('groups', group.id, memberUser.id, 30);
  await addMember('projects', project.id, projectMember.id, 30);
  for (const [tag, links] of [
    [TAG, [{ name: 'bin', url: 'https://example.com/bin', direct_asset_path: '/bin/app' }]],
    [LINK_TAG, [{ name: 'lib', url: 'https://example.com/lib' }]],
  ] as const) {
    const rel = await api('POST', `/api/v4/projects/${project.id}/releases`, { token: owner.token, body: { tag_name: tag, name: tag, assets: { links } } });
    must(rel.status, 'release', rel.body);
    if (tag === LINK_TAG) linkId = rel.body.assets.links[0].id;
    else binLinkId = rel.body.assets.links[0].id;
  }
  const pat = await api('POST', `/api/v4/users/${plain.id}/personal_access_tokens`, { token: ADMIN, body: { name: 'sweep', scopes: ['read_api'] } });
  must(pat.status, 'token', pat.body);
  patId = pat.body.id;
  destGid = await newDestination();
  openDestGid = await newDestination();
  headerGid = await newHeader(destGid);
  // openDestGid takes one event type, which the remove family removes and puts back.
  await mutate('auditEventsStreamingDestinationEventsAdd', 'AuditEventsStreamingDestinationEventsAddInput', { destinationId: openDestGid, eventTypeFilters: [REMOVABLE_TYPE] }, 'errors', owner.token);
  await mutate('auditEventsStreamingHttpNamespaceFiltersAdd', 'AuditEventsStreamingHTTPNamespaceFiltersAddInput', { destinationId: destGid, groupPath: filterGroup.full_path }, 'errors', owner.token);
  // An inactive instance destination that takes one event type nobody records here (forks: so other test
  // files' events neither reach it nor are kept for it: a paused destination keeps its events),
  // destroyed afterwards.
  instanceGid = await newInstanceDestination();
  instanceHeaderGid = await newInstanceHeader();
  // An event in the filtered subgroup: routed to destGid, so it can be redelivered.
  const ev = await api('POST', '/api/v4/audit_events', { token: ADMIN, body: { event_type: 'sweep_seed', entity_type: 'Group', entity_id: filterGroup.id } });
  must(ev.status, 'seed event', ev.body);
  eventId = ev.body.id;
});

afterAll(async () => {
  // The instance destinations still there (the destroy families used up theirs).
  for (const id of instanceCreated.filter((g) => !instanceDestroyed.has(g))) {
    await mutate('instanceExternalAuditEventDestinationDestroy', 'InstanceExternalAuditEventDestinationDestroyInput', { id });
  }
  console.log(`input sweep: ${counter.count} cases in ${counter.families} families`);
});

// ---------------------------------------------------------------------------------------------
// REST: one field at a time, in the body (JSON) or the query string.
interface RestSpec {
  name: string;
  method: string;
  path: () => string;
  /** The valid request (the family's control); each case replaces one field with a hostile value. */
  base: () => Record<string, unknown>;
  fields: Record<string, Judge>;
  token?: () => string;
  in?: 'body' | 'query';
  /** Keep hostile integers off other test files' rows (tests share one database). */
  remap?: Record<string, (v: unknown) => unknown>;
  /** The status of a success (default: 201 for POST, else 200). */
  ok?: number;
  /** Undo a success, so that every case finds the world its judge assumes. */
  cleanup?: (body: any) => Promise<void>;
  /** Fields whose accepted values are then taken, and the status a second use gets. */
  taken?: Record<string, number>;
  /** Whether taken values compare case-sensitively (tag names) rather than GitLab's case-insensitive paths and emails. */
  takenCaseSensitive?: boolean;
}

const okStatus = (spec: { method: string; ok?: number }) => spec.ok ?? (spec.method === 'POST' ? 201 : 200);

/** Integers (or their text) that could name another test's row become ids nobody has. */
const farId = (v: unknown) => {
  if (typeof v === 'number' && Number.isInteger(v) && v > 0 && v < 1e12) return v + 1e12;
  if (typeof v === 'string' && /^\s*\d{1,11}\s*$/.test(v) && Number(v) > 0) return String(Number(v) + 1e12);
  return v;
};

function encodeQuery(params: Record<string, unknown>): string {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (Array.isArray(v)) for (const x of v) sp.append(`${k}[]`, q(x));
    else sp.append(k, q(v));
  }
  return sp.toString();
}

async function restSend(spec: RestSpec, params: Record<string, unknown>, token: string): Promise<Answer> {
  if (spec.in === 'query') {
    const qs = encodeQuery(params);
    return answerOf(await call(spec.method, `${spec.path()}${qs ? `?${qs}` : ''}`, { token }));
  }
  return answerOf(await call(spec.method, spec.path(), { token, body: params }));
}

/** The family's valid request must succeed (and is undone like a case). */
async function restControl(spec: RestSpec, token = spec.token ? spec.token() : ADMIN): Promise<void> {
  const a = await restSend(spec, spec.base(), token);
  expectRestStatus(a, okStatus(spec), `${spec.method} ${spec.name} control`);
  if (spec.cleanup) await spec.cleanup(a.json);
  counter.family(`${spec.method} ${spec.name}`);
}

const takenValues = new Map<string, Set<string>>();

async function restCase(spec: RestSpec, field: string, value: unknown): Promise<void> {
  counter.hit();
  let v = spec.remap?.[field] ? spec.remap[field](value) : value;
  // A query string carries text: judge the value as it travels.
  if (spec.in === 'query') v = q(v);
  const key = `${spec.method} ${spec.name} ${field}`;
  const seen = takenValues.get(key) ?? new Set<string>();
  takenValues.set(key, seen);
  let expected = spec.fields[field](v);
  const asText = text(v);
  const takenKey = spec.takenCaseSensitive ? asText : asText?.toLowerCase();
  if (expected === 'ok' && spec.taken?.[field] !== undefined && asText !== undefined && seen.has(takenKey!)) expected = spec.taken[field];
  const a = await restSend(spec, { ...spec.base(), [field]: v }, spec.token ? spec.token() : ADMIN);
  expectRestStatus(a, expected === 'ok' ? okStatus(spec) : expected, `${spec.method} ${spec.name} ${field}=${JSON.stringify(v)?.slice(0, 80)}`);
  if (expected === 'ok') {
    if (takenKey !== undefined) seen.add(takenKey);
    if (spec.cleanup) await spec.cleanup(a.json);
  }
}

const memberPath = (kind: 'groups' | 'projects') => `/api/v4/${kind}/${kind === 'groups' ? group.id : project.id}/members`;

const REST: RestSpec[] = [
  {
    name: '/users',
    method: 'POST',
    path: () => '/api/v4/users',
    base: () => {
      const n = unique('sw');
      return { username: n, name: n, email: `${n}@example.com`, password: 'secret-password' };
    },
    fields: {
      username: reqStr(255, (s) => (pathOk(s, true) ? 'ok' : 400)),
      name: reqStr(255),
      email: reqStr(255, (s) => (/^[^@\s]+@[^@\s]+$/.test(s) ? 'ok' : 400)),
      password: anything,
      admin: bool,
    },
    taken: { username: 409, email: 409 },
  },
  {
    name: '/users/:id/personal_access_tokens',
    method: 'POST',
    path: () => `/api/v4/users/${plain.id}/personal_access_tokens`,
    base: () => ({ name: 'sweep', scopes: ['read_api'] }),
    fields: {
      name: reqStr(255),
      scopes: (v) => (Array.isArray(v) && v.length > 0 && v.every((s) => s === 'api' || s === 'read_api') ? 'ok' : v === 'api' || v === 'read_api' ? 'ok' : 400),
      expires_at: date,
    },
  },
  { name: '/users', method: 'GET', in: 'query', path: () => '/api/v4/users', base: () => ({}), fields: { username: anything, page: qInt, per_page: qInt } },
  { name: '/personal_access_tokens', method: 'GET', in: 'query', path: () => '/api/v4/personal_access_tokens', base: () => ({}), fields: { user_id: anything, page: qInt, per_page: qInt }, token: () => plain.token },
  {
    name: '/groups',
    method: 'POST',
    path: () => '/api/v4/groups',
    base: () => {
      const n = unique('swg');
      return { name: n, path: n, parent_id: nest.id };
    },
    token: () => owner.token,
    remap: { parent_id: farId },
    fields: {
      name: reqStr(255, (s) => (nameOk(s) ? 'ok' : 400)),
      path: reqStr(255, (s) => (pathOk(s, false) ? 'ok' : 400)),
      parent_id: (v) => (v === '' ? 'ok' : isInt(v) ? 404 : 400),
      visibility: oneOf('private'),
      description: optStr(500, true),
    },
    taken: { name: 400, path: 400 },
  },
  { name: '/groups', method: 'GET', in: 'query', path: () => '/api/v4/groups', base: () => ({}), fields: { search: anything, page: qInt, per_page: qInt, top_level_only: anything, all_available: anything } },
  {
    name: '/projects',
    method: 'POST',
    path: () => '/api/v4/projects',
    base: () => {
      const n = unique('swp');
      return { name: n, path: n, namespace_id: group.id };
    },
    token: () => owner.token,
    remap: { namespace_id: farId },
    fields: {
      name: optStr(255, false, (s) => (nameOk(s) ? 'ok' : 400)),
      path: optStr(255, false, (s) => (pathOk(s, false) ? 'ok' : 400)),
      // Empty means the caller's own namespace; digits name an id, other text a path (none of them exists).
      namespace_id: (v) => (v === null || v === '' ? 'ok' : typeof v === 'number' || typeof v === 'string' ? 404 : 400),
      visibility: oneOf('private', 'internal', 'public'),
      description: optStr(2000, true),
    },
    taken: { path: 409 },
  },
  ...(['groups', 'projects'] as const).flatMap((kind): RestSpec[] => [
    {
      name: `/${kind}/:id/members`,
      method: 'POST',
      path: () => memberPath(kind),
      base: () => ({ user_id: joiner.id, access_level: 30 }),
      token: () => owner.token,
      remap: { user_id: farId },
      cleanup: async () => must((await call('DELETE', `${memberPath(kind)}/${joiner.id}`, { token: owner.token })).status, 'remove member', joiner.id),
      fields: { user_id: (v) => (v === null || v === '' ? 400 : isInt(v) ? 404 : 400), access_level: accessLevel, expires_at: date },
    },
    {
      name: `/${kind}/:id/members/:user_id`,
      method: 'PUT',
      path: () => `${memberPath(kind)}/${kind === 'groups' ? memberUser.id : projectMember.id}`,
      base: () => ({ access_level: 30 }),
      token: () => owner.token,
      fields: { access_level: accessLevel, expires_at: date },
    },
  ]),
  {
    name: '/projects/:id/releases',
    method: 'POST',
    path: () => `/api/v4/projects/${writeProject.id}/releases`,
    base: () => ({ tag_name: unique('t'), name: 'R' }),
    token: () => owner.token,
    // A tag taken by an earlier case is "Release already exists" (409).
    taken: { tag_name: 409 },
    takenCaseSensitive: true,
    fields: {
      tag_name: reqStr(Infinity, (s) => (tagOk(s) ? 'ok' : 400)),
      name: optStr(255, true),
      description: optStr(1_000_000, true),
      ref: optStr(Infinity, true),
      released_at: dateTime,
      // No milestone exists here: any named one is "not found"; an empty list names none.
      milestones: (v) => (v === null || v === '' || (Array.isArray(v) && v.length === 0) ? 'ok' : 400),
      assets: (v) => (v === null ? 'ok' : !structured(v) || Array.isArray(v) ? 400 : 'ok'),
    },
  },
  {
    name: '/projects/:id/releases/:tag',
    method: 'PUT',
    path: () => `/api/v4/projects/${project.id}/releases/${TAG}`,
    base: () => ({ name: 'R2' }),
    token: () => owner.token,
    fields: { name: optStr(255), description: optStr(1_000_000, true), released_at: dateTime },
  },
  { name: '/projects/:id/releases', method: 'GET', in: 'query', path: () => `/api/v4/projects/${project.id}/releases`, base: () => ({}), fields: { order_by: qEnum('released_at', 'created_at'), sort: qEnum('asc', 'desc'), page: qInt, per_page: qInt } },
  // Ours (issue 15): a bad day or a window over 90 days is a 400, a good one 200.
  { name: '/projects/:id/releases/:tag/downloads/stats', method: 'GET', in: 'query', path: () => `/api/v4/projects/${project.id}/releases/${TAG}/downloads/stats`, base: () => ({}), token: () => owner.token, fields: { interval: qEnum('day'), from: statsDay('from'), to: statsDay('to') } },
  { name: '/admin/audit_events/stats', method: 'GET', in: 'query', path: () => '/api/v4/admin/audit_events/stats', base: () => ({}), fields: { months: (v) => (q(v) === '' || (/^\d{1,3}$/.test(q(v)) && Number(q(v)) >= 1 && Number(q(v)) <= 24) ? 'ok' : 400) } },
  {
    name: '/projects/:id/releases/:tag/assets/links',
    method: 'POST',
    path: () => `/api/v4/projects/${project.id}/releases/${LINK_TAG}/assets/links`,
    base: () => ({ name: unique('l'), url: `https://example.com/${unique('f')}` }),
    token: () => owner.token,
    cleanup: (body) => dropLink(body.id),
    fields: {
      name: linkText(true, linkName),
      url: linkText(true, linkUrlOk),
      direct_asset_path: linkText(false, filepathOk),
      filepath: linkText(false, filepathOk),
      link_type: oneOf('other', 'runbook', 'package', 'image'),
    },
  },
  {
    name: '/projects/:id/releases/:tag/assets/links/:id',
    method: 'PUT',
    path: () => `/api/v4/projects/${project.id}/releases/${LINK_TAG}/assets/links/${linkId}`,
    base: () => ({ name: unique('l') }),
    token: () => owner.token,
    cleanup: restoreLink,
    fields: { name: linkText(true, linkName), url: linkText(true, linkUrlOk), direct_asset_path: linkText(false, filepathOk), link_type: oneOf('other', 'runbook', 'package', 'image') },
  },
  {
    name: '/audit_events (ingest)',
    method: 'POST',
    path: () => '/api/v4/audit_events',
    base: () => ({ event_type: 'sweep_event', entity_type: 'Group', entity_id: destGroup.id }),
    remap: { entity_id: farId, target_id: farId },
    fields: {
      event_type: (v) => (typeof v === 'string' && /^[a-z0-9_]{1,255}$/.test(v) ? 'ok' : 400),
      entity_type: oneOf('Group', 'Project', 'User'),
      // Without entity_id (null) nothing names the entity; a far id names none (404).
      entity_id: (v) => {
        const n = strictInt(v);
        return n === undefined || n < 1 ? 400 : 404;
      },
      entity_path: ingestStr(5500, (s) => (s === destGroup.full_path ? 'ok' : 400)),
      // -1 is the unauthenticated author; any other id needs its user (far ids name none) or author_name.
      author_id: (v) => (v === null || strictInt(v) === -1 ? 'ok' : 400),
      author_name: ingestStr(255),
      target_id: (v) => {
        const n = strictInt(v);
        return v === null || (n !== undefined && n >= 0) ? 'ok' : 400;
      },
      target_type: ingestStr(255),
      target_details: ingestStr(5500),
      ip_address: ingestStr(45, (s) => (isIpAddress(s) ? 'ok' : 400)),
      details: (v) => (v === null || (structured(v) && !Array.isArray(v)) ? 'ok' : 400),
      created_at: (v) => (v === null || (typeof v === 'string' && isoDateTime(v)) ? 'ok' : 400),
    },
  },
  ...[
    ['/audit_events', true],
    ['/audit_events.csv', true],
    [`/groups/:id/audit_events`, false],
    [`/projects/:id/audit_events`, false],
  ].map(([p, instance]): RestSpec => ({
    name: p as string,
    method: 'GET',
    in: 'query',
    path: () => `/api/v4${(p as string).replace('/groups/:id', `/groups/${group.id}`).replace('/projects/:id', `/projects/${project.id}`)}`,
    base: () => ({}),
    fields: {
      created_after: qDateTime,
      created_before: qDateTime,
      event_type: (v) => (blank(q(v)) || tooLong(q(v), 255) ? 400 : 'ok'),
      author_id: (v) => (q(v) === '' || /^-?\d{1,15}$/.test(q(v).trim()) ? 'ok' : 400),
      // The CSV export streams everything and ignores paging, as GitLab's export does.
      page: (p as string).endsWith('.csv') ? anything : qInt,
      per_page: (p as string).endsWith('.csv') ? anything : qInt,
      pagination: (p as string).endsWith('.csv') ? anything : qEnum('offset', 'keyset'),
      // Only read with pagination=keyset (the base does not ask for it).
      cursor: anything,
      // The CSV export reads sort; the listing only with pagination=keyset.
      sort: (p as string).endsWith('.csv') ? qEnum('asc', 'desc') : anything,
      // entity_id needs entity_type, which the base does not give.
      ...(instance ? { entity_type: qEnum('Project', 'Group', 'User'), entity_id: (v: unknown) => (q(v) === '' ? 'ok' : 400) } : {}),
    },
  })),
];

describe('REST input sweep', () => {
  for (const spec of REST) {
    const runs = runsFor(Object.keys(spec.fields).length);
    expectedCases += runs;
    expectedFamilies++;
    it(`${spec.method} ${spec.name}`, async () => {
      await restControl(spec);
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...Object.keys(spec.fields)), hostileValue(), (field, value) => restCase(spec, field, value)),
        { numRuns: runs, seed: SEED },
      );
    });
  }

  it('hostile path segments on every resource route', async () => {
    const firstEventId = async (path: string) => {
      const r = await api('GET', `${path}?per_page=1`, { token: ADMIN });
      must(r.status, path, r.body);
      return String(r.body[0].id);
    };
    // Each route with the segment that names a real row: its control must answer 200.
    // Any other segment names nothing (404), except that an audit event id must be digits (400).
    const routes: [(s: string) => string, () => Promise<string> | string, ((seg: string) => number)?][] = [
      [(s) => `/api/v4/users/${s}`, () => String(plain.id)],
      [(s) => `/api/v4/personal_access_tokens/${s}`, () => String(patId)],
      [(s) => `/api/v4/groups/${s}`, () => String(group.id)],
      [(s) => `/api/v4/groups/${s}/subgroups`, () => String(group.id)],
      [(s) => `/api/v4/groups/${s}/projects`, () => String(group.id)],
      [(s) => `/api/v4/groups/${s}/members`, () => String(group.id)],
      [(s) => `/api/v4/groups/${group.id}/members/${s}`, () => String(memberUser.id)],
      [(s) => `/api/v4/projects/${s}`, () => String(project.id)],
      [(s) => `/api/v4/projects/${s}/members`, () => String(project.id)],
      [(s) => `/api/v4/projects/${s}/releases`, () => String(project.id)],
      [(s) => `/api/v4/projects/${project.id}/releases/${s}`, () => TAG],
      [(s) => `/api/v4/projects/${project.id}/releases/${s}/assets/links`, () => TAG],
      [(s) => `/api/v4/projects/${project.id}/releases/${TAG}/assets/links/${s}`, () => String(binLinkId)],
      [(s) => `/api/v4/audit_events/${s}`, () => String(eventId), eventIdSegment],
      [(s) => `/api/v4/groups/${group.id}/audit_events/${s}`, () => firstEventId(`/api/v4/groups/${group.id}/audit_events`), eventIdSegment],
      [(s) => `/api/v4/projects/${project.id}/audit_events/${s}`, () => firstEventId(`/api/v4/projects/${project.id}/audit_events`), eventIdSegment],
      [(s) => `/api/v4/groups/${s}/audit_events`, () => String(group.id)],
      [(s) => `/api/v4/projects/${s}/audit_events`, () => String(project.id)],
    ];
    for (const [route, valid] of routes) {
      const path = route(encodeURIComponent(await valid()));
      expectRestStatus(await answerOf(await call('GET', path, { token: ADMIN })), 200, `control GET ${path}`);
    }
    counter.family('GET path segments');
    expectedFamilies++;
    // A segment is always percent-encoded, or sent as is when it needs no encoding. Empty and
    // dot segments are resolved by the URL parser before any Worker sees them: not segments.
    const segment = fc
      .tuple(hostileValue(), fc.boolean())
      .map(([value, encode]) => {
        const raw = wellFormed(typeof value === 'string' ? value : JSON.stringify(value) ?? '');
        return farIdSegment(encode || encodeURIComponent(raw) !== raw ? encodeURIComponent(raw) : raw);
      })
      .filter((seg) => !['', '.', '..'].includes(decodeURIComponent(seg)));
    const runs = RUNS * 12;
    expectedCases += runs;
    await fc.assert(
      fc.asyncProperty(fc.nat(routes.length - 1), segment, async (r, seg) => {
        counter.hit();
        const [route, , status = () => 404] = routes[r];
        const path = route(seg);
        expectRestStatus(await answerOf(await call('GET', path, { token: ADMIN })), status(seg), `GET ${path.slice(0, 120)}`);
      }),
      { numRuns: runs, seed: SEED },
    );
  });

  it('malformed bodies on every write route', async () => {
    const writes = REST.filter((s) => s.method !== 'GET');
    // A body without any known field misses a required one everywhere (PUT release needs one of
    // its fields). The form body names name "%ZZ" and path "%": taken where name is all a route
    // needs, refused elsewhere (a required field missing, or path '%').
    const formOk = new Set(['PUT /projects/:id/releases/:tag', 'PUT /projects/:id/releases/:tag/assets/links/:id']);
    const huge = '{"name":"' + 'z'.repeat(1024 * 1024 + 10) + '"}';
    const bodies: { body: BodyInit; type: string; status: (route: string, ok: number) => number }[] = [
      { body: '{', type: 'application/json', status: () => 400 },
      { body: '[1,2]', type: 'application/json', status: () => 400 },
      { body: '"just a string"', type: 'application/json', status: () => 400 },
      { body: 'null', type: 'application/json', status: () => 400 },
      { body: '{"a":' + '['.repeat(5000) + ']'.repeat(5000) + '}', type: 'application/json', status: () => 400 },
      { body: huge, type: 'application/json', status: () => 413 },
      { body: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), type: 'application/json', status: () => 400 },
      // Stray percent signs are read literally (WHATWG form decoding): name "%ZZ", path "%".
      { body: 'name=%ZZ&path=%', type: 'application/x-www-form-urlencoded', status: (r, ok) => (formOk.has(r) ? ok : 400) },
      { body: '--x\r\nbroken', type: 'multipart/form-data; boundary=x', status: () => 400 },
      { body: '<xml/>', type: 'application/xml', status: () => 400 },
    ];
    counter.family('malformed bodies');
    expectedFamilies++;
    for (const spec of writes) {
      const route = `${spec.method} ${spec.name}`;
      await restControl(spec, ADMIN);
      expectedCases += bodies.length;
      for (const b of bodies) {
        counter.hit();
        const a = await answerOf(await call(spec.method, spec.path(), { token: ADMIN, body: b.body as string, headers: { 'Content-Type': b.type } }));
        const status = b.status(route, okStatus(spec));
        expectRestStatus(a, status, `${route} body ${b.type} ${String(b.body).slice(0, 30)}`);
        if (status < 300 && spec.cleanup) await spec.cleanup(a.json);
      }
    }
  });

  it('hostile tokens are 401 on the API and 404 on the download route, whatever their form', async () => {
    const dl = `/${project.path_with_namespace}/-/releases/${TAG}/downloads/bin/app`;
    const vias = ['header', 'bearer', 'query'] as const;
    // Controls: the valid token, sent each way, is taken on all three surfaces.
    for (const via of vias) {
      expectRestStatus(await answerOf(await call('GET', '/api/v4/user', { token: ADMIN, tokenVia: via })), 200, `control token via ${via}`);
      expect((await call('GET', dl, { token: ADMIN, tokenVia: via })).status, `control download via ${via}`).toBe(302);
      const g = await answerOf(await call('POST', '/api/graphql', { token: ADMIN, tokenVia: via === 'query' ? 'header' : via, body: { query: '{ currentUser { id } }' } }));
      expectGraphqlOutcome(g, 'ok', `control graphql token via ${via}`);
      expect(g.json.data.currentUser.id).toBe('gid://gitlab/User/1');
    }
    counter.family('tokens');
    expectedFamilies++;
    const runs = RUNS * 3;
    expectedCases += runs;
    await fc.assert(
      fc.asyncProperty(hostileToken(), fc.constantFrom(...vias), async (token, via) => {
        counter.hit();
        expectRestStatus(await answerOf(await call('GET', '/api/v4/user', { token, tokenVia: via })), 401, `token ${JSON.stringify(token)} via ${via}`);
        const d = await answerOf(await call('GET', dl, { token, tokenVia: via }));
        expect(d.status, `download token ${JSON.stringify(token)} via ${via}`).toBe(404);
        expectNoInternalText(d.text, `download token via ${via}`);
        const g = await answerOf(await call('POST', '/api/graphql', { token, tokenVia: via === 'query' ? 'header' : via, body: { query: '{ currentUser { id } }' } }));
        expect(g.status, `graphql token via ${via}: ${g.text.slice(0, 200)}`).toBe(401);
        expectGraphqlAnswer401(g, `graphql token via ${via}`);
      }),
      { numRuns: runs, seed: SEED },
    );
    // Malformed Authorization headers.
    const headers = ['Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', 'bearer\ttest-admin-token-x', 'Token abc', 'Bearer ' + 'a'.repeat(5000)];
    expectedCases += headers.length;
    for (const header of headers) {
      counter.hit();
      expectRestStatus(await answerOf(await call('GET', '/api/v4/user', { headers: { Authorization: header } })), 401, header.slice(0, 30));
    }
  });

  it('hostile download paths answer 404; the real link redirects', async () => {
    const control = await call('GET', `/${project.path_with_namespace}/-/releases/${TAG}/downloads/bin/app`, { token: ADMIN });
    expect(control.status).toBe(302);
    expect(control.headers.get('Location')).toBe('https://example.com/bin');
    counter.family('downloads');
    expectedFamilies++;
    const runs = RUNS * 4;
    expectedCases += runs;
    await fc.assert(
      fc.asyncProperty(hostileValue(), hostileValue(), async (tag, file) => {
        counter.hit();
        const t = encodeURIComponent(wellFormed(typeof tag === 'string' ? tag : JSON.stringify(tag) ?? ''));
        const f = wellFormed(typeof file === 'string' ? file : JSON.stringify(file) ?? '').split('/').map(encodeURIComponent).join('/');
        const res = await call('GET', `/${project.path_with_namespace}/-/releases/${t}/downloads/${f}`, { token: ADMIN });
        const body = await res.text();
        expect(res.status, `${t}/${f}: ${body.slice(0, 200)}`).toBe(404);
        expectNoInternalText(body, `${t}/${f}`);
      }),
      { numRuns: runs, seed: SEED },
    );
  });
});

/** Lone surrogates cannot be percent-encoded: replace them as a browser would (U+FFFD). */
function wellFormed(s: string): string {
  return s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

/** An audit event id segment: digits name an event (none, here: 404); anything else is "id is invalid" (400). */
function eventIdSegment(seg: string): number {
  return /^\d{1,15}$/.test(decodeURIComponent(seg)) ? 404 : 400;
}

/** A numeric path segment that could name another test's row becomes an id nobody has. */
function farIdSegment(seg: string): string {
  return /^\d{1,11}$/.test(seg) && Number(seg) > 0 ? String(Number(seg) + 1e12) : seg;
}

/** A GraphQL answer to a bad token: 401 with GraphQL errors, nothing internal. */
function expectGraphqlAnswer401(a: Answer, label: string): void {
  expect(Array.isArray(a.json?.errors) && a.json.errors.length > 0, `${label}: ${a.text.slice(0, 200)}`).toBe(true);
  expectNoInternalText(a.text, label);
}

// ---------------------------------------------------------------------------------------------
// GraphQL: every mutation input field, query arguments, GIDs, and hostile documents.
type GJudge = (v: unknown) => GraphqlOutcome;
interface GqlSpec {
  name: string;
  /** The mutation or query; variables `$i` (input) or named arguments. */
  doc: string;
  /** Payload field (errors-as-data), when a mutation. */
  payload?: string;
  /** The valid input (the family's control); each case replaces one field with a hostile value. */
  base: () => Record<string, unknown>;
  /** A fresh valid input for the control, when running the base would use up what it names (destroy, delete). */
  control?: () => Promise<Record<string, unknown>>;
  fields: Record<string, GJudge>;
  token?: () => string;
  /** Query arguments are top-level variables rather than fields of `$i`. */
  asVariables?: boolean;
  /** Undo a success, so that every case finds the world its judge assumes. */
  cleanup?: (data: any) => Promise<void>;
}

const OK: GraphqlOutcome = 'ok';
const INVALID: GraphqlOutcome = 'invalid';
const REFUSED: GraphqlOutcome = 'refused';
/** A GraphQL String: strings only (graphql-js does not coerce other JSON values to String). */
const gStr = (required: boolean, rule: (s: string) => GraphqlOutcome = () => OK): GJudge => (v) =>
  v === null ? (required ? INVALID : OK) : typeof v !== 'string' ? INVALID : rule(v);
/** A GraphQL ID: a string or an integer. */
const isGId = (v: unknown) => typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v));
const gIdOf = (required: boolean, rule: (s: string) => GraphqlOutcome): GJudge => (v) => (v === null ? (required ? INVALID : OK) : !isGId(v) ? INVALID : rule(String(v)));
const gBool = (nullable: boolean): GJudge => (v) => (v === true || v === false || (nullable && v === null) ? OK : INVALID);
/** A [String!] list: a list of strings, or one string (coerced to a list of one). */
const strList = (v: unknown): string[] | undefined => (typeof v === 'string' ? [v] : Array.isArray(v) && v.every((x) => typeof x === 'string') ? v : undefined);
const gInt = (v: unknown) => v === null || (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < 2 ** 31);
const gEnum = (...values: string[]): GJudge => (v) => (v === null || values.includes(v as string) ? OK : INVALID);
/**
 * A GID argument that names no record of its type: refused with "resource not available",
 * whatever the value's JSON type (README: wrong-type GIDs answer that rather than GitLab's coercion error).
 */
const noRecord: GJudge = () => REFUSED;
/** The only GID that names a record: the base's own. */
const gidIs = (valid: () => string): GJudge => (v) => (v === valid() ? OK : REFUSED);
const HEADER_KEY = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
const RESERVED_KEYS = new Set(RESERVED_HEADER_KEYS.map((k) => k.toLowerCase()));
const headerKey = (s: string) => (s.trim() !== '' && s.length <= 255 && HEADER_KEY.test(s) && !RESERVED_KEYS.has(s.toLowerCase()) ? OK : REFUSED);
const headerValue = (s: string) => (s.trim() !== '' && s.length <= 2000 && !/[\r\n\u0000]/.test(s) ? OK : REFUSED);
/** Destination URLs: at most 255 characters, http(s) with a host (loopback allowed in tests). */
const destUrl = (s: string) => (s.length <= 255 && /^https?:\/\/[^\s]+$/.test(s) ? OK : REFUSED);
/** Destination names: not blank, at most 72 characters. */
const destName = (s: string) => (s.trim() !== '' && s.length <= 72 ? OK : REFUSED);
/** Event type filters must name catalogued types. */
const eventTypes: GJudge = (v) => {
  const list = strList(v);
  return list === undefined ? INVALID : list.length > 0 && list.every(isKnownAuditEventType) ? OK : REFUSED;
};
const isoTime = (v: unknown) => typeof v === 'string' && isoDateTime(v);
/** A Time argument: an ISO 8601 date or datetime; anything else is refused (as an error, not a 400). */
const time = (nullable: boolean): GJudge => (v) => (v === null ? (nullable ? OK : INVALID) : isoTime(v) ? OK : REFUSED);

const M = (name: string, inputType: string, selection = 'errors') =>
  `mutation($i: ${inputType}!) { ${name}(input: $i) { ${selection} } }`;
const LINK_TYPES = ['OTHER', 'RUNBOOK', 'PACKAGE', 'IMAGE'];
const linkUrl = (s: string) => (linkUrlOk(s) ? OK : REFUSED);
const linkNameG = (s: string) => (linkName(s) ? OK : REFUSED);
const filepathG = (s: string) => (filepathOk(s) ? OK : REFUSED);
/** first: an Int from 0 to 100. */
const first: GJudge = (v) => (!gInt(v) ? INVALID : v === null || ((v as number) >= 0 && (v as number) <= 100) ? OK : REFUSED);

const GQL: GqlSpec[] = [
  {
    name: 'externalAuditEventDestinationCreate',
    doc: M('externalAuditEventDestinationCreate', 'ExternalAuditEventDestinationCreateInput', 'errors externalAuditEventDestination { id }'),
    payload: 'externalAuditEventDestinationCreate',
    base: () => ({ destinationUrl: `${SINK}/${unique('d')}`, groupPath: destGroup.full_path, name: unique('n') }),
    token: () => owner.token,
    fields: {
      destinationUrl: gStr(true, destUrl),
      name: gStr(false, destName),
      groupPath: gIdOf(true, (s) => (s === destGroup.full_path ? OK : REFUSED)),
      verificationToken: gStr(false, (s) => (s.length >= 16 && s.length <= 24 ? OK : REFUSED)),
      eventTypeFilters: (v) => (v === null ? OK : eventTypes(v)),
    },
    cleanup: async (data) =>
      void (await mutate('externalAuditEventDestinationDestroy', 'ExternalAuditEventDestinationDestroyInput', { id: data.externalAuditEventDestinationCreate.externalAuditEventDestination.id }, 'errors', owner.token)),
  },
  {
    name: 'externalAuditEventDestinationUpdate',
    doc: M('externalAuditEventDestinationUpdate', 'ExternalAuditEventDestinationUpdateInput'),
    payload: 'externalAuditEventDestinationUpdate',
    base: () => ({ id: destGid }),
    token: () => owner.token,
    fields: { id: gidIs(() => destGid), destinationUrl: (v) => (v === null ? OK : gStr(false, destUrl)(v)), name: gStr(false, destName), active: gBool(true) },
    cleanup: async () => void (await mutate('externalAuditEventDestinationUpdate', 'ExternalAuditEventDestinationUpdateInput', { id: destGid, active: true, destinationUrl: SINK }, 'errors', owner.token)),
  },
  {
    name: 'externalAuditEventDestinationDestroy',
    doc: M('externalAuditEventDestinationDestroy', 'ExternalAuditEventDestinationDestroyInput'),
    payload: 'externalAuditEventDestinationDestroy',
    base: () => ({ id: destGid }),
    control: async () => ({ id: await newDestination() }),
    token: () => owner.token,
    fields: { id: noRecord },
  },
  {
    name: 'auditEventsStreamingHeadersCreate',
    doc: M('auditEventsStreamingHeadersCreate', 'AuditEventsStreamingHeadersCreateInput', 'errors header { id }'),
    payload: 'auditEventsStreamingHeadersCreate',
    base: () => ({ destinationId: destGid, key: `X-${unique('k')}`, value: 'v' }),
    token: () => owner.token,
    fields: { destinationId: gidIs(() => destGid), key: gStr(true, headerKey), value: gStr(true, headerValue), active: gBool(true) },
    cleanup: async (data) =>
      void (await mutate('auditEventsStreamingHeadersDestroy', 'AuditEventsStreamingHeadersDestroyInput', { headerId: data.auditEventsStreamingHeadersCreate.header.id }, 'errors', owner.token)),
  },
  {
    name: 'auditEventsStreamingHeadersUpdate',
    doc: M('auditEventsStreamingHeadersUpdate', 'AuditEventsStreamingHeadersUpdateInput'),
    payload: 'auditEventsStreamingHeadersUpdate',
    base: () => ({ headerId: headerGid }),
    token: () => owner.token,
    fields: {
      headerId: gidIs(() => headerGid),
      key: (v) => (v === null ? OK : gStr(false, headerKey)(v)),
      value: (v) => (v === null ? OK : gStr(false, headerValue)(v)),
      active: gBool(true),
    },
  },
  {
    name: 'auditEventsStreamingHeadersDestroy',
    doc: M('auditEventsStreamingHeadersDestroy', 'AuditEventsStreamingHeadersDestroyInput'),
    payload: 'auditEventsStreamingHeadersDestroy',
    base: () => ({ headerId: headerGid }),
    control: async () => ({ headerId: await newHeader(destGid) }),
    token: () => owner.token,
    fields: { headerId: noRecord },
  },
  {
    name: 'auditEventsStreamingDestinationEventsAdd',
    doc: M('auditEventsStreamingDestinationEventsAdd', 'AuditEventsStreamingDestinationEventsAddInput'),
    payload: 'auditEventsStreamingDestinationEventsAdd',
    base: () => ({ destinationId: destGid, eventTypeFilters: ['project_fork_operation'] }),
    token: () => owner.token,
    fields: { destinationId: gidIs(() => destGid), eventTypeFilters: eventTypes },
    cleanup: async (data) => {
      expect(data.auditEventsStreamingDestinationEventsAdd.errors).toEqual([]);
      await mutate('auditEventsStreamingDestinationEventsRemove', 'AuditEventsStreamingDestinationEventsRemoveInput', { destinationId: destGid, eventTypeFilters: ['project_fork_operation'] }, 'errors', owner.token);
    },
  },
  {
    name: 'auditEventsStreamingDestinationEventsRemove',
    doc: M('auditEventsStreamingDestinationEventsRemove', 'AuditEventsStreamingDestinationEventsRemoveInput'),
    payload: 'auditEventsStreamingDestinationEventsRemove',
    // openDestGid takes REMOVABLE_TYPE: removing it succeeds (and is undone); removing any other type is refused.
    base: () => ({ destinationId: openDestGid, eventTypeFilters: [REMOVABLE_TYPE] }),
    token: () => owner.token,
    fields: {
      destinationId: gidIs(() => openDestGid),
      eventTypeFilters: (v) => {
        const list = strList(v);
        return list === undefined ? INVALID : list.length > 0 && list.every((t) => t === REMOVABLE_TYPE) ? OK : REFUSED;
      },
    },
    cleanup: async () =>
      void (await mutate('auditEventsStreamingDestinationEventsAdd', 'AuditEventsStreamingDestinationEventsAddInput', { destinationId: openDestGid, eventTypeFilters: [REMOVABLE_TYPE] }, 'errors', owner.token)),
  },
  {
    name: 'auditEventsStreamingHttpNamespaceFiltersAdd',
    doc: M('auditEventsStreamingHttpNamespaceFiltersAdd', 'AuditEventsStreamingHTTPNamespaceFiltersAddInput', 'errors namespaceFilter { id }'),
    payload: 'auditEventsStreamingHttpNamespaceFiltersAdd',
    // A destination without a filter and the subgroup: each success is removed again.
    base: () => ({ destinationId: openDestGid, groupPath: openFilterGroup.full_path }),
    token: () => owner.token,
    fields: {
      destinationId: gidIs(() => openDestGid),
      groupPath: (v) => (v === null ? REFUSED : !isGId(v) ? INVALID : String(v) === openFilterGroup.full_path ? OK : REFUSED),
      // With groupPath given too: "only one of" is refused whatever the value; null leaves groupPath alone.
      projectPath: (v) => (v === null ? OK : !isGId(v) ? INVALID : REFUSED),
    },
    cleanup: (data) => dropFilter(data.auditEventsStreamingHttpNamespaceFiltersAdd.namespaceFilter.id),
  },
  {
    name: 'auditEventsStreamingHttpNamespaceFiltersDelete',
    doc: M('auditEventsStreamingHttpNamespaceFiltersDelete', 'AuditEventsStreamingHTTPNamespaceFiltersDeleteInput'),
    payload: 'auditEventsStreamingHttpNamespaceFiltersDelete',
    base: () => ({ namespaceFilterId: 'gid://gitlab/AuditEvents::Streaming::HTTP::NamespaceFilter/0' }),
    control: async () => ({ namespaceFilterId: await newFilter() }),
    token: () => owner.token,
    fields: { namespaceFilterId: noRecord },
  },
  {
    name: 'auditEventsStreamingDestinationSigningSecretRotate',
    doc: M('auditEventsStreamingDestinationSigningSecretRotate', 'AuditEventsStreamingDestinationSigningSecretRotateInput'),
    payload: 'auditEventsStreamingDestinationSigningSecretRotate',
    base: () => ({ destinationId: destGid }),
    token: () => owner.token,
    fields: { destinationId: gidIs(() => destGid), clientMutationId: gStr(false) },
  },
  {
    name: 'instanceExternalAuditEventDestinationCreate',
    doc: M('instanceExternalAuditEventDestinationCreate', 'InstanceExternalAuditEventDestinationCreateInput', 'errors instanceExternalAuditEventDestination { id }'),
    payload: 'instanceExternalAuditEventDestinationCreate',
    base: () => ({ destinationUrl: `${SINK}/${unique('i')}`, name: unique('n') }),
    fields: { destinationUrl: gStr(true, destUrl), name: gStr(false, destName) },
    cleanup: async (data) =>
      void (await mutate('instanceExternalAuditEventDestinationDestroy', 'InstanceExternalAuditEventDestinationDestroyInput', { id: data.instanceExternalAuditEventDestinationCreate.instanceExternalAuditEventDestination.id })),
  },
  {
    name: 'instanceExternalAuditEventDestinationUpdate',
    doc: M('instanceExternalAuditEventDestinationUpdate', 'InstanceExternalAuditEventDestinationUpdateInput'),
    payload: 'instanceExternalAuditEventDestinationUpdate',
    base: () => ({ id: instanceGid, active: false }),
    fields: { id: gidIs(() => instanceGid), destinationUrl: (v) => (v === null ? OK : gStr(false, destUrl)(v)), name: gStr(false, destName), active: gBool(true) },
    cleanup: async () => void (await mutate('instanceExternalAuditEventDestinationUpdate', 'InstanceExternalAuditEventDestinationUpdateInput', { id: instanceGid, active: false, destinationUrl: SINK })),
  },
  {
    name: 'instanceExternalAuditEventDestinationDestroy',
    doc: M('instanceExternalAuditEventDestinationDestroy', 'InstanceExternalAuditEventDestinationDestroyInput'),
    payload: 'instanceExternalAuditEventDestinationDestroy',
    base: () => ({ id: instanceGid }),
    control: async () => {
      const id = await newInstanceDestination();
      instanceDestroyed.add(id);
      return { id };
    },
    fields: { id: noRecord },
  },
  {
    name: 'auditEventsStreamingInstanceHeadersCreate',
    doc: M('auditEventsStreamingInstanceHeadersCreate', 'AuditEventsStreamingInstanceHeadersCreateInput', 'errors header { id }'),
    payload: 'auditEventsStreamingInstanceHeadersCreate',
    base: () => ({ destinationId: instanceGid, key: `X-${unique('k')}`, value: 'v' }),
    fields: { destinationId: gidIs(() => instanceGid), key: gStr(true, headerKey), value: gStr(true, headerValue) },
    cleanup: async (data) =>
      void (await mutate('auditEventsStreamingInstanceHeadersDestroy', 'AuditEventsStreamingInstanceHeadersDestroyInput', { headerId: data.auditEventsStreamingInstanceHeadersCreate.header.id })),
  },
  {
    name: 'auditEventsStreamingInstanceHeadersUpdate',
    doc: M('auditEventsStreamingInstanceHeadersUpdate', 'AuditEventsStreamingInstanceHeadersUpdateInput'),
    payload: 'auditEventsStreamingInstanceHeadersUpdate',
    base: () => ({ headerId: instanceHeaderGid }),
    fields: {
      headerId: gidIs(() => instanceHeaderGid),
      key: (v) => (v === null ? OK : gStr(false, headerKey)(v)),
      value: (v) => (v === null ? OK : gStr(false, headerValue)(v)),
    },
  },
  {
    name: 'auditEventsStreamingInstanceHeadersDestroy',
    doc: M('auditEventsStreamingInstanceHeadersDestroy', 'AuditEventsStreamingInstanceHeadersDestroyInput'),
    payload: 'auditEventsStreamingInstanceHeadersDestroy',
    base: () => ({ headerId: instanceHeaderGid }),
    control: async () => ({ headerId: await newInstanceHeader() }),
    fields: { headerId: noRecord },
  },
  {
    name: 'auditEventsStreamingDestinationInstanceEventsAdd',
    doc: M('auditEventsStreamingDestinationInstanceEventsAdd', 'AuditEventsStreamingDestinationInstanceEventsAddInput'),
    payload: 'auditEventsStreamingDestinationInstanceEventsAdd',
    // A type no test records, removed again after each success; the type it already takes is refused.
    base: () => ({ destinationId: instanceGid, eventTypeFilters: [REMOVABLE_TYPE] }),
    fields: {
      destinationId: gidIs(() => instanceGid),
      eventTypeFilters: (v) => (eventTypes(v) === OK && strList(v)!.includes('project_fork_operation') ? REFUSED : eventTypes(v)),
    },
    cleanup: async () =>
      void (await mutate('auditEventsStreamingDestinationInstanceEventsRemove', 'AuditEventsStreamingDestinationInstanceEventsRemoveInput', { destinationId: instanceGid, eventTypeFilters: [REMOVABLE_TYPE] })),
  },
  {
    name: 'auditEventsStreamingDeliveryRedeliver',
    doc: M('auditEventsStreamingDeliveryRedeliver', 'AuditEventsStreamingDeliveryRedeliverInput'),
    payload: 'auditEventsStreamingDeliveryRedeliver',
    base: () => ({ destinationId: destGid, eventId: String(eventId) }),
    token: () => owner.token,
    fields: { destinationId: (v) => (v === destGid ? OK : isGId(v) ? REFUSED : INVALID), eventId: (v) => (!isGId(v) ? INVALID : String(v) === String(eventId) ? OK : REFUSED) },
  },
  {
    name: 'auditEventsStreamingDeliveriesRedeliverFailed',
    doc: M('auditEventsStreamingDeliveriesRedeliverFailed', 'AuditEventsStreamingDeliveriesRedeliverFailedInput'),
    payload: 'auditEventsStreamingDeliveriesRedeliverFailed',
    base: () => ({ destinationId: destGid, since: new Date(Date.now() + 86_400_000).toISOString() }),
    token: () => owner.token,
    fields: { destinationId: (v) => (v === destGid ? OK : isGId(v) ? REFUSED : INVALID), since: time(false) },
  },
  {
    name: 'releaseCreate',
    doc: M('releaseCreate', 'ReleaseCreateInput', 'errors release { tagName }'),
    payload: 'releaseCreate',
    base: () => ({ projectPath: writeProject.path_with_namespace, tagName: unique('gt'), name: 'G' }),
    token: () => owner.token,
    fields: {
      projectPath: gIdOf(true, (s) => (s === writeProject.path_with_namespace ? OK : REFUSED)),
      tagName: gStr(true, (s) => (tagOk(s) ? OK : REFUSED)),
      name: gStr(false, (s) => ([...s].length <= 255 ? OK : REFUSED)),
      description: gStr(false),
      releasedAt: time(true),
      assets: (v) => (v === null || (structured(v) && !Array.isArray(v) && Object.keys(v as object).length === 0) ? OK : INVALID),
      milestones: (v) => (v === null || (Array.isArray(v) && v.length === 0) ? OK : strList(v) === undefined ? INVALID : REFUSED),
    },
    cleanup: async (data) =>
      void (await mutate('releaseDelete', 'ReleaseDeleteInput', { projectPath: writeProject.path_with_namespace, tagName: data.releaseCreate.release.tagName }, 'errors', owner.token)),
  },
  {
    name: 'releaseUpdate',
    doc: M('releaseUpdate', 'ReleaseUpdateInput'),
    payload: 'releaseUpdate',
    base: () => ({ projectPath: project.path_with_namespace, tagName: TAG }),
    token: () => owner.token,
    fields: {
      projectPath: gIdOf(true, (s) => (s === project.path_with_namespace ? OK : REFUSED)),
      tagName: gStr(true, (s) => (s === TAG ? OK : REFUSED)),
      name: gStr(false, (s) => (s.trim() !== '' && [...s].length <= 255 ? OK : REFUSED)),
      description: gStr(false),
      releasedAt: time(true),
    },
  },
  {
    name: 'releaseDelete',
    doc: M('releaseDelete', 'ReleaseDeleteInput'),
    payload: 'releaseDelete',
    base: () => ({ projectPath: writeProject.path_with_namespace, tagName: 'never-created' }),
    control: async () => {
      const tag = unique('del');
      const r = await api('POST', `/api/v4/projects/${writeProject.id}/releases`, { token: owner.token, body: { tag_name: tag } });
      must(r.status, 'release to delete', r.body);
      return { projectPath: writeProject.path_with_namespace, tagName: tag };
    },
    token: () => owner.token,
    fields: { projectPath: gIdOf(true, () => REFUSED), tagName: gStr(true, () => REFUSED) },
  },
  {
    name: 'releaseAssetLinkCreate',
    doc: M('releaseAssetLinkCreate', 'ReleaseAssetLinkCreateInput', 'errors link { id }'),
    payload: 'releaseAssetLinkCreate',
    base: () => ({ projectPath: project.path_with_namespace, tagName: LINK_TAG, name: unique('ln'), url: `https://example.com/${unique('u')}` }),
    token: () => owner.token,
    fields: {
      projectPath: gIdOf(true, (s) => (s === project.path_with_namespace ? OK : REFUSED)),
      tagName: gStr(true, (s) => (s === LINK_TAG ? OK : REFUSED)),
      name: gStr(true, linkNameG),
      url: gStr(true, linkUrl),
      directAssetPath: gStr(false, filepathG),
      linkType: gEnum(...LINK_TYPES),
    },
    cleanup: (data) => dropLink(Number(String(data.releaseAssetLinkCreate.link.id).split('/').pop())),
  },
  {
    name: 'releaseAssetLinkUpdate',
    doc: M('releaseAssetLinkUpdate', 'ReleaseAssetLinkUpdateInput'),
    payload: 'releaseAssetLinkUpdate',
    base: () => ({ id: `gid://gitlab/Releases::Link/${linkId}` }),
    token: () => owner.token,
    fields: {
      id: gidIs(() => `gid://gitlab/Releases::Link/${linkId}`),
      name: gStr(false, linkNameG),
      url: gStr(false, linkUrl),
      directAssetPath: gStr(false, filepathG),
      linkType: gEnum(...LINK_TYPES),
    },
    cleanup: restoreLink,
  },
  {
    name: 'releaseAssetLinkDelete',
    doc: M('releaseAssetLinkDelete', 'ReleaseAssetLinkDeleteInput'),
    payload: 'releaseAssetLinkDelete',
    base: () => ({ id: 'gid://gitlab/Releases::Link/0' }),
    control: async () => ({ id: `gid://gitlab/Releases::Link/${await newLink()}` }),
    token: () => owner.token,
    fields: { id: noRecord },
  },
  // Queries: arguments as variables. An unknown path is no error: the field is null.
  {
    name: 'query group(fullPath)',
    doc: `query($fullPath: ID!) { group(fullPath: $fullPath) { id externalAuditEventDestinations(first: 5) { nodes { id } } } }`,
    asVariables: true,
    base: () => ({ fullPath: destGroup.full_path }),
    fields: { fullPath: gIdOf(true, () => OK) },
  },
  {
    name: 'query project releases',
    doc: `query($fullPath: ID!, $first: Int, $after: String, $sort: ReleaseSort, $tag: String!) {
      project(fullPath: $fullPath) { releases(first: $first, after: $after, sort: $sort) { nodes { tagName } } release(tagName: $tag) { tagName } } }`,
    asVariables: true,
    base: () => ({ fullPath: project.path_with_namespace, tag: TAG }),
    token: () => owner.token,
    fields: {
      fullPath: gIdOf(true, () => OK),
      first,
      after: gStr(false, () => REFUSED),
      sort: gEnum('RELEASED_AT_DESC', 'RELEASED_AT_ASC', 'CREATED_DESC', 'CREATED_ASC'),
      tag: gStr(true),
    },
  },
  {
    name: 'query destinations with deliveries',
    doc: `query($fullPath: ID!, $first: Int, $after: String, $status: AuditEventStreamingDeliveryStatus) {
      group(fullPath: $fullPath) { externalAuditEventDestinations(first: $first, after: $after) { nodes { id headers(first: $first, after: $after) { nodes { key } }
        deliveries(status: $status, first: $first, after: $after) { nodes { id status attempts { attempt } } } deliveryCounts { total } } } } }`,
    asVariables: true,
    base: () => ({ fullPath: destGroup.full_path }),
    token: () => owner.token,
    fields: {
      first,
      after: gStr(false, () => REFUSED),
      status: gEnum('PENDING', 'DELIVERED', 'FAILED'),
    },
  },
  {
    name: 'query destinations deliveryStats (ours)',
    doc: `query($fullPath: ID!, $hours: Int) { group(fullPath: $fullPath) { externalAuditEventDestinations { nodes { id deliveryStats(hours: $hours) { bucketStart delivered } } } } }`,
    asVariables: true,
    base: () => ({ fullPath: destGroup.full_path }),
    token: () => owner.token,
    fields: { hours: (v) => (!gInt(v) ? INVALID : v === null || ((v as number) >= 1 && (v as number) <= 168) ? OK : REFUSED) },
  },
  {
    name: 'query user(id, username)',
    doc: `query($id: UserID, $username: String) { user(id: $id, username: $username) { id username } }`,
    asVariables: true,
    base: () => ({ username: owner.username }),
    // A value that is no user GID: '"x" is not a valid Global ID', as GitLab answers.
    fields: { id: (v) => (v === null ? OK : REFUSED), username: gStr(false) },
  },
];

/** Malformed GIDs: wrong model, wrong shape, numbers, huge ids, other records' ids. */
const BAD_GIDS = [
  'gid://gitlab/AuditEvents::ExternalAuditEventDestination/999999999999',
  'gid://gitlab/AuditEvents::ExternalAuditEventDestination/-1',
  'gid://gitlab/AuditEvents::ExternalAuditEventDestination/1.5',
  'gid://gitlab/AuditEvents::ExternalAuditEventDestination/',
  'gid://gitlab/AuditEvents::ExternalAuditEventDestination/99999999999999999999999',
  'gid://gitlab/Group/1',
  'gid://gitlab/Project/1',
  'gid://other/AuditEvents::ExternalAuditEventDestination/1',
  'gid://gitlab/AuditEvents::ExternalAuditEventDestination/1/2',
  "gid://gitlab/AuditEvents::ExternalAuditEventDestination/1' OR 1=1",
  'gid://gitlab/Releases::Link/0',
  'gid://gitlab/AuditEvents::Streaming::Header/abc',
  'gid://gitlab/AuditEvents::Streaming::HTTP::NamespaceFilter/999999999999',
  'gid://gitlab/AuditEvents::InstanceExternalAuditEventDestination/999999999999',
  '1',
  '',
  'gid://',
];

async function gqlSend(spec: { doc: string; token?: () => string }, variables: Record<string, unknown>): Promise<Answer> {
  return answerOf(await call('POST', '/api/graphql', { token: spec.token ? spec.token() : ADMIN, body: { query: spec.doc, variables } }));
}
const varsOf = (spec: GqlSpec, input: Record<string, unknown>) => (spec.asVariables ? input : { i: input });

/** The family's valid request must succeed (and is undone like a case). */
async function gqlControl(spec: GqlSpec): Promise<void> {
  const a = await gqlSend(spec, varsOf(spec, spec.control ? await spec.control() : spec.base()));
  expectGraphqlOutcome(a, OK, `${spec.name} control`, spec.payload);
  if (spec.cleanup) await spec.cleanup(a.json.data);
  counter.family(spec.name);
}

async function gqlCase(spec: GqlSpec, field: string, value: unknown): Promise<void> {
  counter.hit();
  const expected = spec.fields[field](value);
  const a = await gqlSend(spec, varsOf(spec, { ...spec.base(), [field]: value }));
  expectGraphqlOutcome(a, expected, `${spec.name} ${field}=${JSON.stringify(value)?.slice(0, 80)}`, spec.payload);
  if (expected === OK && spec.cleanup) await spec.cleanup(a.json.data);
}

describe('GraphQL input sweep', () => {
  for (const spec of GQL) {
    const gidFields = Object.keys(spec.fields).filter((f) => /id$/i.test(f) && !spec.asVariables);
    const runs = runsFor(Object.keys(spec.fields).length);
    expectedCases += runs;
    expectedFamilies++;
    it(spec.name, async () => {
      await gqlControl(spec);
      const value = gidFields.length > 0 ? fc.oneof(hostileValue(), fc.constantFrom(...BAD_GIDS)) : hostileValue();
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...Object.keys(spec.fields)), value, (field, v) => gqlCase(spec, field, v)),
        { numRuns: runs, seed: SEED },
      );
    });
  }

  it('hostile documents: deep, huge, many aliases, garbage, wrong HTTP shapes', async () => {
    const deep = (n: number) => `{ group(fullPath: "${destGroup.full_path}") ${'{ parent '.repeat(n)}{ id }${' }'.repeat(n)} }`;
    const aliases = (n: number) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: currentUser { id }`).join(' ')} }`;
    // Each with its exact HTTP status: 400 for documents and variables that cannot run, 405 for
    // the wrong method, 200 for the two that are valid (the field is null).
    const docs: { body: unknown; raw?: string; type?: string; method?: string; status: number }[] = [
      { body: { query: deep(20) }, status: 400 },
      { body: { query: deep(200) }, status: 400 },
      { body: { query: aliases(31) }, status: 400 },
      { body: { query: aliases(2000) }, status: 400 },
      { body: { query: `{ ${'currentUser { id } '.repeat(3000)} }` }, status: 400 },
      { body: { query: 'x'.repeat(300_000) }, status: 413 },
      { body: { query: '{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } } } } }' }, status: 400 },
      { body: { query: 'query Q($a: Int) { currentUser { id } }', variables: { a: 'not an int' } }, status: 400 },
      { body: { query: '{ currentUser { id } }', variables: '[1]' }, status: 400 },
      { body: { query: '{ currentUser { id } }', variables: '{bad json' }, status: 400 },
      { body: { query: '{ currentUser { id } }', operationName: 42 }, status: 400 },
      { body: { query: 'query A { currentUser { id } } query B { currentUser { id } }' }, status: 400 },
      { body: { query: 'query A { currentUser { id } }', operationName: 'Nope' }, status: 400 },
      { body: { query: 'fragment F on UserCore { ...F } { currentUser { ...F } }' }, status: 400 },
      { body: { query: '{ nosuchfield }' }, status: 400 },
      { body: { query: '{ currentUser { id } ' }, status: 400 },
      { body: { query: '' }, status: 400 },
      { body: { query: null }, status: 400 },
      { body: { query: 42 }, status: 400 },
      { body: { queryx: '{ __typename }' }, status: 400 },
      { body: [{ query: '{ __typename }' }], status: 400 },
      { body: null, raw: '{', type: 'application/json', status: 400 },
      { body: null, raw: '{"query": "' + 'q'.repeat(300 * 1024) + '"}', type: 'application/json', status: 413 },
      { body: null, raw: 'query=%7B__typename%7D', type: 'application/x-www-form-urlencoded', status: 400 },
      { body: null, raw: new TextDecoder('latin1').decode(new Uint8Array([0xff, 0xfe])), type: 'application/json', status: 400 },
      { body: { query: 'subscription { x }' }, status: 400 },
      { body: { query: 'mutation { echoCreate(input: {}) { errors } }' }, method: 'GET', status: 405 },
      { body: { query: '{ __typename }' }, method: 'PUT', status: 405 },
      { body: { query: '{ currentUser { id } }\u0000' }, status: 400 },
      { body: { query: '{ group(fullPath: "\\u0000\\r\\n\' OR 1=1 --") { id } }' }, status: 200 },
      { body: { query: '{ project(fullPath: "' + 'a/'.repeat(2000) + '") { id } }' }, status: 200 },
    ];
    // Control: the same endpoint takes a valid document by POST and by GET.
    expectGraphqlOutcome(await answerOf(await call('POST', '/api/graphql', { token: ADMIN, body: { query: '{ currentUser { id } }' } })), OK, 'control POST');
    expectGraphqlOutcome(await answerOf(await call('GET', `/api/graphql?query=${encodeURIComponent('{ currentUser { id } }')}`, { token: ADMIN })), OK, 'control GET');
    counter.family('hostile documents');
    expectedFamilies++;
    expectedCases += docs.length;
    for (const d of docs) {
      counter.hit();
      let res: Response;
      if (d.method === 'GET') {
        const qd = (d.body as { query: string }).query;
        res = await call('GET', `/api/graphql?query=${encodeURIComponent(qd)}`, { token: ADMIN });
      } else {
        res = await call(d.method ?? 'POST', '/api/graphql', {
          token: ADMIN,
          body: d.raw ?? (d.method === 'PUT' ? JSON.stringify(d.body) : d.body),
          headers: d.type ? { 'Content-Type': d.type } : d.method === 'PUT' ? { 'Content-Type': 'application/json' } : undefined,
        });
      }
      const a = await answerOf(res);
      const label = `doc ${JSON.stringify(d.body ?? d.raw)?.slice(0, 80)}`;
      expect(a.status, `${label}: ${a.text.slice(0, 200)}`).toBe(d.status);
      if (d.status === 200) expectGraphqlOutcome(a, OK, label);
      else {
        expect(Array.isArray(a.json?.errors) && a.json.errors.length > 0, `${label}: ${a.text.slice(0, 200)}`).toBe(true);
        expectNoInternalText(a.text, label);
      }
    }
  });

  it('malformed GIDs in every GID argument', async () => {
    // Each mutation with a valid GID (fresh where the mutation uses it up) as its control.
    /** A control whose success must be undone: the selection it needs and the undo. */
    type Undo = { selection: string; undo: (payload: any) => Promise<unknown> };
    // The namespace filter family needs openDestGid without a filter: the one the control adds goes.
    const dropAdded: Undo = { selection: 'errors namespaceFilter { id }', undo: (payload) => dropFilter(payload.namespaceFilter.id) };
    const uses: [string, string, (g: string) => Record<string, unknown>, () => Promise<string> | string, Undo?][] = [
      ['externalAuditEventDestinationUpdate', 'ExternalAuditEventDestinationUpdateInput', (g) => ({ id: g, name: unique('x') }), () => destGid],
      ['externalAuditEventDestinationDestroy', 'ExternalAuditEventDestinationDestroyInput', (g) => ({ id: g }), () => newDestination()],
      ['auditEventsStreamingHeadersCreate', 'AuditEventsStreamingHeadersCreateInput', (g) => ({ destinationId: g, key: `X-${unique('a')}`, value: 'b' }), () => destGid],
      ['auditEventsStreamingHeadersUpdate', 'AuditEventsStreamingHeadersUpdateInput', (g) => ({ headerId: g, value: 'b' }), () => headerGid],
      ['auditEventsStreamingHeadersDestroy', 'AuditEventsStreamingHeadersDestroyInput', (g) => ({ headerId: g }), () => newHeader(destGid)],
      ['auditEventsStreamingDestinationEventsAdd', 'AuditEventsStreamingDestinationEventsAddInput', (g) => ({ destinationId: g, eventTypeFilters: ['project_fork_operation'] }), () => openDestGid],
      ['auditEventsStreamingHttpNamespaceFiltersAdd', 'AuditEventsStreamingHTTPNamespaceFiltersAddInput', (g) => ({ destinationId: g, groupPath: openFilterGroup.full_path }), () => openDestGid, dropAdded],
      ['auditEventsStreamingHttpNamespaceFiltersDelete', 'AuditEventsStreamingHTTPNamespaceFiltersDeleteInput', (g) => ({ namespaceFilterId: g }), () => newFilter()],
      ['auditEventsStreamingDestinationSigningSecretRotate', 'AuditEventsStreamingDestinationSigningSecretRotateInput', (g) => ({ destinationId: g }), () => destGid],
      ['instanceExternalAuditEventDestinationUpdate', 'InstanceExternalAuditEventDestinationUpdateInput', (g) => ({ id: g, name: unique('x') }), () => instanceGid],
      ['instanceExternalAuditEventDestinationDestroy', 'InstanceExternalAuditEventDestinationDestroyInput', (g) => ({ id: g }), async () => {
        const id = await newInstanceDestination();
        instanceDestroyed.add(id);
        return id;
      }],
      ['auditEventsStreamingInstanceHeadersDestroy', 'AuditEventsStreamingInstanceHeadersDestroyInput', (g) => ({ headerId: g }), () => newInstanceHeader()],
      ['auditEventsStreamingDestinationInstanceSigningSecretRotate', 'AuditEventsStreamingDestinationInstanceSigningSecretRotateInput', (g) => ({ destinationId: g }), () => instanceGid],
      ['auditEventsStreamingDeliveryRedeliver', 'AuditEventsStreamingDeliveryRedeliverInput', (g) => ({ destinationId: g, eventId: String(eventId) }), () => destGid],
      ['auditEventsStreamingDeliveriesRedeliverFailed', 'AuditEventsStreamingDeliveriesRedeliverFailedInput', (g) => ({ destinationId: g, since: '2020-01-01' }), () => destGid],
      ['releaseAssetLinkUpdate', 'ReleaseAssetLinkUpdateInput', (g) => ({ id: g, name: unique('x') }), () => `gid://gitlab/Releases::Link/${linkId}`],
      ['releaseAssetLinkDelete', 'ReleaseAssetLinkDeleteInput', (g) => ({ id: g }), async () => `gid://gitlab/Releases::Link/${await newLink()}`],
    ];
    for (const [name, type, input, valid, after = { selection: 'errors', undo: async () => undefined }] of uses) {
      const control = await answerOf(await call('POST', '/api/graphql', { token: ADMIN, body: { query: M(name, type, after.selection), variables: { i: input(await valid()) } } }));
      expectGraphqlOutcome(control, OK, `${name} control`, name);
      await after.undo(control.json.data[name]);
      counter.family(`${name} GIDs`);
      expectedFamilies++;
      expectedCases += BAD_GIDS.length;
      for (const g of BAD_GIDS) {
        counter.hit();
        const a = await answerOf(await call('POST', '/api/graphql', { token: ADMIN, body: { query: M(name, type), variables: { i: input(g) } } }));
        expectGraphqlOutcome(a, REFUSED, `${name} ${g}`, name);
      }
    }
  });

  it('every case of every family ran', () => {
    // The exact count (printed after the file): a family that stops early fails here.
    expect(counter.count).toBe(expectedCases);
    expect(counter.families).toBe(expectedFamilies);
  });
});
