/**
 * Reading streaming destinations over GraphQL: the group and instance lists, and the fields of
 * a destination. A list loads its destinations with their headers, event type filters and
 * namespace filters in one D1 round trip; the field resolvers take those from a per-request
 * memo instead of asking D1 once per destination.
 */
import type { GraphQLContext, Resolvers } from '../context';
import { connectionFromArray, type ConnectionArgs } from '../connection';
import { resourceNotAvailable } from '../errors';
import { toGid } from '../gid';
import { can } from '../../auth/policy';
import { findNamespaceById, findNamespacesByIds, type Namespace } from '../../db/namespaces';
import { findProjectsByIds, type Project } from '../../db/projects';
import {
  findDestination,
  findNamespaceFilterOfDestination,
  listDestinationsWithDetails,
  listEventTypeFilters,
  listHeaders,
  type Destination,
  type DestinationScope,
  type NamespaceFilter,
  type StreamingHeader,
} from '../../db/destinations';
import { mayAccessDestination } from '../../destinations/access';
import { DESTINATION_MODELS } from '../../destinations/audit';

/**
 * Per request: what a destinations list prefetched for its nodes (each taken once, so a later
 * mutation in the same document reads afresh), and the secrets check once per namespace.
 */
interface RequestMemo {
  headers: Map<number, StreamingHeader[]>;
  filters: Map<number, string[]>;
  namespaceFilters: Map<number, NamespaceFilter | null>;
  /** The group of each listed group destination, by destination id. */
  groups: Map<number, Namespace>;
  /** The listed group destinations, by id (the destination of their namespace filters). */
  destinations: Map<number, Destination>;
  secrets: Map<string, Promise<boolean>>;
  /** The listed namespace filters' namespaces, read once for all of them, by filter id. */
  filterNamespaces: Map<number, () => Promise<Map<number, FilterNamespace | null>>>;
}
const requestMemos = new WeakMap<GraphQLContext, RequestMemo>();

function memoOf(c: GraphQLContext): RequestMemo {
  let m = requestMemos.get(c);
  if (!m) {
    m = {
      headers: new Map(),
      filters: new Map(),
      namespaceFilters: new Map(),
      groups: new Map(),
      destinations: new Map(),
      secrets: new Map(),
      filterNamespaces: new Map(),
    };
    requestMemos.set(c, m);
  }
  return m;
}

/**
 * List destinations with their headers, event type filters and namespace filters (one D1 round
 * trip); the details wait in the request memo for the Destination resolvers.
 */
async function listWithDetails(c: GraphQLContext, scope: DestinationScope, group: Namespace | null): Promise<Destination[]> {
  const listing = await listDestinationsWithDetails(c.env.DB, scope, group?.id ?? null);
  const memo = memoOf(c);
  for (const [id, headers] of listing.headers) memo.headers.set(id, headers);
  for (const [id, filters] of listing.filters) memo.filters.set(id, filters);
  for (const [id, filter] of listing.namespaceFilters) memo.namespaceFilters.set(id, filter);
  const filters = [...listing.namespaceFilters.values()].filter((f): f is NamespaceFilter => f !== null);
  let namespaces: Promise<Map<number, FilterNamespace | null>> | null = null;
  const readOnce = () => (namespaces ??= namespacesOfFilters(c.env.DB, filters));
  for (const f of filters) memo.filterNamespaces.set(f.id, readOnce);
  // The legacy API sees the http destinations of the one store (the consolidated API sees all).
  const destinations = listing.destinations.filter((d) => d.category === 'http');
  for (const d of destinations) {
    if (group) memo.groups.set(d.id, group);
    if (scope === 'group') memo.destinations.set(d.id, d);
  }
  return destinations;
}

/** A prefetched value, taken once; otherwise loaded now. */
function takePrefetched<T>(map: Map<number, T>, id: number, load: () => Promise<T>): Promise<T> {
  if (!map.has(id)) return load();
  const v = map.get(id) as T;
  map.delete(id);
  return Promise.resolve(v);
}

/** The key of maySeeSecrets' memo: one answer per namespace (or the instance). */
function secretsKey(scope: DestinationScope, namespaceId: number | null): string {
  return `${scope}:${namespaceId ?? ''}`;
}

/** Whether the caller may see a destination's verification token and signing secret (asked once per namespace per request). */
function maySeeSecrets(c: GraphQLContext, d: Destination): Promise<boolean> {
  const key = secretsKey(d.scope, d.namespaceId);
  const memo = memoOf(c).secrets;
  let answer = memo.get(key);
  if (!answer) memo.set(key, (answer = mayAccessDestination({ db: c.env.DB, actor: c.actor }, d, false)));
  return answer;
}

/** The `Namespace` object a filter points at: a group, or a project as GitLab's project namespace. */
export type FilterNamespace = Namespace | { id: number; kind: 'project'; name: string; path: string; fullPath: string; visibility: string };

const asProjectNamespace = (p: Project): FilterNamespace => ({ id: p.id, kind: 'project', name: p.name, path: p.path, fullPath: p.fullPath, visibility: p.visibility });

/** The namespaces of these filters, by filter id: two queries (groups, projects) for all of them. */
export async function namespacesOfFilters(db: D1Database, filters: NamespaceFilter[]): Promise<Map<number, FilterNamespace | null>> {
  const ids = (kind: NamespaceFilter['namespaceKind']) => filters.filter((f) => f.namespaceKind === kind).map((f) => f.namespaceId);
  const [groups, projects] = await Promise.all([findNamespacesByIds(db, ids('group')), findProjectsByIds(db, ids('project'))]);
  return new Map(
    filters.map((f) => {
      const project = f.namespaceKind === 'project' ? projects.get(f.namespaceId) : undefined;
      return [f.id, f.namespaceKind === 'group' ? (groups.get(f.namespaceId) ?? null) : project ? asProjectNamespace(project) : null];
    }),
  );
}

/** The namespace of a filter: from its list's one read of all its filters' namespaces, or read now. */
export function filterNamespace(c: GraphQLContext, f: NamespaceFilter): Promise<FilterNamespace | null> {
  const ofListing = memoOf(c).filterNamespaces.get(f.id);
  if (ofListing) return ofListing().then((m) => m.get(f.id) ?? null);
  return namespacesOfFilters(c.env.DB, [f]).then((m) => m.get(f.id) ?? null);
}

const connectionArgs = (a: ConnectionArgs): ConnectionArgs => ({ first: a.first, after: a.after, last: a.last, before: a.before });

/** A secret field, for those who may read the destination's streaming settings. */
const secretField = (read: (d: Destination) => string) => async (d: Destination, _a: unknown, c: GraphQLContext) => {
  if (!(await maySeeSecrets(c, d))) throw resourceNotAvailable();
  return read(d);
};

/** The fields group and instance destinations share (`model`: the GID model of their id). */
const destinationFields = (model: string) => ({
  id: (d: Destination) => toGid(model, d.id),
  verificationToken: secretField((d) => d.verificationToken),
  signingSecret: secretField((d) => d.signingSecret),
  previousSigningSecretExpiresAt: (d: Destination) =>
    d.previousSecretExpiresAt && d.previousSecretExpiresAt > new Date().toISOString() ? d.previousSecretExpiresAt : null,
  headers: async (d: Destination, a: ConnectionArgs, c: GraphQLContext) =>
    connectionFromArray(await takePrefetched(memoOf(c).headers, d.id, () => listHeaders(c.env.DB, d.id)), connectionArgs(a)),
  eventTypeFilters: (d: Destination, _a: unknown, c: GraphQLContext) => takePrefetched(memoOf(c).filters, d.id, () => listEventTypeFilters(c.env.DB, d.id)),
});

/** Resolvers of the destination types and of the two lists. */
export const destinationReadResolvers: Resolvers = {
  Group: {
    externalAuditEventDestinations: async (group: Namespace, a: ConnectionArgs, c: GraphQLContext) => {
      if (!(await can(c.env.DB, c.actor, 'read_group_streaming', { kind: 'group', group }))) throw resourceNotAvailable();
      // The same check decides who sees the listed destinations' secrets (maySeeSecrets): answered.
      memoOf(c).secrets.set(secretsKey('group', group.id), Promise.resolve(true));
      return connectionFromArray(await listWithDetails(c, 'group', group), connectionArgs(a));
    },
  },
  Query: {
    instanceExternalAuditEventDestinations: async (_p: unknown, a: ConnectionArgs, c: GraphQLContext) => {
      if (!(await can(c.env.DB, c.actor, 'read_instance_streaming'))) throw resourceNotAvailable();
      memoOf(c).secrets.set(secretsKey('instance', null), Promise.resolve(true));
      return connectionFromArray(await listWithDetails(c, 'instance', null), connectionArgs(a));
    },
  },
  ExternalAuditEventDestination: {
    ...destinationFields(DESTINATION_MODELS.destination),
    group: (d: Destination, _a: unknown, c: GraphQLContext) => takePrefetched(memoOf(c).groups, d.id, () => findNamespaceById(c.env.DB, d.namespaceId ?? 0)),
    namespaceFilter: (d: Destination, _a: unknown, c: GraphQLContext) =>
      takePrefetched(memoOf(c).namespaceFilters, d.id, () => findNamespaceFilterOfDestination(c.env.DB, d.id)),
  },
  InstanceExternalAuditEventDestination: destinationFields(DESTINATION_MODELS.instanceDestination),
  AuditEventStreamingHeader: { id: (h: StreamingHeader) => toGid(DESTINATION_MODELS.header, h.id) },
  AuditEventsStreamingInstanceHeader: { id: (h: StreamingHeader) => toGid(DESTINATION_MODELS.instanceHeader, h.id) },
  AuditEventStreamingHTTPNamespaceFilter: {
    id: (f: NamespaceFilter) => toGid(DESTINATION_MODELS.namespaceFilter, f.id),
    namespace: (f: NamespaceFilter, _a: unknown, c: GraphQLContext) => filterNamespace(c, f),
    externalAuditEventDestination: (f: NamespaceFilter, _a: unknown, c: GraphQLContext) =>
      takePrefetched(memoOf(c).destinations, f.destinationId, () => findDestination(c.env.DB, 'group', f.destinationId)),
  },
};
