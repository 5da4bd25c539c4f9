/**
 * Every destination writer commits its change and its audit event together (issue 14): the
 * event's insert is made to fail (a temporary trigger on audit_events that RAISEs for that one
 * event type about that one destination, so no other test's writes are touched); the mutation
 * answers GitLab's masked 500 and the destination, its headers, event type filters and namespace
 * filter are exactly as before. Afterwards the same mutation succeeds, changes them, and records
 * its event. (Destination creation is covered in test/audit_log/one_transaction.test.ts.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { createGroup, gql, unique } from '../support/api';
import { allowAllEvents, allowEvent, refuseEvent } from '../support/refuse_event';
import { idOf, ok } from './support';

const instanceDestinations: string[] = [];

afterEach(async () => {
  await allowAllEvents();
  // Instance destinations count against one instance-wide limit: leave none behind.
  for (const id of instanceDestinations.splice(0)) {
    await gql(`mutation($i: InstanceExternalAuditEventDestinationDestroyInput!) { instanceExternalAuditEventDestinationDestroy(input: $i) { errors } }`, { i: { id } });
  }
});

/** Everything a destination writer may change: the destination row and what hangs off it. */
async function snapshot(destinationId: number) {
  const rows = async (sql: string) => (await env.DB.prepare(sql).bind(destinationId).all()).results;
  return {
    destination: await rows('SELECT * FROM streaming_destinations WHERE id = ?1'),
    headers: await rows('SELECT * FROM streaming_headers WHERE destination_id = ?1 ORDER BY id'),
    eventTypeFilters: await rows('SELECT * FROM streaming_event_type_filters WHERE destination_id = ?1 ORDER BY audit_event_type'),
    namespaceFilters: await rows('SELECT * FROM streaming_namespace_filters WHERE destination_id = ?1 ORDER BY id'),
  };
}

async function eventsAbout(eventType: string, destinationId: number): Promise<{ target_details: string; details: string }[]> {
  const r = await env.DB.prepare('SELECT target_details, details FROM audit_events WHERE event_type = ?1 AND target_id = ?2').bind(eventType, destinationId).all();
  return r.results as { target_details: string; details: string }[];
}

type Scope = 'group' | 'instance';

interface Destination {
  gid: string;
  id: number;
  name: string;
  groupPath: string | null;
}

/** A destination with a header and an event type filter, for the writers to change. */
async function newDestination(scope: Scope): Promise<Destination> {
  const name = unique('txw');
  const url = `http://127.0.0.1:9/${name}`;
  let gid: string;
  let groupPath: string | null = null;
  if (scope === 'group') {
    groupPath = (await createGroup()).full_path;
    const d = await ok(`mutation($i: ExternalAuditEventDestinationCreateInput!) { externalAuditEventDestinationCreate(input: $i) { errors externalAuditEventDestination { id } } }`, 'test-admin-token', {
      i: { destinationUrl: url, name, groupPath },
    });
    gid = d.externalAuditEventDestinationCreate.externalAuditEventDestination.id;
  } else {
    const d = await ok(
      `mutation($i: InstanceExternalAuditEventDestinationCreateInput!) { instanceExternalAuditEventDestinationCreate(input: $i) { errors instanceExternalAuditEventDestination { id } } }`,
      'test-admin-token',
      { i: { destinationUrl: url, name } },
    );
    gid = d.instanceExternalAuditEventDestinationCreate.instanceExternalAuditEventDestination.id;
    instanceDestinations.push(gid);
  }
  const headers = scope === 'group' ? 'auditEventsStreamingHeadersCreate' : 'auditEventsStreamingInstanceHeadersCreate';
  const headerInput = scope === 'group' ? 'AuditEventsStreamingHeadersCreateInput' : 'AuditEventsStreamingInstanceHeadersCreateInput';
  const h = await ok(`mutation($i: ${headerInput}!) { ${headers}(input: $i) { errors header { id } } }`, 'test-admin-token', {
    i: { destinationId: gid, key: 'X-Kept', value: 'kept' },
  });
  expect(h[headers].errors).toEqual([]);
  const events = scope === 'group' ? 'auditEventsStreamingDestinationEventsAdd' : 'auditEventsStreamingDestinationInstanceEventsAdd';
  const eventsInput = scope === 'group' ? 'AuditEventsStreamingDestinationEventsAddInput' : 'AuditEventsStreamingDestinationInstanceEventsAddInput';
  const f = await ok(`mutation($i: ${eventsInput}!) { ${events}(input: $i) { errors } }`, 'test-admin-token', {
    i: { destinationId: gid, eventTypeFilters: ['release_created'] },
  });
  expect(f[events].errors).toEqual([]);
  return { gid, id: idOf(gid), name, groupPath };
}

/** The GID of the destination's one header. */
async function headerGid(d: Destination, scope: Scope): Promise<string> {
  const row = await env.DB.prepare('SELECT id FROM streaming_headers WHERE destination_id = ?1').bind(d.id).first<{ id: number }>();
  return `gid://gitlab/${scope === 'group' ? 'AuditEvents::Streaming::Header' : 'AuditEvents::Streaming::InstanceHeader'}/${row!.id}`;
}

/** A new subgroup of a group destination's group (for a namespace filter); its full path. */
async function newSubgroup(d: Destination): Promise<string> {
  const root = await env.DB.prepare('SELECT id FROM namespaces WHERE full_path = ?1').bind(d.groupPath).first<{ id: number }>();
  return (await createGroup({ parentId: root!.id })).full_path;
}

/** The consolidated API's GID of a destination (the same row as its legacy GID). */
function streamingGid(d: Destination, scope: Scope): string {
  return `gid://gitlab/AuditEvents::${scope === 'group' ? 'Group' : 'Instance'}::ExternalStreamingDestination/${d.id}`;
}

/** One writer: its mutation (field and input type per scope), its event type, and its input. */
interface Writer {
  name: string;
  scopes: Scope[];
  field: Record<Scope, string>;
  eventType: Record<Scope, string>;
  input: (d: Destination, scope: Scope) => Promise<Record<string, unknown>>;
  /** Prepare what the writer changes (e.g. the namespace filter it deletes). */
  before?: (d: Destination) => Promise<void>;
}

const both = (group: string, instance: string): Record<Scope, string> => ({ group, instance });
const capitalized = (s: string) => s[0].toUpperCase() + s.slice(1).replace('Http', 'HTTP');

const WRITERS: Writer[] = [
  {
    name: 'destination update',
    scopes: ['group', 'instance'],
    field: both('externalAuditEventDestinationUpdate', 'instanceExternalAuditEventDestinationUpdate'),
    eventType: both('update_event_streaming_destination', 'update_instance_event_streaming_destination'),
    input: async (d) => ({ id: d.gid, destinationUrl: `http://127.0.0.1:9/${d.name}/changed`, active: false }),
  },
  {
    name: 'destination destroy',
    scopes: ['group', 'instance'],
    field: both('externalAuditEventDestinationDestroy', 'instanceExternalAuditEventDestinationDestroy'),
    eventType: both('destroy_event_streaming_destination', 'destroy_instance_event_streaming_destination'),
    input: async (d) => ({ id: d.gid }),
  },
  {
    name: 'signing secret rotation',
    scopes: ['group', 'instance'],
    field: both('auditEventsStreamingDestinationSigningSecretRotate', 'auditEventsStreamingDestinationInstanceSigningSecretRotate'),
    eventType: both('streaming_destination_signing_secret_rotated', 'streaming_destination_signing_secret_rotated'),
    input: async (d) => ({ destinationId: d.gid }),
  },
  {
    name: 'header create',
    scopes: ['group', 'instance'],
    field: both('auditEventsStreamingHeadersCreate', 'auditEventsStreamingInstanceHeadersCreate'),
    eventType: both('audit_events_streaming_headers_create', 'audit_events_streaming_instance_headers_create'),
    input: async (d) => ({ destinationId: d.gid, key: 'X-Added', value: 'added' }),
  },
  {
    name: 'header update',
    scopes: ['group', 'instance'],
    field: both('auditEventsStreamingHeadersUpdate', 'auditEventsStreamingInstanceHeadersUpdate'),
    eventType: both('audit_events_streaming_headers_update', 'audit_events_streaming_instance_headers_update'),
    input: async (d, scope) => ({ headerId: await headerGid(d, scope), key: 'X-Renamed', value: 'changed', active: false }),
  },
  {
    name: 'header destroy',
    scopes: ['group', 'instance'],
    field: both('auditEventsStreamingHeadersDestroy', 'auditEventsStreamingInstanceHeadersDestroy'),
    eventType: both('audit_events_streaming_headers_destroy', 'audit_events_streaming_instance_headers_destroy'),
    input: async (d, scope) => ({ headerId: await headerGid(d, scope) }),
  },
  {
    name: 'event type filters add',
    scopes: ['group', 'instance'],
    field: both('auditEventsStreamingDestinationEventsAdd', 'auditEventsStreamingDestinationInstanceEventsAdd'),
    eventType: both('event_type_filters_created', 'event_type_filters_created'),
    input: async (d) => ({ destinationId: d.gid, eventTypeFilters: ['release_updated', 'release_deleted_audit_event'] }),
  },
  {
    name: 'event type filters remove',
    scopes: ['group', 'instance'],
    field: both('auditEventsStreamingDestinationEventsRemove', 'auditEventsStreamingDestinationInstanceEventsRemove'),
    eventType: both('event_type_filters_deleted', 'event_type_filters_deleted'),
    input: async (d) => ({ destinationId: d.gid, eventTypeFilters: ['release_created'] }),
  },
  {
    name: 'namespace filter add',
    scopes: ['group'],
    field: both('auditEventsStreamingHttpNamespaceFiltersAdd', ''),
    eventType: both('created_namespace_filter', ''),
    input: async (d) => ({ destinationId: d.gid, groupPath: await newSubgroup(d) }),
  },
  {
    name: 'namespace filter delete',
    scopes: ['group'],
    field: both('auditEventsStreamingHttpNamespaceFiltersDelete', ''),
    eventType: both('deleted_namespace_filter', ''),
    before: async (d) => {
      const r = await ok(
        `mutation($i: AuditEventsStreamingHTTPNamespaceFiltersAddInput!) { auditEventsStreamingHttpNamespaceFiltersAdd(input: $i) { errors namespaceFilter { id } } }`,
        'test-admin-token',
        { i: { destinationId: d.gid, groupPath: await newSubgroup(d) } },
      );
      expect(r.auditEventsStreamingHttpNamespaceFiltersAdd.errors).toEqual([]);
    },
    input: async (d) => {
      const row = await env.DB.prepare('SELECT id FROM streaming_namespace_filters WHERE destination_id = ?1').bind(d.id).first<{ id: number }>();
      return { namespaceFilterId: `gid://gitlab/AuditEvents::Streaming::HTTP::NamespaceFilter/${row!.id}` };
    },
  },
  // GitLab 18's consolidated API, on the same destinations (one store: same ids, their new GIDs).
  {
    name: 'consolidated destination update',
    scopes: ['group', 'instance'],
    field: both('groupAuditEventStreamingDestinationsUpdate', 'instanceAuditEventStreamingDestinationsUpdate'),
    eventType: both('updated_group_audit_event_streaming_destination', 'updated_instance_audit_event_streaming_destination'),
    input: async (d, scope) => ({
      id: streamingGid(d, scope),
      config: { url: `http://127.0.0.1:9/${d.name}/consolidated`, headers: { 'X-Kept': { value: 'changed' }, 'X-New': { value: 'new' } } },
      active: false,
    }),
  },
  {
    name: 'consolidated destination delete',
    scopes: ['group', 'instance'],
    field: both('groupAuditEventStreamingDestinationsDelete', 'instanceAuditEventStreamingDestinationsDelete'),
    eventType: both('deleted_group_audit_event_streaming_destination', 'deleted_instance_audit_event_streaming_destination'),
    input: async (d, scope) => ({ id: streamingGid(d, scope) }),
  },
  {
    name: 'consolidated event type filters add',
    scopes: ['group', 'instance'],
    field: both('auditEventsGroupDestinationEventsAdd', 'auditEventsInstanceDestinationEventsAdd'),
    eventType: both('event_type_filters_created', 'event_type_filters_created'),
    input: async (d, scope) => ({ destinationId: streamingGid(d, scope), eventTypeFilters: ['release_updated'] }),
  },
  {
    name: 'consolidated event type filters delete',
    scopes: ['group', 'instance'],
    field: both('auditEventsGroupDestinationEventsDelete', 'auditEventsInstanceDestinationEventsDelete'),
    eventType: both('event_type_filters_deleted', 'event_type_filters_deleted'),
    input: async (d, scope) => ({ destinationId: streamingGid(d, scope), eventTypeFilters: ['release_created'] }),
  },
  {
    name: 'consolidated namespace filter create',
    scopes: ['group', 'instance'],
    field: both('auditEventsGroupDestinationNamespaceFilterCreate', 'auditEventsInstanceDestinationNamespaceFilterCreate'),
    eventType: both('created_namespace_filter', 'created_namespace_filter'),
    input: async (d, scope) => ({ destinationId: streamingGid(d, scope), namespacePath: scope === 'group' ? await newSubgroup(d) : (await createGroup()).full_path }),
  },
  {
    name: 'consolidated namespace filter delete',
    scopes: ['group', 'instance'],
    field: both('auditEventsGroupDestinationNamespaceFilterDelete', 'auditEventsInstanceDestinationNamespaceFilterDelete'),
    eventType: both('deleted_namespace_filter', 'deleted_namespace_filter'),
    before: async (d) => {
      const scope: Scope = d.groupPath ? 'group' : 'instance';
      const field = scope === 'group' ? 'auditEventsGroupDestinationNamespaceFilterCreate' : 'auditEventsInstanceDestinationNamespaceFilterCreate';
      const r = await ok(`mutation($i: ${capitalized(field)}Input!) { ${field}(input: $i) { errors } }`, 'test-admin-token', {
        i: { destinationId: streamingGid(d, scope), namespacePath: scope === 'group' ? await newSubgroup(d) : (await createGroup()).full_path },
      });
      expect(r[field].errors).toEqual([]);
    },
    input: async (d, scope) => {
      const row = await env.DB.prepare('SELECT id FROM streaming_namespace_filters WHERE destination_id = ?1').bind(d.id).first<{ id: number }>();
      return { namespaceFilterId: `gid://gitlab/AuditEvents::${scope === 'group' ? 'Group' : 'Instance'}::NamespaceFilter/${row!.id}` };
    },
  },
];

describe('a destination change without its audit event is not written', () => {
  for (const w of WRITERS) {
    for (const scope of w.scopes) {
      it(`${scope} ${w.name}`, async () => {
        const d = await newDestination(scope);
        await w.before?.(d);
        const field = w.field[scope];
        const query = `mutation($i: ${capitalized(field)}Input!) { ${field}(input: $i) { errors } }`;
        const input = await w.input(d, scope);
        const before = await snapshot(d.id);
        const eventsBefore = await eventsAbout(w.eventType[scope], d.id);

        const trigger = await refuseEvent(w.eventType[scope], d.name);
        const refused = await gql(query, { i: input });
        expect(refused.status).toBe(500);
        expect(refused.body).toEqual({ errors: [{ message: 'Internal server error' }] });
        expect(await snapshot(d.id)).toEqual(before);
        expect(await eventsAbout(w.eventType[scope], d.id)).toEqual(eventsBefore);

        await allowEvent(trigger);
        const done = await gql(query, { i: input });
        expect(done.body.errors, JSON.stringify(done.body.errors)).toBeUndefined();
        expect(done.body.data[field].errors).toEqual([]);
        expect(await snapshot(d.id)).not.toEqual(before);
        const events = await eventsAbout(w.eventType[scope], d.id);
        expect(events.length).toBeGreaterThan(eventsBefore.length);
        expect(events.every((e) => e.target_details === d.name)).toBe(true);
      });
    }
  }
});

describe('a consolidated create without its audit event is not written', () => {
  for (const scope of ['group', 'instance'] as Scope[]) {
    it(`${scope} destination create (with its headers)`, async () => {
      const name = unique('txc');
      const field = scope === 'group' ? 'groupAuditEventStreamingDestinationsCreate' : 'instanceAuditEventStreamingDestinationsCreate';
      const input = {
        ...(scope === 'group' ? { groupPath: (await createGroup()).full_path } : {}),
        name,
        category: 'http',
        config: { url: `http://127.0.0.1:9/${name}`, headers: { 'X-One': { value: '1' }, 'X-Two': { value: '2' } } },
      };
      const query = `mutation($i: ${capitalized(field)}Input!) { ${field}(input: $i) { errors externalAuditEventDestination { id } } }`;
      const rows = async () => ({
        destinations: (await env.DB.prepare('SELECT id FROM streaming_destinations WHERE name = ?1').bind(name).all()).results,
        headers: (await env.DB.prepare('SELECT h.key FROM streaming_headers h JOIN streaming_destinations d ON d.id = h.destination_id WHERE d.name = ?1').bind(name).all()).results,
        events: (await env.DB.prepare('SELECT id FROM audit_events WHERE target_details = ?1').bind(name).all()).results,
      });

      const trigger = await refuseEvent(`created_${scope}_audit_event_streaming_destination`, name);
      const refused = await gql(query, { i: input });
      expect(refused.status).toBe(500);
      expect(refused.body).toEqual({ errors: [{ message: 'Internal server error' }] });
      expect(await rows()).toEqual({ destinations: [], headers: [], events: [] });

      await allowEvent(trigger);
      const done = await gql(query, { i: input });
      expect(done.body.data[field].errors).toEqual([]);
      const gid = done.body.data[field].externalAuditEventDestination.id;
      if (scope === 'instance') instanceDestinations.push(`gid://gitlab/AuditEvents::InstanceExternalAuditEventDestination/${idOf(gid)}`);
      const after = await rows();
      expect(after.destinations).toHaveLength(1);
      expect(after.headers).toHaveLength(2);
      expect(after.events).toHaveLength(1);
    });
  }
});
