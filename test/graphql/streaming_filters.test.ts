/**
 * Namespace filters of the consolidated streaming API (issue 16 §1): up to 5 per destination, a
 * group filter matching its subgroups and projects and a project filter only the project (the
 * delivery routing in SQL, src/db/audit_events.ts ROUTE, with several filters), the legacy API's
 * single filter as the first of them, and the instance API (create, list, filters, delete).
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { ADMIN, api, createGroup, createProject, createUser, type TestUser } from '../support/api';
import { NOT_AVAILABLE, eventsOn, idOf, ok, topErrors } from './support';
import {
  GROUP_LIST,
  GROUP_NF_CREATE,
  GROUP_NF_DELETE,
  INSTANCE_CREATE,
  INSTANCE_DELETE,
  INSTANCE_GID,
  LEGACY_GID,
  FIELDS,
  dropInstanceDestinations,
  groupDestination,
  httpConfig,
} from './streaming_support';

let owner: TestUser;
const instanceDestinations: string[] = [];

afterEach(() => dropInstanceDestinations(instanceDestinations));

beforeAll(async () => {
  owner = await createUser();
});

async function addFilter(destinationId: string, namespacePath: string | null, token = owner.token): Promise<{ errors: string[]; namespaceFilter: any }> {
  return (await ok(GROUP_NF_CREATE, token, { i: { destinationId, namespacePath } })).auditEventsGroupDestinationNamespaceFilterCreate;
}

/** Record an event on a group or project (as root); the destinations it was routed to. */
async function routedTo(entityType: 'Group' | 'Project', entityId: number): Promise<number[]> {
  const r = await api('POST', '/api/v4/audit_events', { token: ADMIN, body: { event_type: 'audit_operation', entity_type: entityType, entity_id: entityId } });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  const rows = await env.DB.prepare('SELECT destination_id FROM deliveries WHERE event_id = ?1 ORDER BY destination_id').bind(r.body.id).all<{ destination_id: number }>();
  return rows.results.map((row) => row.destination_id);
}

describe('group namespace filters', () => {
  it('up to 5 per destination, each namespace once, inside the top-level group; errors as data', async () => {
    const g = await createGroup({ token: owner.token });
    const d = await groupDestination(owner.token, g.full_path);
    const subs = [];
    for (let i = 0; i < 6; i++) subs.push(await createGroup({ token: owner.token, parentId: g.id }));
    for (const s of subs.slice(0, 5)) expect((await addFilter(d.id, s.full_path)).errors).toEqual([]);
    expect(await addFilter(d.id, subs[5].full_path)).toEqual({ errors: ['Namespace filters are limited to 5 per destination'], namespaceFilter: null });
    expect((await addFilter(d.id, subs[0].full_path)).errors).toEqual(['Namespace has already been taken']);
    const [listed] = (await ok(GROUP_LIST, owner.token, { p: g.full_path })).group.externalAuditEventStreamingDestinations.nodes;
    expect(listed.namespaceFilters.map((f: any) => f.namespace.fullPath)).toEqual(subs.slice(0, 5).map((s) => s.full_path));
    expect(listed.namespaceFilters[0].id).toMatch(/^gid:\/\/gitlab\/AuditEvents::Group::NamespaceFilter\/\d+$/);

    const other = await createGroup({ token: owner.token });
    const d2 = await groupDestination(owner.token, g.full_path);
    expect((await addFilter(d2.id, other.full_path)).errors).toEqual(['External audit event destination does not belong to the top-level group of the namespace.']);
    expect(await topErrors(GROUP_NF_CREATE, owner.token, { i: { destinationId: d2.id, namespacePath: 'no/such/path' } })).toEqual([
      'namespace_path should be of group or project only.',
    ]);
    expect(await topErrors(GROUP_NF_CREATE, owner.token, { i: { destinationId: d2.id, namespacePath: null } })).toEqual(['namespace_path should be of group or project only.']);
    // Another destination may filter on a namespace one already does (GitLab: unique per destination).
    const again = await addFilter(d2.id, subs[0].full_path);
    expect(again.errors).toEqual([]);
    expect(again.namespaceFilter).toMatchObject({ namespace: { fullPath: subs[0].full_path }, externalStreamingDestination: { id: d2.id } });
    const [event] = await eventsOn('Group', g.id);
    expect(event.event_type).toBe('created_namespace_filter');

    const stranger = await createUser();
    expect(await topErrors(GROUP_NF_CREATE, stranger.token, { i: { destinationId: d2.id, namespacePath: subs[1].full_path } })).toEqual([NOT_AVAILABLE]);
    expect(await topErrors(GROUP_NF_DELETE, stranger.token, { i: { namespaceFilterId: again.namespaceFilter.id } })).toEqual([NOT_AVAILABLE]);
    expect((await ok(GROUP_NF_DELETE, owner.token, { i: { namespaceFilterId: again.namespaceFilter.id } })).auditEventsGroupDestinationNamespaceFilterDelete.errors).toEqual([]);
    expect((await eventsOn('Group', g.id))[0].event_type).toBe('deleted_namespace_filter');
    expect(await topErrors(GROUP_NF_DELETE, owner.token, { i: { namespaceFilterId: again.namespaceFilter.id } })).toEqual([NOT_AVAILABLE]);
  });

  it('racing creates cannot pass the limit of 5 filters, nor of 5 destinations', async () => {
    const g = await createGroup({ token: owner.token });
    const subs = await Promise.all(Array.from({ length: 7 }, () => createGroup({ token: owner.token, parentId: g.id })));
    const d = await groupDestination(owner.token, g.full_path);
    const results = await Promise.all(subs.map((s) => addFilter(d.id, s.full_path)));
    expect(results.filter((r) => r.errors.length === 0)).toHaveLength(5);
    expect(new Set(results.flatMap((r) => r.errors))).toEqual(new Set(['Namespace filters are limited to 5 per destination']));
    expect(await env.DB.prepare('SELECT COUNT(*) AS n FROM streaming_namespace_filters WHERE destination_id = ?1').bind(idOf(d.id)).first('n')).toBe(5);

    const made = await Promise.all(
      Array.from({ length: 6 }, () =>
        ok(
          `mutation($i: GroupAuditEventStreamingDestinationsCreateInput!) { groupAuditEventStreamingDestinationsCreate(input: $i) { errors } }`,
          owner.token,
          { i: { groupPath: g.full_path, category: 'http', config: httpConfig() } },
        ),
      ),
    );
    expect(made.filter((m) => m.groupAuditEventStreamingDestinationsCreate.errors.length === 0)).toHaveLength(4);
    expect(await env.DB.prepare('SELECT COUNT(*) AS n FROM streaming_destinations WHERE namespace_id = ?1').bind(g.id).first('n')).toBe(5);
  });

  it('the legacy namespaceFilter is the first filter; the legacy add still allows one per destination', async () => {
    const g = await createGroup({ token: owner.token });
    const a = await createGroup({ token: owner.token, parentId: g.id });
    const b = await createGroup({ token: owner.token, parentId: g.id });
    const d = await groupDestination(owner.token, g.full_path);
    expect((await addFilter(d.id, a.full_path)).errors).toEqual([]);
    expect((await addFilter(d.id, b.full_path)).errors).toEqual([]);
    const legacy = await ok(
      `query($p: ID!) { group(fullPath: $p) { externalAuditEventDestinations { nodes { id namespaceFilter { namespace { fullPath } } } } } }`,
      owner.token,
      { p: g.full_path },
    );
    expect(legacy.group.externalAuditEventDestinations.nodes).toEqual([{ id: `${LEGACY_GID}${idOf(d.id)}`, namespaceFilter: { namespace: { fullPath: a.full_path } } }]);
    const legacyAdd = await ok(
      `mutation($i: AuditEventsStreamingHTTPNamespaceFiltersAddInput!) { auditEventsStreamingHttpNamespaceFiltersAdd(input: $i) { errors } }`,
      owner.token,
      { i: { destinationId: `${LEGACY_GID}${idOf(d.id)}`, groupPath: (await createGroup({ token: owner.token, parentId: g.id })).full_path } },
    );
    expect(legacyAdd.auditEventsStreamingHttpNamespaceFiltersAdd.errors).toEqual(['External audit event destination has already been taken']);
  });

  it('routing with several filters: group filters match subgroups and projects, project filters only the project', async () => {
    const g = await createGroup({ token: owner.token });
    const a = await createGroup({ token: owner.token, parentId: g.id });
    const aChild = await createGroup({ token: owner.token, parentId: a.id });
    const b = await createGroup({ token: owner.token, parentId: g.id });
    const inA = await createProject(aChild.id, { token: owner.token });
    const picked = await createProject(b.id, { token: owner.token });
    const notPicked = await createProject(b.id, { token: owner.token });
    const filtered = await groupDestination(owner.token, g.full_path);
    const all = await groupDestination(owner.token, g.full_path);
    expect((await addFilter(filtered.id, a.full_path)).errors).toEqual([]);
    expect((await addFilter(filtered.id, picked.path_with_namespace)).errors).toEqual([]);
    const [f, e] = [idOf(filtered.id), idOf(all.id)];
    expect(await routedTo('Group', a.id)).toEqual([f, e]);
    expect(await routedTo('Group', aChild.id)).toEqual([f, e]);
    expect(await routedTo('Project', inA.id)).toEqual([f, e]);
    expect(await routedTo('Project', picked.id)).toEqual([f, e]);
    expect(await routedTo('Project', notPicked.id)).toEqual([e]);
    expect(await routedTo('Group', b.id)).toEqual([e]);
    expect(await routedTo('Group', g.id)).toEqual([e]);
  });
});

describe('instance destinations', () => {
  it('create, list, filter on any namespace, delete: administrators only', async () => {
    const create = async (input: Record<string, unknown>, token = ADMIN) => (await ok(INSTANCE_CREATE, token, { i: input })).instanceAuditEventStreamingDestinationsCreate;
    const http = await create({ category: 'http', config: httpConfig({ 'X-Env': { value: 'prod' } }), name: `inst-${crypto.randomUUID()}` });
    expect(http.errors).toEqual([]);
    instanceDestinations.push(http.externalAuditEventDestination.id);
    expect(http.externalAuditEventDestination.id).toMatch(new RegExp(`^${INSTANCE_GID}\\d+$`));
    expect((await create({ category: 'gcp', config: { googleProjectIdName: 'my-project-1', clientEmail: 'a@b.iam.gserviceaccount.com' } })).errors).toEqual([
      'Secret token is required for category',
    ]);
    const aws = await create({ category: 'aws', config: { accessKeyXid: 'AKIAIOSFODNN7EXAMPLE', bucketName: 'instance-bucket', awsRegion: 'us-east-1' }, secretToken: 'secret' });
    expect(aws.errors).toEqual([]);
    instanceDestinations.push(aws.externalAuditEventDestination.id);

    const list = `{ auditEventsInstanceStreamingDestinations { nodes { ${FIELDS} } } }`;
    const nodes = (await ok(list, ADMIN)).auditEventsInstanceStreamingDestinations.nodes;
    expect(nodes.map((n: any) => n.id)).toEqual(expect.arrayContaining(instanceDestinations));
    expect(nodes.find((n: any) => n.id === aws.externalAuditEventDestination.id).secretToken).toBe('');
    const legacy = (await ok(`{ instanceExternalAuditEventDestinations { nodes { id } } }`, ADMIN)).instanceExternalAuditEventDestinations.nodes.map((n: any) => n.id);
    expect(legacy).toContain(`gid://gitlab/AuditEvents::InstanceExternalAuditEventDestination/${idOf(http.externalAuditEventDestination.id)}`);
    expect(legacy).not.toContain(`gid://gitlab/AuditEvents::InstanceExternalAuditEventDestination/${idOf(aws.externalAuditEventDestination.id)}`);

    const someone = await createUser();
    expect(await topErrors(list, someone.token)).toEqual([NOT_AVAILABLE]);
    expect(await topErrors(INSTANCE_CREATE, someone.token, { i: { category: 'http', config: httpConfig() } })).toEqual([NOT_AVAILABLE]);

    // Any group or project of the instance; the filter routes the instance destination's events.
    const g = await createGroup({ token: owner.token });
    const p = await createProject(g.id, { token: owner.token });
    const nf = `mutation($i: AuditEventsInstanceDestinationNamespaceFilterCreateInput!) {
      auditEventsInstanceDestinationNamespaceFilterCreate(input: $i) { errors namespaceFilter { id namespace { fullPath } externalStreamingDestination { id } } } }`;
    const made = (await ok(nf, ADMIN, { i: { destinationId: aws.externalAuditEventDestination.id, namespacePath: p.path_with_namespace } }))
      .auditEventsInstanceDestinationNamespaceFilterCreate;
    expect(made.errors).toEqual([]);
    expect(made.namespaceFilter.id).toMatch(/^gid:\/\/gitlab\/AuditEvents::Instance::NamespaceFilter\/\d+$/);
    expect(made.namespaceFilter.namespace.fullPath).toBe(p.path_with_namespace);
    const awsId = idOf(aws.externalAuditEventDestination.id);
    expect(await routedTo('Project', p.id)).toContain(awsId);
    expect(await routedTo('Group', g.id)).not.toContain(awsId);

    const del = `mutation($i: AuditEventsInstanceDestinationNamespaceFilterDeleteInput!) { auditEventsInstanceDestinationNamespaceFilterDelete(input: $i) { errors } }`;
    // A group filter's GID is not an instance filter's.
    expect(await topErrors(del, ADMIN, { i: { namespaceFilterId: made.namespaceFilter.id.replace('Instance', 'Group') } })).toHaveLength(1);
    expect((await ok(del, ADMIN, { i: { namespaceFilterId: made.namespaceFilter.id } })).auditEventsInstanceDestinationNamespaceFilterDelete.errors).toEqual([]);
    const filterEvent = await env.DB.prepare(`SELECT entity_type, target_type FROM audit_events WHERE event_type = 'deleted_namespace_filter' AND target_id = ?1`).bind(awsId).first();
    expect(filterEvent).toEqual({ entity_type: 'Gitlab::Audit::InstanceScope', target_type: 'AuditEvents::Instance::ExternalStreamingDestination' });
    expect(await routedTo('Group', g.id)).toContain(awsId);

    const events = `mutation($i: AuditEventsInstanceDestinationEventsAddInput!) { auditEventsInstanceDestinationEventsAdd(input: $i) { errors eventTypeFilters } }`;
    expect((await ok(events, ADMIN, { i: { destinationId: http.externalAuditEventDestination.id, eventTypeFilters: ['release_created'] } })).auditEventsInstanceDestinationEventsAdd).toEqual({
      errors: [],
      eventTypeFilters: ['release_created'],
    });
    const gone = (await ok(INSTANCE_DELETE, ADMIN, { i: { id: aws.externalAuditEventDestination.id } })).instanceAuditEventStreamingDestinationsDelete;
    expect(gone.errors).toEqual([]);
    const row = await env.DB.prepare(`SELECT event_type, details FROM audit_events WHERE event_type = 'deleted_instance_audit_event_streaming_destination' AND target_id = ?1`)
      .bind(awsId)
      .first<{ event_type: string; details: string }>();
    expect(JSON.parse(row!.details).custom_message).toBe('Deleted audit event streaming destination for AWS');
  });
});
