/**
 * Reading GitLab 18's consolidated streaming destinations: `Group.externalAuditEventStreamingDestinations`
 * (Owner of a top-level group, or an administrator), `Query.auditEventsInstanceStreamingDestinations`
 * (administrators) and the fields of their destinations and namespace filters. Every category of
 * the one store shows here; an http destination's config is its URL and headers. A list reads its
 * destinations with their headers, event type filters and namespace filters in one D1 round trip
 * and hands them to the field resolvers on the nodes.
 */
import type { GraphQLContext, Resolvers } from '../context';
import { connectionFromArray, type ConnectionArgs } from '../connection';
import { resourceNotAvailable } from '../errors';
import { toGid } from '../gid';
import { filterNamespace, namespacesOfFilters, type FilterNamespace } from './destination_reads';
import { can } from '../../auth/policy';
import { findNamespaceById, type Namespace } from '../../db/namespaces';
import { findDestination, listDestinationsWithDetails, listEventTypeFilters, listHeaders, type Destination, type DestinationScope, type StreamingHeader } from '../../db/destinations';
import { listNamespaceFilters, type NamespaceFilter } from '../../db/namespace_filters';
import { STREAMING_MODELS, streamingView } from '../../destinations/streaming';

/** A destination as the consolidated API resolves it: with what its list read for it, if it came from one. */
export type StreamingNode = Destination & {
  prefetched?: {
    headers: StreamingHeader[];
    eventTypeFilters: string[];
    namespaceFilters: NamespaceFilter[];
    group: Namespace | null;
    /** The namespaces of every listed destination's filters, read once for all of them when first asked. */
    filterNamespaces: () => Promise<Map<number, FilterNamespace | null>>;
  };
};

/** A namespace filter with the scope of its destination (for its GID) and, when known, the destination. */
type FilterNode = NamespaceFilter & { scope: DestinationScope; destination?: StreamingNode };

/** The destinations of a group (or the instance), every category, with their details. */
async function listNodes(c: GraphQLContext, scope: DestinationScope, group: Namespace | null): Promise<StreamingNode[]> {
  const listing = await listDestinationsWithDetails(c.env.DB, scope, group?.id ?? null);
  const namespaceFilters = listing.allNamespaceFilters;
  let namespaces: Promise<Map<number, FilterNamespace | null>> | null = null;
  const filterNamespaces = () => (namespaces ??= namespacesOfFilters(c.env.DB, [...namespaceFilters.values()].flat()));
  return listing.destinations.map((d) => ({
    ...d,
    prefetched: {
      headers: listing.headers.get(d.id) ?? [],
      eventTypeFilters: listing.filters.get(d.id) ?? [],
      namespaceFilters: namespaceFilters.get(d.id) ?? [],
      group,
      filterNamespaces,
    },
  }));
}

const connectionArgs = (a: ConnectionArgs): ConnectionArgs => ({ first: a.first, after: a.after, last: a.last, before: a.before });

const headersOf = async (d: StreamingNode, c: GraphQLContext) => (d.category !== 'http' ? [] : (d.prefetched?.headers ?? (await listHeaders(c.env.DB, d.id))));

/** The fields group and instance destinations share (GitLab's AuditEventStreamingDestinationInterface). */
const destinationFields = (scope: DestinationScope) => ({
  id: (d: StreamingNode) => toGid(STREAMING_MODELS[scope], d.id),
  config: async (d: StreamingNode, _a: unknown, c: GraphQLContext) => streamingView(d, await headersOf(d, c)).config,
  // GitLab shows the secret of http destinations only (the verification token); never a cloud secret.
  secretToken: (d: StreamingNode) => (d.category === 'http' ? d.verificationToken : ''),
  eventTypeFilters: (d: StreamingNode, _a: unknown, c: GraphQLContext) => d.prefetched?.eventTypeFilters ?? listEventTypeFilters(c.env.DB, d.id),
  namespaceFilters: async (d: StreamingNode, _a: unknown, c: GraphQLContext): Promise<FilterNode[]> =>
    (d.prefetched?.namespaceFilters ?? (await listNamespaceFilters(c.env.DB, d.id))).map((f) => ({ ...f, scope, destination: d })),
});

const filterFields = (scope: DestinationScope) => ({
  id: (f: FilterNode) => toGid(scope === 'group' ? STREAMING_MODELS.groupNamespaceFilter : STREAMING_MODELS.instanceNamespaceFilter, f.id),
  namespace: async (f: FilterNode, _a: unknown, c: GraphQLContext) => {
    const listed = f.destination?.prefetched?.filterNamespaces;
    return listed ? ((await listed()).get(f.id) ?? null) : filterNamespace(c, f);
  },
  externalStreamingDestination: (f: FilterNode, _a: unknown, c: GraphQLContext) => f.destination ?? findDestination(c.env.DB, scope, f.destinationId),
});

/** Resolvers of the consolidated types and of the two lists. */
export const streamingReadResolvers: Resolvers = {
  Group: {
    externalAuditEventStreamingDestinations: async (group: Namespace, a: ConnectionArgs, c: GraphQLContext) => {
      if (!(await can(c.env.DB, c.actor, 'read_group_streaming', { kind: 'group', group }))) throw resourceNotAvailable();
      return connectionFromArray(await listNodes(c, 'group', group), connectionArgs(a));
    },
  },
  Query: {
    auditEventsInstanceStreamingDestinations: async (_p: unknown, a: ConnectionArgs, c: GraphQLContext) => {
      if (!(await can(c.env.DB, c.actor, 'read_instance_streaming'))) throw resourceNotAvailable();
      return connectionFromArray(await listNodes(c, 'instance', null), connectionArgs(a));
    },
  },
  GroupAuditEventStreamingDestination: {
    ...destinationFields('group'),
    group: (d: StreamingNode, _a: unknown, c: GraphQLContext) => d.prefetched?.group ?? findNamespaceById(c.env.DB, d.namespaceId ?? 0),
  },
  InstanceAuditEventStreamingDestination: destinationFields('instance'),
  GroupAuditEventNamespaceFilter: filterFields('group'),
  InstanceAuditEventNamespaceFilter: filterFields('instance'),
};
