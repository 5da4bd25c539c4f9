/** Validation rules and error texts of destinations, headers, filters; paging; secrets; audit events. */
import { beforeAll, describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { createGroup, createProject, createUser, gql, ADMIN, type TestUser } from '../support/api';
import { NOT_AVAILABLE, createDestination, eventsOn, idOf, ok, topErrors } from './support';

const CREATE = `mutation($input: ExternalAuditEventDestinationCreateInput!) {
  externalAuditEventDestinationCreate(input: $input) { errors externalAuditEventDestination { id name verificationToken } }
}`;
const UPDATE = `mutation($input: ExternalAuditEventDestinationUpdateInput!) {
  externalAuditEventDestinationUpdate(input: $input) { errors externalAuditEventDestination { id name destinationUrl active } }
}`;
const HEADER_CREATE = `mutation($input: AuditEventsStreamingHeadersCreateInput!) {
  auditEventsStreamingHeadersCreate(input: $input) { errors header { id key value active } }
}`;
const HEADER_UPDATE = `mutation($input: AuditEventsStreamingHeadersUpdateInput!) {
  auditEventsStreamingHeadersUpdate(input: $input) { errors header { id key value active } }
}`;
const EVENTS_ADD = `mutation($input: AuditEventsStreamingDestinationEventsAddInput!) {
  auditEventsStreamingDestinationEventsAdd(input: $input) { errors eventTypeFilters }
}`;
const EVENTS_REMOVE = `mutation($input: AuditEventsStreamingDestinationEventsRemoveInput!) {
  auditEventsStreamingDestinationEventsRemove(input: $input) { errors }
}`;
const NS_ADD = `mutation($input: AuditEventsStreamingHTTPNamespaceFiltersAddInput!) {
  auditEventsStreamingHttpNamespaceFiltersAdd(input: $input) { errors namespaceFilter { id namespace { id fullPath } externalAuditEventDestination { id } } }
}`;

let owner: TestUser;
let group: { id: number; full_path: string };

async function createErrors(input: Record<string, unknown>, token = owner.token): Promise<string[]> {
  const d = await ok(CREATE, token, { input: { groupPath: group.full_path, ...input } });
  if (d.externalAuditEventDestinationCreate.errors.length) expect(d.externalAuditEventDestinationCreate.externalAuditEventDestination).toBeNull();
  return d.externalAuditEventDestinationCreate.errors;
}

beforeAll(async () => {
  owner = await createUser();
  group = await createGroup({ token: owner.token });
});

describe('destination rules', () => {
  it('generates a 24-character token, a default name and a whsec_ signing secret', async () => {
    const g = await createGroup({ token: owner.token });
    const d = await createDestination(owner.token, g.full_path);
    expect(d.verificationToken).toMatch(/^[1-9A-HJ-NP-Za-km-z]{24}$/);
    expect(d.name).toMatch(/^Destination_[0-9a-f-]{36}$/);
    expect(d.signingSecret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(atob(d.signingSecret.slice('whsec_'.length)).length).toBeGreaterThanOrEqual(24);
  });

  it('validates the URL: present, at most 255, allowed scheme, unique per group', async () => {
    expect(await createErrors({ destinationUrl: '' })).toEqual(["Destination url can't be blank"]);
    expect(await createErrors({ destinationUrl: `https://example.com/${'a'.repeat(250)}` })).toEqual([
      'Destination url is too long (maximum is 255 characters)',
    ]);
    expect(await createErrors({ destinationUrl: 'ftp://example.com/x' })).toEqual(['Destination url is blocked: Only allowed schemes are https, http']);
    expect(await createErrors({ destinationUrl: 'https://user:pw@example.com/x' })).toEqual(['Destination url is blocked: Credentials are not allowed in the URL']);
    const url = `https://example.com/${crypto.randomUUID()}`;
    await createDestination(owner.token, group.full_path, { destinationUrl: url });
    expect(await createErrors({ destinationUrl: url })).toEqual(['Destination url has already been taken']);
    // The same URL on another group is fine.
    const other = await createGroup({ token: owner.token });
    await createDestination(owner.token, other.full_path, { destinationUrl: url });
  });

  it('validates the name (at most 72, unique) and the token (16..24, untrimmed, unique)', async () => {
    const url = () => `https://example.com/${crypto.randomUUID()}`;
    expect(await createErrors({ destinationUrl: url(), name: 'n'.repeat(73) })).toEqual(['Name is too long (maximum is 72 characters)']);
    const name = `dest-${crypto.randomUUID()}`;
    await createDestination(owner.token, group.full_path, { name });
    expect(await createErrors({ destinationUrl: url(), name })).toEqual(['Name has already been taken']);
    expect(await createErrors({ destinationUrl: url(), verificationToken: 'a'.repeat(15) })).toEqual([
      'Verification token is too short (minimum is 16 characters)',
    ]);
    expect(await createErrors({ destinationUrl: url(), verificationToken: 'a'.repeat(25) })).toEqual([
      'Verification token is too long (maximum is 24 characters)',
    ]);
    const token = `tok-${crypto.randomUUID().slice(0, 10)}  `; // trailing spaces kept
    const d = await createDestination(owner.token, (await createGroup({ token: owner.token })).full_path, { verificationToken: token });
    expect(d.verificationToken).toBe(token);
    const g2 = await createGroup({ token: owner.token });
    await createDestination(owner.token, g2.full_path, { verificationToken: 'same-token-0123456789' });
    const dup = await ok(CREATE, owner.token, { input: { groupPath: g2.full_path, destinationUrl: url(), verificationToken: 'same-token-0123456789' } });
    expect(dup.externalAuditEventDestinationCreate.errors).toEqual(['Verification token has already been taken']);
  });

  it('allows destinations on top-level groups only, and at most 5 per group', async () => {
    const top = await createGroup({ token: owner.token });
    const sub = await createGroup({ token: owner.token, parentId: top.id });
    const d = await ok(CREATE, owner.token, { input: { groupPath: sub.full_path, destinationUrl: 'https://example.com/sub' } });
    expect(d.externalAuditEventDestinationCreate.errors).toEqual(['Group must not be a subgroup']);
    for (let i = 0; i < 5; i++) await createDestination(owner.token, top.full_path);
    const sixth = await ok(CREATE, owner.token, { input: { groupPath: top.full_path, destinationUrl: 'https://example.com/sixth' } });
    expect(sixth.externalAuditEventDestinationCreate.errors).toEqual(['Maximum number of external audit event destinations (5) exceeded']);
  });

  it('keeps the limit when creates race: of 8 at once, exactly 5 succeed', async () => {
    const top = await createGroup({ token: owner.token });
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => ok(CREATE, owner.token, { input: { groupPath: top.full_path, destinationUrl: `https://example.com/race-${i}` } })),
    );
    const errors = answers.map((a) => a.externalAuditEventDestinationCreate.errors);
    expect(errors.filter((e) => e.length === 0)).toHaveLength(5);
    expect(errors.filter((e) => e.length > 0)).toEqual(Array(3).fill(['Maximum number of external audit event destinations (5) exceeded']));
    const n = await env.DB.prepare("SELECT COUNT(*) AS n FROM streaming_destinations WHERE scope = 'group' AND namespace_id = ?1").bind(top.id).first<{ n: number }>();
    expect(n!.n).toBe(5);
  });

  it('updates name, URL and active with the same rules, and never changes the token', async () => {
    const a = await createDestination(owner.token, group.full_path);
    const b = await createDestination(owner.token, group.full_path);
    const upd = await ok(UPDATE, owner.token, { input: { id: a.id, name: 'renamed-' + idOf(a.id), destinationUrl: 'http://127.0.0.1:9/x' + idOf(a.id), active: false } });
    expect(upd.externalAuditEventDestinationUpdate).toEqual({
      errors: [],
      externalAuditEventDestination: { id: a.id, name: 'renamed-' + idOf(a.id), destinationUrl: 'http://127.0.0.1:9/x' + idOf(a.id), active: false },
    });
    const clash = await ok(UPDATE, owner.token, { input: { id: b.id, name: 'renamed-' + idOf(a.id) } });
    expect(clash.externalAuditEventDestinationUpdate.errors).toEqual(['Name has already been taken']);
    const bad = await ok(UPDATE, owner.token, { input: { id: b.id, destinationUrl: 'gopher://x' } });
    expect(bad.externalAuditEventDestinationUpdate.errors).toEqual(['Destination url is blocked: Only allowed schemes are https, http']);
    // verificationToken is not an update argument (GitLab: it cannot be changed): a validation error, 400.
    const r = await gql(`mutation { externalAuditEventDestinationUpdate(input: { id: "${b.id}", verificationToken: "xxxxxxxxxxxxxxxxxxxx" }) { errors } }`, undefined, owner.token);
    expect(r.status).toBe(400);
    // Update events: one per changed attribute, GitLab's change/from/to.
    const events = (await eventsOn('Group', group.id)).filter((e) => e.event_type === 'update_event_streaming_destination' && e.target_id === idOf(a.id));
    expect(events.map((e) => JSON.parse(e.details).change).sort()).toEqual(['active', 'destination_url', 'name']);
  });
});

describe('header rules', () => {
  it('validates keys and values with GitLab texts; at most 20 per destination', async () => {
    const d = await createDestination(owner.token, group.full_path);
    const errs = async (key: string, value: string) =>
      (await ok(HEADER_CREATE, owner.token, { input: { destinationId: d.id, key, value } })).auditEventsStreamingHeadersCreate.errors;
    expect(await errs('', 'v')).toEqual(["Key can't be blank"]);
    expect(await errs('k', '')).toEqual(["Value can't be blank"]);
    expect(await errs('', '')).toEqual(["Key can't be blank", "Value can't be blank"]);
    expect(await errs('k'.repeat(256), 'v')).toEqual(['Key is too long (maximum is 255 characters)']);
    expect(await errs('k', 'v'.repeat(2001))).toEqual(['Value is too long (maximum is 2000 characters)']);
    expect(await errs('bad key', 'v')).toEqual(['Key is not a valid HTTP header name']);
    expect(await errs('k', 'a\r\nInjected: yes')).toEqual(['Value must not contain line breaks']);
    expect(await errs('X-Gitlab-Event-Streaming-Token', 'v')).toEqual(['Key X-Gitlab-Event-Streaming-Token is reserved']);
    expect(await errs('webhook-signature', 'v')).toEqual(['Key webhook-signature is reserved']);
    const created = await ok(HEADER_CREATE, owner.token, { input: { destinationId: d.id, key: 'X-Team', value: 'sec', active: false } });
    expect(created.auditEventsStreamingHeadersCreate.header).toMatchObject({ key: 'X-Team', value: 'sec', active: false });
    expect(await errs('x-team', 'other')).toEqual(['Key has already been taken']);
    for (let i = 1; i < 20; i++) expect(await errs(`X-H${i}`, 'v')).toEqual([]);
    expect(await errs('X-H20', 'v')).toEqual(['Headers are limited to 20 per destination']);
  });

  it('keeps the header limit when creates race, and records an event only for the headers that were added', async () => {
    const hg = await createGroup({ token: owner.token });
    const d = await createDestination(owner.token, hg.full_path);
    const answers = await Promise.all(
      Array.from({ length: 26 }, (_, i) => ok(HEADER_CREATE, owner.token, { input: { destinationId: d.id, key: `X-Race-${i}`, value: 'v' } })),
    );
    const errors = answers.map((a) => a.auditEventsStreamingHeadersCreate.errors);
    expect(errors.filter((e) => e.length === 0)).toHaveLength(20);
    expect(errors.filter((e) => e.length > 0)).toEqual(Array(6).fill(['Headers are limited to 20 per destination']));
    const headers = await env.DB.prepare('SELECT COUNT(*) AS n FROM streaming_headers WHERE destination_id = ?1').bind(idOf(d.id)).first<{ n: number }>();
    expect(headers!.n).toBe(20);
    const events = await env.DB
      .prepare("SELECT COUNT(*) AS n FROM audit_events WHERE entity_id = ?1 AND entity_type = 'Group' AND event_type = 'audit_events_streaming_headers_create'")
      .bind(hg.id)
      .first<{ n: number }>();
    expect(events!.n).toBe(20);
  });

  it('updates a header (key unique, same rules) and records events without values', async () => {
    const hg = await createGroup({ token: owner.token });
    const d = await createDestination(owner.token, hg.full_path);
    const h1 = (await ok(HEADER_CREATE, owner.token, { input: { destinationId: d.id, key: 'A', value: 'secret-value-a' } })).auditEventsStreamingHeadersCreate.header;
    await ok(HEADER_CREATE, owner.token, { input: { destinationId: d.id, key: 'B', value: 'secret-value-b' } });
    const clash = await ok(HEADER_UPDATE, owner.token, { input: { headerId: h1.id, key: 'b' } });
    expect(clash.auditEventsStreamingHeadersUpdate.errors).toEqual(['Key has already been taken']);
    const blank = await ok(HEADER_UPDATE, owner.token, { input: { headerId: h1.id, value: ' ' } });
    expect(blank.auditEventsStreamingHeadersUpdate.errors).toEqual(["Value can't be blank"]);
    const upd = await ok(HEADER_UPDATE, owner.token, { input: { headerId: h1.id, key: 'C', value: 'secret-value-c', active: false } });
    expect(upd.auditEventsStreamingHeadersUpdate).toEqual({ errors: [], header: { id: h1.id, key: 'C', value: 'secret-value-c', active: false } });
    const events = (await eventsOn('Group', hg.id)).filter((e) => e.target_id === idOf(d.id));
    expect(events.map((e) => e.event_type)).toEqual(
      expect.arrayContaining(['audit_events_streaming_headers_create', 'audit_events_streaming_headers_update', 'create_event_streaming_destination']),
    );
    for (const e of events) expect(e.details).not.toMatch(/secret-value/);
  });
});

describe('event type filter rules', () => {
  it('rejects empty lists, unknown and duplicate types; reports absent ones on removal', async () => {
    const fg = await createGroup({ token: owner.token });
    const d = await createDestination(owner.token, fg.full_path);
    expect(await topErrors(EVENTS_ADD, owner.token, { input: { destinationId: d.id, eventTypeFilters: [] } })).toEqual([
      'event type filters must be present',
    ]);
    expect(await topErrors(EVENTS_REMOVE, owner.token, { input: { destinationId: d.id, eventTypeFilters: [] } })).toEqual([
      'event type filters must be present',
    ]);
    const unknown = await ok(EVENTS_ADD, owner.token, { input: { destinationId: d.id, eventTypeFilters: ['nope', 'release_created'] } });
    expect(unknown.auditEventsStreamingDestinationEventsAdd).toEqual({ errors: ['Audit event type with value nope is undefined.'], eventTypeFilters: [] });
    const dupInput = await ok(EVENTS_ADD, owner.token, { input: { destinationId: d.id, eventTypeFilters: ['release_created', 'release_created'] } });
    expect(dupInput.auditEventsStreamingDestinationEventsAdd.errors).toEqual(['Audit event type release_created has already been taken']);
    await ok(EVENTS_ADD, owner.token, { input: { destinationId: d.id, eventTypeFilters: ['release_created'] } });
    const dup = await ok(EVENTS_ADD, owner.token, { input: { destinationId: d.id, eventTypeFilters: ['release_created'] } });
    expect(dup.auditEventsStreamingDestinationEventsAdd).toEqual({ errors: ['Audit event type release_created has already been taken'], eventTypeFilters: ['release_created'] });
    const missing = await ok(EVENTS_REMOVE, owner.token, { input: { destinationId: d.id, eventTypeFilters: ['release_created', 'release_updated', 'user_created'] } });
    expect(missing.auditEventsStreamingDestinationEventsRemove.errors).toEqual([
      "Couldn't find event type filters where audit event type(s): release_updated, user_created",
    ]);
    // Nothing was removed.
    const row = await env.DB.prepare('SELECT COUNT(*) AS n FROM streaming_event_type_filters WHERE destination_id = ?1').bind(idOf(d.id)).first<{ n: number }>();
    expect(row!.n).toBe(1);
    const events = (await eventsOn('Group', fg.id)).filter((e) => e.target_id === idOf(d.id) && e.event_type === 'event_type_filters_created');
    expect(events).toHaveLength(1);
  });
});

describe('namespace filters', () => {
  it('restricts a destination to a subgroup or a project of its group, once', async () => {
    const top = await createGroup({ token: owner.token });
    const sub = await createGroup({ token: owner.token, parentId: top.id });
    const project = await createProject(sub.id, { token: owner.token });
    const d1 = await createDestination(owner.token, top.full_path);
    const d2 = await createDestination(owner.token, top.full_path);
    expect(await topErrors(NS_ADD, owner.token, { input: { destinationId: d1.id } })).toEqual([
      'One and only one of [groupPath, projectPath] arguments is required.',
    ]);
    expect(await topErrors(NS_ADD, owner.token, { input: { destinationId: d1.id, groupPath: sub.full_path, projectPath: project.path_with_namespace } })).toEqual([
      'One and only one of [groupPath, projectPath] arguments is required.',
    ]);
    const f1 = await ok(NS_ADD, owner.token, { input: { destinationId: d1.id, groupPath: sub.full_path } });
    expect(f1.auditEventsStreamingHttpNamespaceFiltersAdd.errors).toEqual([]);
    const filter = f1.auditEventsStreamingHttpNamespaceFiltersAdd.namespaceFilter;
    expect(filter.id).toMatch(/^gid:\/\/gitlab\/AuditEvents::Streaming::HTTP::NamespaceFilter\/\d+$/);
    expect(filter.namespace).toEqual({ id: `gid://gitlab/Group/${sub.id}`, fullPath: sub.full_path });
    expect(filter.externalAuditEventDestination).toEqual({ id: d1.id });
    const again = await ok(NS_ADD, owner.token, { input: { destinationId: d1.id, projectPath: project.path_with_namespace } });
    expect(again.auditEventsStreamingHttpNamespaceFiltersAdd.errors).toEqual(['External audit event destination has already been taken']);
    const sameNs = await ok(NS_ADD, owner.token, { input: { destinationId: d2.id, groupPath: sub.full_path } });
    expect(sameNs.auditEventsStreamingHttpNamespaceFiltersAdd.errors).toEqual(['Namespace has already been taken']);
    const f2 = await ok(NS_ADD, owner.token, { input: { destinationId: d2.id, projectPath: project.path_with_namespace } });
    expect(f2.auditEventsStreamingHttpNamespaceFiltersAdd.namespaceFilter.namespace).toEqual({
      id: `gid://gitlab/Namespaces::ProjectNamespace/${project.id}`,
      fullPath: project.path_with_namespace,
    });
    const stored = await env.DB.prepare('SELECT scope_path FROM streaming_namespace_filters WHERE destination_id = ?1').bind(idOf(d2.id)).first<{ scope_path: string }>();
    expect(stored!.scope_path).toBe(`${top.id}/${sub.id}/p${project.id}/`);
    // Another group's namespace (readable by the caller): GitLab's text. Unknown paths: not found.
    const elsewhere = await createGroup({ token: owner.token });
    const d3 = await createDestination(owner.token, top.full_path);
    const wrong = await ok(NS_ADD, owner.token, { input: { destinationId: d3.id, groupPath: elsewhere.full_path } });
    expect(wrong.auditEventsStreamingHttpNamespaceFiltersAdd.errors).toEqual([
      'External audit event destination does not belong to the top-level group of the namespace.',
    ]);
    expect(await topErrors(NS_ADD, owner.token, { input: { destinationId: d3.id, groupPath: 'no/such/group' } })).toEqual([NOT_AVAILABLE]);
    // Listed on the destination; deleted by GID.
    const list = await ok(`{ group(fullPath: "${top.full_path}") { externalAuditEventDestinations { nodes { id namespaceFilter { id namespace { fullPath } } } } } }`, owner.token);
    const node = list.group.externalAuditEventDestinations.nodes.find((n: any) => n.id === d1.id);
    expect(node.namespaceFilter).toEqual({ id: filter.id, namespace: { fullPath: sub.full_path } });
    const del = await ok(
      `mutation { auditEventsStreamingHttpNamespaceFiltersDelete(input: { namespaceFilterId: "${filter.id}" }) { errors namespaceFilter { id } } }`,
      owner.token,
    );
    expect(del.auditEventsStreamingHttpNamespaceFiltersDelete).toEqual({ errors: [], namespaceFilter: null });
    const types = (await eventsOn('Group', top.id)).map((e) => e.event_type);
    expect(types).toEqual(expect.arrayContaining(['created_namespace_filter', 'deleted_namespace_filter']));
  });
});

describe('listing, paging, secrets and audit events', () => {
  it('pages destinations with first/after and pageInfo', async () => {
    const g = await createGroup({ token: owner.token });
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await createDestination(owner.token, g.full_path)).id);
    const q = `query($after: String) { group(fullPath: "${g.full_path}") { externalAuditEventDestinations(first: 2, after: $after) { count nodes { id } pageInfo { hasNextPage endCursor } } } }`;
    const p1 = (await ok(q, owner.token)).group.externalAuditEventDestinations;
    expect(p1.count).toBe(3);
    expect(p1.nodes.map((n: any) => n.id)).toEqual(ids.slice(0, 2));
    expect(p1.pageInfo.hasNextPage).toBe(true);
    const p2 = (await ok(q, owner.token, { after: p1.pageInfo.endCursor })).group.externalAuditEventDestinations;
    expect(p2.nodes.map((n: any) => n.id)).toEqual(ids.slice(2));
    expect(p2.pageInfo.hasNextPage).toBe(false);
    expect(await topErrors(`{ group(fullPath: "${g.full_path}") { externalAuditEventDestinations(first: 101) { nodes { id } } } }`, owner.token)).toEqual([
      "Argument 'first' must be between 0 and 100",
    ]);
  });

  it('rotates the signing secret, keeping the previous one for 24 hours', async () => {
    const g = await createGroup({ token: owner.token });
    const d = await createDestination(owner.token, g.full_path);
    const r = await ok(
      `mutation { auditEventsStreamingDestinationSigningSecretRotate(input: { destinationId: "${d.id}" }) { errors externalAuditEventDestination { signingSecret previousSigningSecretExpiresAt } } }`,
      owner.token,
    );
    const rotated = r.auditEventsStreamingDestinationSigningSecretRotate.externalAuditEventDestination;
    expect(rotated.signingSecret).toMatch(/^whsec_/);
    expect(rotated.signingSecret).not.toBe(d.signingSecret);
    const hours = (Date.parse(rotated.previousSigningSecretExpiresAt) - Date.now()) / 3_600_000;
    expect(hours).toBeGreaterThan(23.9);
    expect(hours).toBeLessThanOrEqual(24);
    const row = await env.DB.prepare('SELECT signing_secret, previous_signing_secret FROM streaming_destinations WHERE id = ?1').bind(idOf(d.id)).first<any>();
    expect(row).toEqual({ signing_secret: rotated.signingSecret, previous_signing_secret: d.signingSecret });
  });

  it('records an audit event for every change, never with the token or secret', async () => {
    const g = await createGroup({ token: owner.token });
    const d = await createDestination(owner.token, g.full_path, { verificationToken: 'very-secret-token-123' });
    const h = (await ok(HEADER_CREATE, owner.token, { input: { destinationId: d.id, key: 'K', value: 'header-value-xyz' } })).auditEventsStreamingHeadersCreate.header;
    await ok(UPDATE, owner.token, { input: { id: d.id, active: false } });
    await ok(EVENTS_ADD, owner.token, { input: { destinationId: d.id, eventTypeFilters: ['user_created'] } });
    await ok(EVENTS_REMOVE, owner.token, { input: { destinationId: d.id, eventTypeFilters: ['user_created'] } });
    await ok(`mutation { auditEventsStreamingHeadersDestroy(input: { headerId: "${h.id}" }) { errors } }`, owner.token);
    const rotated = await ok(
      `mutation { auditEventsStreamingDestinationSigningSecretRotate(input: { destinationId: "${d.id}" }) { externalAuditEventDestination { signingSecret } } }`,
      owner.token,
    );
    await ok(`mutation { externalAuditEventDestinationDestroy(input: { id: "${d.id}" }) { errors } }`, owner.token);
    const events = await eventsOn('Group', g.id);
    expect(events.map((e) => e.event_type).reverse()).toEqual([
      'group_created',
      'create_event_streaming_destination',
      'audit_events_streaming_headers_create',
      'update_event_streaming_destination',
      'event_type_filters_created',
      'event_type_filters_deleted',
      'audit_events_streaming_headers_destroy',
      'streaming_destination_signing_secret_rotated',
      'destroy_event_streaming_destination',
    ].filter((t) => t !== 'group_created' || events.some((e) => e.event_type === 'group_created')));
    const secretNew = rotated.auditEventsStreamingDestinationSigningSecretRotate.externalAuditEventDestination.signingSecret;
    for (const e of events) {
      const text = JSON.stringify(e);
      expect(text).not.toContain('very-secret-token-123');
      expect(text).not.toContain(d.signingSecret.slice(6));
      expect(text).not.toContain(secretNew.slice(6));
      expect(text).not.toContain('header-value-xyz');
    }
    const created = events.find((e) => e.event_type === 'create_event_streaming_destination')!;
    expect(created.target_id).toBe(idOf(d.id));
    expect(JSON.parse(created.details).custom_message).toMatch(/^Create event streaming destination https:\/\/example\.com\//);
    // After the destroy, nothing of it is left.
    for (const table of ['streaming_destinations WHERE id', 'streaming_headers WHERE destination_id', 'streaming_event_type_filters WHERE destination_id']) {
      expect(await env.DB.prepare(`SELECT 1 FROM ${table} = ?1`).bind(idOf(d.id)).first()).toBeNull();
    }
  });
});

describe('instance destinations (administrators)', () => {
  it('create, headers, filters, list, update, rotate, destroy; events on the instance', async () => {
    const url = `https://example.com/instance-${crypto.randomUUID()}`;
    const c = await ok(
      `mutation { instanceExternalAuditEventDestinationCreate(input: { destinationUrl: "${url}", name: "inst-${idOf('x/1')}-${crypto.randomUUID().slice(0, 6)}" }) {
        errors instanceExternalAuditEventDestination { id name destinationUrl verificationToken signingSecret active } } }`,
      ADMIN,
    );
    expect(c.instanceExternalAuditEventDestinationCreate.errors).toEqual([]);
    const d = c.instanceExternalAuditEventDestinationCreate.instanceExternalAuditEventDestination;
    expect(d.id).toMatch(/^gid:\/\/gitlab\/AuditEvents::InstanceExternalAuditEventDestination\/\d+$/);
    expect(d.verificationToken).toHaveLength(24);
    const dup = await ok(`mutation { instanceExternalAuditEventDestinationCreate(input: { destinationUrl: "${url}" }) { errors } }`, ADMIN);
    expect(dup.instanceExternalAuditEventDestinationCreate.errors).toEqual(['Destination url has already been taken']);
    const h = await ok(
      `mutation { auditEventsStreamingInstanceHeadersCreate(input: { destinationId: "${d.id}", key: "X-Inst", value: "v" }) { errors header { id key value active } } }`,
      ADMIN,
    );
    const header = h.auditEventsStreamingInstanceHeadersCreate.header;
    expect(header.id).toMatch(/^gid:\/\/gitlab\/AuditEvents::Streaming::InstanceHeader\/\d+$/);
    const hu = await ok(`mutation { auditEventsStreamingInstanceHeadersUpdate(input: { headerId: "${header.id}", value: "v2" }) { errors header { value } } }`, ADMIN);
    expect(hu.auditEventsStreamingInstanceHeadersUpdate).toEqual({ errors: [], header: { value: 'v2' } });
    // A group header GID for an instance header is the wrong type.
    expect(await topErrors(`mutation { auditEventsStreamingHeadersDestroy(input: { headerId: "${header.id.replace('InstanceHeader', 'Header')}" }) { errors } }`, ADMIN)).toEqual([
      NOT_AVAILABLE,
    ]);
    const ea = await ok(
      `mutation { auditEventsStreamingDestinationInstanceEventsAdd(input: { destinationId: "${d.id}", eventTypeFilters: ["user_created"] }) { errors eventTypeFilters } }`,
      ADMIN,
    );
    expect(ea.auditEventsStreamingDestinationInstanceEventsAdd).toEqual({ errors: [], eventTypeFilters: ['user_created'] });
    const list = await ok(`{ instanceExternalAuditEventDestinations { nodes { id headers { nodes { key value } } eventTypeFilters } } }`, ADMIN);
    expect(list.instanceExternalAuditEventDestinations.nodes.find((n: any) => n.id === d.id)).toEqual({
      id: d.id,
      headers: { nodes: [{ key: 'X-Inst', value: 'v2' }] },
      eventTypeFilters: ['user_created'],
    });
    const er = await ok(
      `mutation { auditEventsStreamingDestinationInstanceEventsRemove(input: { destinationId: "${d.id}", eventTypeFilters: ["user_created"] }) { errors } }`,
      ADMIN,
    );
    expect(er.auditEventsStreamingDestinationInstanceEventsRemove.errors).toEqual([]);
    const up = await ok(
      `mutation { instanceExternalAuditEventDestinationUpdate(input: { id: "${d.id}", active: false }) { errors instanceExternalAuditEventDestination { active } } }`,
      ADMIN,
    );
    expect(up.instanceExternalAuditEventDestinationUpdate).toEqual({ errors: [], instanceExternalAuditEventDestination: { active: false } });
    const rot = await ok(
      `mutation { auditEventsStreamingDestinationInstanceSigningSecretRotate(input: { destinationId: "${d.id}" }) { errors instanceExternalAuditEventDestination { signingSecret } } }`,
      ADMIN,
    );
    expect(rot.auditEventsStreamingDestinationInstanceSigningSecretRotate.instanceExternalAuditEventDestination.signingSecret).not.toBe(d.signingSecret);
    await ok(`mutation { auditEventsStreamingInstanceHeadersDestroy(input: { headerId: "${header.id}" }) { errors } }`, ADMIN);
    const del = await ok(`mutation { instanceExternalAuditEventDestinationDestroy(input: { id: "${d.id}" }) { errors } }`, ADMIN);
    expect(del.instanceExternalAuditEventDestinationDestroy.errors).toEqual([]);
    const events = (await eventsOn('Gitlab::Audit::InstanceScope', 1)).filter((e) => e.target_id === idOf(d.id) && e.target_details !== null);
    expect(events.map((e) => e.event_type).reverse()).toEqual([
      'create_instance_event_streaming_destination',
      'audit_events_streaming_instance_headers_create',
      'audit_events_streaming_instance_headers_update',
      'event_type_filters_created',
      'event_type_filters_deleted',
      'update_instance_event_streaming_destination',
      'streaming_destination_signing_secret_rotated',
      'audit_events_streaming_instance_headers_destroy',
      'destroy_instance_event_streaming_destination',
    ]);
  });
});
