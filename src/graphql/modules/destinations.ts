/**
 * Audit event streaming destinations over GraphQL, as GitLab has them: group destinations
 * (Owner of a top-level group), instance destinations (administrators), custom headers, event
 * type filters, namespace filters, and (ours) the Standard Webhooks signing secret with its
 * rotation. Names of types, inputs, payloads, arguments and ID scalars are GitLab's, so
 * operations written against GitLab validate here. The changes themselves are the destination
 * service's (src/destinations/); this module parses GIDs, maps the service's refusals to
 * GitLab's errors, and builds the group and instance mutations from one table.
 */
import type { GraphQLContext, Resolver, SchemaModule } from '../context';
import { PublicError, withServiceErrors } from '../errors';
import { parseGid } from '../gid';
import { destinationTypeDefs } from '../schema/destination_types';
import { destinationMutationTypeDefs } from '../schema/destination_mutations';
import { destinationReadResolvers } from './destination_reads';
import { clientIp } from '../../audit/record';
import type { DestinationScope } from '../../db/destinations';
import {
  groupForCreate,
  instanceForCreate,
  loadDestination,
  loadGroupDestination,
  loadHeader,
  loadNamespaceFilter,
  namespaceForFilter,
  type Caller,
} from '../../destinations/access';
import { DESTINATION_MODELS, type ChangeContext } from '../../destinations/audit';
import { createDestination, destroyDestination, rotateSigningSecret, updateDestination } from '../../destinations/service';
import { createHeader, destroyHeader, updateHeader } from '../../destinations/headers';
import { addEventTypeFilters, addNamespaceFilter, deleteNamespaceFilter, removeEventTypeFilters } from '../../destinations/filters';
import type { Namespace } from '../../db/namespaces';

/** A mutation's arguments: its one input object. */
export type Input<T> = { input: T & { clientMutationId?: string | null } };

/** A mutation payload: clientMutationId, errors, and the mutation's own fields. */
export const payload = (input: { clientMutationId?: string | null }, rest: Record<string, unknown>, errors: string[] = []) => ({
  clientMutationId: input.clientMutationId ?? null,
  errors,
  ...rest,
});

/** Who asks, for the destination service's loaders. */
export const caller = (c: GraphQLContext): Caller => ({ db: c.env.DB, actor: c.actor });
/** Who changes, and from where, for the destination service's writers. */
export const changeContext = (c: GraphQLContext): ChangeContext => ({ env: c.env, ctx: c.ctx, actor: c.actor, ip: clientIp(c.request) });

/** What differs between the group and the instance mutations. */
interface ScopeTable {
  scope: DestinationScope;
  /** GID models of its destinations and headers. */
  destinationModel: string;
  headerModel: string;
  /** The payload field holding a destination. */
  destinationField: string;
  /** The group a new destination goes to (null: the instance), or GitLab's errors; throws when not allowed. */
  createOn: (c: GraphQLContext, input: { groupPath?: string }) => Promise<{ group: Namespace | null; errors: string[] }>;
  /** Mutation names. */
  names: Record<'create' | 'update' | 'destroy' | 'headerCreate' | 'headerUpdate' | 'headerDestroy' | 'eventsAdd' | 'eventsRemove' | 'rotate', string>;
}

const SCOPES: ScopeTable[] = [
  {
    scope: 'group',
    destinationModel: DESTINATION_MODELS.destination,
    headerModel: DESTINATION_MODELS.header,
    destinationField: 'externalAuditEventDestination',
    createOn: (c, input) => groupForCreate(caller(c), input.groupPath ?? ''),
    names: {
      create: 'externalAuditEventDestinationCreate',
      update: 'externalAuditEventDestinationUpdate',
      destroy: 'externalAuditEventDestinationDestroy',
      headerCreate: 'auditEventsStreamingHeadersCreate',
      headerUpdate: 'auditEventsStreamingHeadersUpdate',
      headerDestroy: 'auditEventsStreamingHeadersDestroy',
      eventsAdd: 'auditEventsStreamingDestinationEventsAdd',
      eventsRemove: 'auditEventsStreamingDestinationEventsRemove',
      rotate: 'auditEventsStreamingDestinationSigningSecretRotate',
    },
  },
  {
    scope: 'instance',
    destinationModel: DESTINATION_MODELS.instanceDestination,
    headerModel: DESTINATION_MODELS.instanceHeader,
    destinationField: 'instanceExternalAuditEventDestination',
    createOn: (c) => instanceForCreate(caller(c)),
    names: {
      create: 'instanceExternalAuditEventDestinationCreate',
      update: 'instanceExternalAuditEventDestinationUpdate',
      destroy: 'instanceExternalAuditEventDestinationDestroy',
      headerCreate: 'auditEventsStreamingInstanceHeadersCreate',
      headerUpdate: 'auditEventsStreamingInstanceHeadersUpdate',
      headerDestroy: 'auditEventsStreamingInstanceHeadersDestroy',
      eventsAdd: 'auditEventsStreamingDestinationInstanceEventsAdd',
      eventsRemove: 'auditEventsStreamingDestinationInstanceEventsRemove',
      rotate: 'auditEventsStreamingDestinationInstanceSigningSecretRotate',
    },
  },
];

type CreateInput = { destinationUrl: string; groupPath?: string; name?: string | null; verificationToken?: string | null; eventTypeFilters?: string[] | null };
type UpdateInput = { id: string; destinationUrl?: string | null; name?: string | null; active?: boolean | null };
type HeaderInput = { destinationId: string; key: string; value: string; active?: boolean | null };
type HeaderUpdateInput = { headerId: string; key?: string | null; value?: string | null; active?: boolean | null };
type FiltersInput = { destinationId: string; eventTypeFilters: string[] };

/** The mutations of one scope. */
function scopeMutations(t: ScopeTable): Record<string, Resolver> {
  const destination = (c: GraphQLContext, gid: unknown) => loadDestination(caller(c), t.scope, parseGid(gid, t.destinationModel));
  const header = (c: GraphQLContext, gid: unknown) => loadHeader(caller(c), t.scope, parseGid(gid, t.headerModel));
  return {
    [t.names.create]: async (_p: unknown, { input }: Input<CreateInput>, c: GraphQLContext) => {
      const { group, errors } = await t.createOn(c, input);
      if (errors.length) return payload(input, { [t.destinationField]: null }, errors);
      const res = await createDestination(changeContext(c), t.scope, group, input);
      return payload(input, { [t.destinationField]: res.destination }, res.errors);
    },
    [t.names.update]: async (_p: unknown, { input }: Input<UpdateInput>, c: GraphQLContext) => {
      const res = await updateDestination(changeContext(c), await destination(c, input.id), input);
      return payload(input, { [t.destinationField]: res.destination }, res.errors);
    },
    [t.names.destroy]: async (_p: unknown, { input }: Input<{ id: string }>, c: GraphQLContext) => {
      await destroyDestination(changeContext(c), await destination(c, input.id));
      return payload(input, {});
    },
    [t.names.headerCreate]: async (_p: unknown, { input }: Input<HeaderInput>, c: GraphQLContext) => {
      const res = await createHeader(changeContext(c), await destination(c, input.destinationId), input);
      return payload(input, { header: res.header }, res.errors);
    },
    [t.names.headerUpdate]: async (_p: unknown, { input }: Input<HeaderUpdateInput>, c: GraphQLContext) => {
      const res = await updateHeader(changeContext(c), await header(c, input.headerId), input);
      return payload(input, { header: res.header }, res.errors);
    },
    [t.names.headerDestroy]: async (_p: unknown, { input }: Input<{ headerId: string }>, c: GraphQLContext) => {
      await destroyHeader(changeContext(c), await header(c, input.headerId));
      return payload(input, {});
    },
    [t.names.eventsAdd]: async (_p: unknown, { input }: Input<FiltersInput>, c: GraphQLContext) => {
      const res = await addEventTypeFilters(changeContext(c), await destination(c, input.destinationId), input.eventTypeFilters);
      return payload(input, { eventTypeFilters: res.eventTypeFilters }, res.errors);
    },
    [t.names.eventsRemove]: async (_p: unknown, { input }: Input<FiltersInput>, c: GraphQLContext) => {
      const res = await removeEventTypeFilters(changeContext(c), await destination(c, input.destinationId), input.eventTypeFilters);
      return payload(input, {}, res.errors);
    },
    [t.names.rotate]: async (_p: unknown, { input }: Input<{ destinationId: string }>, c: GraphQLContext) => {
      const rotated = await rotateSigningSecret(changeContext(c), await destination(c, input.destinationId));
      return payload(input, { [t.destinationField]: rotated });
    },
  };
}

/** Namespace filters exist on group destinations only. */
const namespaceFilterMutations: Record<string, Resolver> = {
  auditEventsStreamingHttpNamespaceFiltersAdd: async (
    _p: unknown,
    { input }: Input<{ destinationId: string; groupPath?: string | null; projectPath?: string | null }>,
    c: GraphQLContext,
  ) => {
    // GitLab: validates exactly_one_of: [:group_path, :project_path].
    if (!input.groupPath === !input.projectPath) {
      throw new PublicError('One and only one of [groupPath, projectPath] arguments is required.');
    }
    const owned = await loadGroupDestination(caller(c), parseGid(input.destinationId, DESTINATION_MODELS.destination));
    const target = await namespaceForFilter(caller(c), owned, input.groupPath, input.projectPath);
    if ('error' in target) return payload(input, { namespaceFilter: null }, [target.error]);
    const res = await addNamespaceFilter(changeContext(c), owned, target, input.groupPath ?? input.projectPath);
    return payload(input, { namespaceFilter: res.namespaceFilter }, res.errors);
  },
  auditEventsStreamingHttpNamespaceFiltersDelete: async (_p: unknown, { input }: Input<{ namespaceFilterId: string }>, c: GraphQLContext) => {
    const { filter, ...owned } = await loadNamespaceFilter(caller(c), parseGid(input.namespaceFilterId, DESTINATION_MODELS.namespaceFilter));
    await deleteNamespaceFilter(changeContext(c), owned, filter);
    return payload(input, { namespaceFilter: null });
  },
};

/** The mutations, with the service's refusals mapped. */
const mutations: Record<string, Resolver> = Object.fromEntries(
  Object.entries({ ...Object.assign({}, ...SCOPES.map(scopeMutations)), ...namespaceFilterMutations }).map(([name, r]) => [name, withServiceErrors(r as Resolver)]),
);

export const destinations: SchemaModule = {
  typeDefs: `${destinationTypeDefs}\n${destinationMutationTypeDefs}`,
  resolvers: { ...destinationReadResolvers, Mutation: mutations },
};
