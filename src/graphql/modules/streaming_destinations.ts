/**
 * GitLab 18's consolidated streaming API over GraphQL: group destinations (Owner of a top-level
 * group, or an administrator) and instance destinations (administrators) of every category, with
 * their event type filters and namespace filters. Names of types, inputs, payloads, arguments and
 * ID scalars are GitLab's. The changes are the destination service's (src/destinations/); this
 * module parses GIDs, maps the service's refusals to GitLab's errors, and builds the group and
 * instance mutations from one table.
 */
import type { GraphQLContext, Resolver, SchemaModule } from '../context';
import { withServiceErrors } from '../errors';
import { parseGid } from '../gid';
import { streamingDestinationTypeDefs } from '../schema/streaming_destinations';
import { streamingReadResolvers } from './streaming_destination_reads';
import { caller, changeContext, payload, type Input } from './destinations';
import type { DestinationScope } from '../../db/destinations';
import type { Namespace } from '../../db/namespaces';
import { groupForCreate, instanceForCreate, loadDestination, loadScopedNamespaceFilter, namespaceForPath } from '../../destinations/access';
import { addEventTypeFilters, removeEventTypeFilters } from '../../destinations/filters';
import { createNamespaceFilter, removeNamespaceFilter } from '../../destinations/namespace_filters';
import { createStreamingDestination, deleteStreamingDestination, STREAMING_MODELS, updateStreamingDestination } from '../../destinations/streaming';

/** What differs between the group and the instance mutations. */
interface ScopeTable {
  scope: DestinationScope;
  /** The prefix of the mutation names (`groupAuditEventStreamingDestinationsCreate`, `auditEventsGroupDestinationEventsAdd`). */
  name: 'Group' | 'Instance';
  filterModel: string;
  /** The group a new destination goes to (null: the instance), or GitLab's errors; throws when not allowed. */
  createOn: (c: GraphQLContext, input: { groupPath?: string }) => Promise<{ group: Namespace | null; errors: string[] }>;
}

const SCOPES: ScopeTable[] = [
  { scope: 'group', name: 'Group', filterModel: STREAMING_MODELS.groupNamespaceFilter, createOn: (c, input) => groupForCreate(caller(c), input.groupPath ?? '') },
  { scope: 'instance', name: 'Instance', filterModel: STREAMING_MODELS.instanceNamespaceFilter, createOn: (c) => instanceForCreate(caller(c)) },
];

type CreateInput = { groupPath?: string; category: string; config: unknown; name?: string | null; secretToken?: string | null; eventTypeFilters?: string[] | null };
type UpdateInput = { id: string; category?: string | null; config?: unknown; name?: string | null; secretToken?: string | null; active?: boolean | null };
type FiltersInput = { destinationId: string; eventTypeFilters: string[] };

/** The mutations of one scope. */
function scopeMutations(t: ScopeTable): Record<string, Resolver> {
  const destination = (c: GraphQLContext, gid: unknown) => loadDestination(caller(c), t.scope, parseGid(gid, STREAMING_MODELS[t.scope]), true);
  const lower = t.name.toLowerCase();
  return {
    [`${lower}AuditEventStreamingDestinationsCreate`]: async (_p: unknown, { input }: Input<CreateInput>, c: GraphQLContext) => {
      const { group, errors } = await t.createOn(c, input);
      if (errors.length) return payload(input, { externalAuditEventDestination: null }, errors);
      const res = await createStreamingDestination(changeContext(c), t.scope, group, input);
      return payload(input, { externalAuditEventDestination: res.destination }, res.errors);
    },
    [`${lower}AuditEventStreamingDestinationsUpdate`]: async (_p: unknown, { input }: Input<UpdateInput>, c: GraphQLContext) => {
      const res = await updateStreamingDestination(changeContext(c), await destination(c, input.id), input);
      return payload(input, { externalAuditEventDestination: res.destination }, res.errors);
    },
    [`${lower}AuditEventStreamingDestinationsDelete`]: async (_p: unknown, { input }: Input<{ id: string }>, c: GraphQLContext) => {
      await deleteStreamingDestination(changeContext(c), await destination(c, input.id));
      return payload(input, {});
    },
    [`auditEvents${t.name}DestinationEventsAdd`]: async (_p: unknown, { input }: Input<FiltersInput>, c: GraphQLContext) => {
      const res = await addEventTypeFilters(changeContext(c), await destination(c, input.destinationId), input.eventTypeFilters);
      return payload(input, { eventTypeFilters: res.eventTypeFilters }, res.errors);
    },
    [`auditEvents${t.name}DestinationEventsDelete`]: async (_p: unknown, { input }: Input<FiltersInput>, c: GraphQLContext) => {
      const res = await removeEventTypeFilters(changeContext(c), await destination(c, input.destinationId), input.eventTypeFilters);
      return payload(input, {}, res.errors);
    },
    [`auditEvents${t.name}DestinationNamespaceFilterCreate`]: async (_p: unknown, { input }: Input<{ destinationId: string; namespacePath?: string | null }>, c: GraphQLContext) => {
      const owned = await destination(c, input.destinationId);
      const target = await namespaceForPath(caller(c), owned, input.namespacePath);
      if ('error' in target) return payload(input, { namespaceFilter: null }, [target.error]);
      const res = await createNamespaceFilter(changeContext(c), owned, target, input.namespacePath ?? '');
      return payload(input, { namespaceFilter: res.namespaceFilter && { ...res.namespaceFilter, scope: t.scope } }, res.errors);
    },
    [`auditEvents${t.name}DestinationNamespaceFilterDelete`]: async (_p: unknown, { input }: Input<{ namespaceFilterId: string }>, c: GraphQLContext) => {
      const { filter, ...owned } = await loadScopedNamespaceFilter(caller(c), t.scope, parseGid(input.namespaceFilterId, t.filterModel));
      await removeNamespaceFilter(changeContext(c), owned, filter);
      return payload(input, {});
    },
  };
}

/** The mutations, with the service's refusals mapped. */
const mutations: Record<string, Resolver> = Object.fromEntries(
  Object.entries(Object.assign({}, ...SCOPES.map(scopeMutations)) as Record<string, Resolver>).map(([name, r]) => [name, withServiceErrors(r)]),
);

export const streamingDestinations: SchemaModule = {
  typeDefs: streamingDestinationTypeDefs,
  resolvers: { ...streamingReadResolvers, Mutation: mutations },
};
