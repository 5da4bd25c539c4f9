/**
 * Audit event streaming destinations over GraphQL, as GitLab has them: group destinations
 * (Owner of a top-level group), instance destinations (administrators), custom headers, event
 * type filters, namespace filters, and (ours) the Standard Webhooks signing secret with its
 * rotation. Names of types, inputs, payloads, arguments and ID scalars are GitLab's, so
 * operations written against GitLab validate here. Every change records an audit event in the
 * same D1 transaction; tokens, secrets and header values never appear in one.
 */
import type { GraphQLContext, SchemaModule } from '../context';
import { connectionFromArray, connectionTypes, type ConnectionArgs } from '../connection';
import { PublicError, resourceNotAvailable } from '../errors';
import { parseGid, toGid } from '../gid';
import { can } from '../../auth/policy';
import { findNamespaceById, findNamespaceByPath, type Namespace } from '../../db/namespaces';
import { findProjectById, findProjectByPath, projectScopePath, type Project } from '../../db/projects';
import {
  countDestinations,
  countHeaders,
  deleteDestinationStatements,
  deleteEventTypeFilterStatements,
  deleteHeaderStatement,
  deleteNamespaceFilterStatement,
  findDestination,
  findHeader,
  findHeaderByKey,
  findNamespaceFilter,
  findNamespaceFilterOfDestination,
  destinationIdOf,
  insertedDestination,
  insertDestinationStatement,
  insertEventTypeFilterStatements,
  insertHeaderStatement,
  insertNamespaceFilterStatement,
  isUniqueViolation,
  listDestinationsWithDetails,
  listEventTypeFilters,
  listHeaders,
  namespaceFilterExistsFor,
  rotateSecretStatement,
  takenAttributes,
  updateDestinationStatement,
  updateHeaderStatement,
  type Destination,
  type DestinationScope,
  type NamespaceFilter,
  type StreamingHeader,
} from '../../db/destinations';
import {
  authorOf,
  clientIp,
  groupEntity,
  instanceEntity,
  recordAuditEvent,
  recordAuditEventIfChanged,
  recordAuditEvents,
  recordChangeIfChanged,
  type AuditEventInput,
} from '../../audit/record';
import type { Sql } from '../../db/sql';
import {
  DESTINATION_LIMITS,
  EVENT_TYPE_FILTERS_MUST_BE_PRESENT,
  defaultDestinationName,
  destinationUrlErrors,
  eventTypeFilterErrors,
  generateSigningSecret,
  generateVerificationToken,
  headerErrors,
  maxDestinations,
  missingEventTypeFiltersError,
  nameErrors,
  verificationTokenErrors,
} from '../../destinations/rules';

/** GitLab's model names, as they appear in GIDs. */
export const GID_MODELS = {
  destination: 'AuditEvents::ExternalAuditEventDestination',
  instanceDestination: 'AuditEvents::InstanceExternalAuditEventDestination',
  header: 'AuditEvents::Streaming::Header',
  instanceHeader: 'AuditEvents::Streaming::InstanceHeader',
  namespaceFilter: 'AuditEvents::Streaming::HTTP::NamespaceFilter',
} as const;

const CONNECTION_ARGS = `
    "Returns the elements in the list that come after the specified cursor."
    after: String
    "Returns the elements in the list that come before the specified cursor."
    before: String
    "Returns the first _n_ elements from the list."
    first: Int
    "Returns the last _n_ elements from the list."
    last: Int`;

const PAYLOAD_COMMON = `
  "A unique identifier for the client performing the mutation."
  clientMutationId: String
  "Errors encountered during the mutation."
  errors: [String!]!`;

const INPUT_COMMON = `
  "A unique identifier for the client performing the mutation."
  clientMutationId: String`;

const gidScalar = (name: string, model: string) =>
  `"A \`${name}\` is a global ID. It is encoded as a string, for example \`gid://gitlab/${model}/1\`."\nscalar ${name}\n`;

const typeDefs = /* GraphQL */ `
${gidScalar('AuditEventsExternalAuditEventDestinationID', GID_MODELS.destination)}
${gidScalar('AuditEventsInstanceExternalAuditEventDestinationID', GID_MODELS.instanceDestination)}
${gidScalar('AuditEventsStreamingHeaderID', GID_MODELS.header)}
${gidScalar('AuditEventsStreamingInstanceHeaderID', GID_MODELS.instanceHeader)}
${gidScalar('AuditEventsStreamingHTTPNamespaceFilterID', GID_MODELS.namespaceFilter)}

"Represents an external resource to send audit events to"
type ExternalAuditEventDestination {
  "ID of the destination."
  id: ID!
  "Name of the external destination to send audit events to."
  name: String!
  "External destination to send audit events to."
  destinationUrl: String!
  "Verification token to validate source of event."
  verificationToken: String!
  "Active status of the destination."
  active: Boolean!
  "Group the destination belongs to."
  group: Group!
  "List of additional HTTP headers sent with each event."
  headers(${CONNECTION_ARGS}
  ): AuditEventStreamingHeaderConnection!
  "List of event type filters added for streaming."
  eventTypeFilters: [String!]!
  "List of subgroup or project filters for the destination."
  namespaceFilter: AuditEventStreamingHTTPNamespaceFilter
  "Standard Webhooks signing secret (whsec_...) of every delivery's webhook-signature header. Not in GitLab."
  signingSecret: String!
  "Until when the previous signing secret still signs deliveries, after a rotation. Not in GitLab."
  previousSigningSecretExpiresAt: Time
}

"Represents an external resource to send instance audit events to"
type InstanceExternalAuditEventDestination {
  "ID of the destination."
  id: ID!
  "Name of the external destination to send audit events to."
  name: String!
  "External destination to send audit events to."
  destinationUrl: String!
  "Verification token to validate source of event."
  verificationToken: String!
  "Active status of the destination."
  active: Boolean!
  "List of additional HTTP headers sent with each event."
  headers(${CONNECTION_ARGS}
  ): AuditEventsStreamingInstanceHeaderConnection!
  "List of event type filters added for streaming."
  eventTypeFilters: [String!]!
  "Standard Webhooks signing secret (whsec_...) of every delivery's webhook-signature header. Not in GitLab."
  signingSecret: String!
  "Until when the previous signing secret still signs deliveries, after a rotation. Not in GitLab."
  previousSigningSecretExpiresAt: Time
}

"Represents a HTTP header key/value that belongs to an audit streaming destination."
type AuditEventStreamingHeader {
  "ID of the header."
  id: ID!
  "Key of the header."
  key: String!
  "Value of the header."
  value: String!
  "Header is active or not."
  active: Boolean!
}

"Represents a HTTP header key/value that belongs to an instance level audit streaming destination."
type AuditEventsStreamingInstanceHeader {
  "ID of the header."
  id: ID!
  "Key of the header."
  key: String!
  "Value of the header."
  value: String!
  "Header is active or not."
  active: Boolean!
}

"Represents a subgroup or project filter that belongs to an external audit event streaming destination."
type AuditEventStreamingHTTPNamespaceFilter {
  "ID of the filter."
  id: ID!
  "Group or project namespace the filter belongs to."
  namespace: Namespace!
  "Destination to which the filter belongs."
  externalAuditEventDestination: ExternalAuditEventDestination!
}

${connectionTypes('ExternalAuditEventDestination')}
${connectionTypes('InstanceExternalAuditEventDestination')}
${connectionTypes('AuditEventStreamingHeader')}
${connectionTypes('AuditEventsStreamingInstanceHeader')}

extend type Group {
  "External locations that receive audit events belonging to the group."
  externalAuditEventDestinations(${CONNECTION_ARGS}
  ): ExternalAuditEventDestinationConnection
}

extend type Query {
  "Instance level external audit event destinations."
  instanceExternalAuditEventDestinations(${CONNECTION_ARGS}
  ): InstanceExternalAuditEventDestinationConnection
}

input ExternalAuditEventDestinationCreateInput {${INPUT_COMMON}
  "Destination URL."
  destinationUrl: String!
  "Destination name."
  name: String
  "Group path."
  groupPath: ID!
  "Verification token."
  verificationToken: String
}
type ExternalAuditEventDestinationCreatePayload {${PAYLOAD_COMMON}
  "Destination created."
  externalAuditEventDestination: ExternalAuditEventDestination
}

input ExternalAuditEventDestinationUpdateInput {${INPUT_COMMON}
  "ID of external audit event destination to update."
  id: AuditEventsExternalAuditEventDestinationID!
  "Destination URL to change."
  destinationUrl: String
  "Destination name."
  name: String
  "Active status of the destination."
  active: Boolean
}
type ExternalAuditEventDestinationUpdatePayload {${PAYLOAD_COMMON}
  "Updated destination."
  externalAuditEventDestination: ExternalAuditEventDestination
}

input ExternalAuditEventDestinationDestroyInput {${INPUT_COMMON}
  "ID of external audit event destination to destroy."
  id: AuditEventsExternalAuditEventDestinationID!
}
type ExternalAuditEventDestinationDestroyPayload {${PAYLOAD_COMMON}
}

input AuditEventsStreamingHeadersCreateInput {${INPUT_COMMON}
  "Header key."
  key: String!
  "Header value."
  value: String!
  "Destination to associate header with."
  destinationId: AuditEventsExternalAuditEventDestinationID!
  "Boolean option determining whether header is active or not."
  active: Boolean = true
}
type AuditEventsStreamingHeadersCreatePayload {${PAYLOAD_COMMON}
  "Created header."
  header: AuditEventStreamingHeader
}

input AuditEventsStreamingHeadersUpdateInput {${INPUT_COMMON}
  "Header to update."
  headerId: AuditEventsStreamingHeaderID!
  "Header key."
  key: String
  "Header value."
  value: String
  "Boolean option determining whether header is active or not."
  active: Boolean
}
type AuditEventsStreamingHeadersUpdatePayload {${PAYLOAD_COMMON}
  "Updates header."
  header: AuditEventStreamingHeader
}

input AuditEventsStreamingHeadersDestroyInput {${INPUT_COMMON}
  "Header to delete."
  headerId: AuditEventsStreamingHeaderID!
}
type AuditEventsStreamingHeadersDestroyPayload {${PAYLOAD_COMMON}
}

input AuditEventsStreamingDestinationEventsAddInput {${INPUT_COMMON}
  "List of event type filters to add for streaming."
  eventTypeFilters: [String!]!
  "Destination id."
  destinationId: AuditEventsExternalAuditEventDestinationID!
}
type AuditEventsStreamingDestinationEventsAddPayload {${PAYLOAD_COMMON}
  "List of event type filters for the audit event external destination."
  eventTypeFilters: [String!]
}

input AuditEventsStreamingDestinationEventsRemoveInput {${INPUT_COMMON}
  "List of event type filters to remove from streaming."
  eventTypeFilters: [String!]!
  "Destination id."
  destinationId: AuditEventsExternalAuditEventDestinationID!
}
type AuditEventsStreamingDestinationEventsRemovePayload {${PAYLOAD_COMMON}
}

input AuditEventsStreamingHTTPNamespaceFiltersAddInput {${INPUT_COMMON}
  "Destination ID."
  destinationId: AuditEventsExternalAuditEventDestinationID!
  "Full path of the group."
  groupPath: ID
  "Full path of the project."
  projectPath: ID
}
type AuditEventsStreamingHTTPNamespaceFiltersAddPayload {${PAYLOAD_COMMON}
  "Namespace filter created."
  namespaceFilter: AuditEventStreamingHTTPNamespaceFilter
}

input AuditEventsStreamingHTTPNamespaceFiltersDeleteInput {${INPUT_COMMON}
  "Namespace filter ID."
  namespaceFilterId: AuditEventsStreamingHTTPNamespaceFilterID!
}
type AuditEventsStreamingHTTPNamespaceFiltersDeletePayload {${PAYLOAD_COMMON}
  "Namespace filter deleted."
  namespaceFilter: AuditEventStreamingHTTPNamespaceFilter
}

input AuditEventsStreamingDestinationSigningSecretRotateInput {${INPUT_COMMON}
  "Destination whose signing secret is replaced."
  destinationId: AuditEventsExternalAuditEventDestinationID!
}
type AuditEventsStreamingDestinationSigningSecretRotatePayload {${PAYLOAD_COMMON}
  "Destination with its new signing secret."
  externalAuditEventDestination: ExternalAuditEventDestination
}

input InstanceExternalAuditEventDestinationCreateInput {${INPUT_COMMON}
  "Destination URL."
  destinationUrl: String!
  "Destination name."
  name: String
}
type InstanceExternalAuditEventDestinationCreatePayload {${PAYLOAD_COMMON}
  "Destination created."
  instanceExternalAuditEventDestination: InstanceExternalAuditEventDestination
}

input InstanceExternalAuditEventDestinationUpdateInput {${INPUT_COMMON}
  "ID of the external instance audit event destination to update."
  id: AuditEventsInstanceExternalAuditEventDestinationID!
  "Destination URL to change."
  destinationUrl: String
  "Destination name."
  name: String
  "Active status of the destination."
  active: Boolean
}
type InstanceExternalAuditEventDestinationUpdatePayload {${PAYLOAD_COMMON}
  "Updated destination."
  instanceExternalAuditEventDestination: InstanceExternalAuditEventDestination
}

input InstanceExternalAuditEventDestinationDestroyInput {${INPUT_COMMON}
  "ID of the external instance audit event destination to destroy."
  id: AuditEventsInstanceExternalAuditEventDestinationID!
}
type InstanceExternalAuditEventDestinationDestroyPayload {${PAYLOAD_COMMON}
}

input AuditEventsStreamingInstanceHeadersCreateInput {${INPUT_COMMON}
  "Header key."
  key: String!
  "Header value."
  value: String!
  "Instance level external destination to associate header with."
  destinationId: AuditEventsInstanceExternalAuditEventDestinationID!
  "Boolean option determining whether header is active or not."
  active: Boolean = true
}
type AuditEventsStreamingInstanceHeadersCreatePayload {${PAYLOAD_COMMON}
  "Created header."
  header: AuditEventsStreamingInstanceHeader
}

input AuditEventsStreamingInstanceHeadersUpdateInput {${INPUT_COMMON}
  "Header to update."
  headerId: AuditEventsStreamingInstanceHeaderID!
  "Header key."
  key: String
  "Header value."
  value: String
  "Boolean option determining whether header is active or not."
  active: Boolean
}
type AuditEventsStreamingInstanceHeadersUpdatePayload {${PAYLOAD_COMMON}
  "Updates header."
  header: AuditEventsStreamingInstanceHeader
}

input AuditEventsStreamingInstanceHeadersDestroyInput {${INPUT_COMMON}
  "Header to delete."
  headerId: AuditEventsStreamingInstanceHeaderID!
}
type AuditEventsStreamingInstanceHeadersDestroyPayload {${PAYLOAD_COMMON}
}

input AuditEventsStreamingDestinationInstanceEventsAddInput {${INPUT_COMMON}
  "List of event type filters to add for streaming."
  eventTypeFilters: [String!]!
  "Destination id."
  destinationId: AuditEventsInstanceExternalAuditEventDestinationID!
}
type AuditEventsStreamingDestinationInstanceEventsAddPayload {${PAYLOAD_COMMON}
  "List of event type filters for the audit event external destination."
  eventTypeFilters: [String!]
}

input AuditEventsStreamingDestinationInstanceEventsRemoveInput {${INPUT_COMMON}
  "List of event type filters to remove from streaming."
  eventTypeFilters: [String!]!
  "Destination id."
  destinationId: AuditEventsInstanceExternalAuditEventDestinationID!
}
type AuditEventsStreamingDestinationInstanceEventsRemovePayload {${PAYLOAD_COMMON}
}

input AuditEventsStreamingDestinationInstanceSigningSecretRotateInput {${INPUT_COMMON}
  "Instance destination whose signing secret is replaced."
  destinationId: AuditEventsInstanceExternalAuditEventDestinationID!
}
type AuditEventsStreamingDestinationInstanceSigningSecretRotatePayload {${PAYLOAD_COMMON}
  "Destination with its new signing secret."
  instanceExternalAuditEventDestination: InstanceExternalAuditEventDestination
}

extend type Mutation {
  externalAuditEventDestinationCreate(input: ExternalAuditEventDestinationCreateInput!): ExternalAuditEventDestinationCreatePayload
  externalAuditEventDestinationUpdate(input: ExternalAuditEventDestinationUpdateInput!): ExternalAuditEventDestinationUpdatePayload
  externalAuditEventDestinationDestroy(input: ExternalAuditEventDestinationDestroyInput!): ExternalAuditEventDestinationDestroyPayload
  auditEventsStreamingHeadersCreate(input: AuditEventsStreamingHeadersCreateInput!): AuditEventsStreamingHeadersCreatePayload
  auditEventsStreamingHeadersUpdate(input: AuditEventsStreamingHeadersUpdateInput!): AuditEventsStreamingHeadersUpdatePayload
  auditEventsStreamingHeadersDestroy(input: AuditEventsStreamingHeadersDestroyInput!): AuditEventsStreamingHeadersDestroyPayload
  auditEventsStreamingDestinationEventsAdd(input: AuditEventsStreamingDestinationEventsAddInput!): AuditEventsStreamingDestinationEventsAddPayload
  auditEventsStreamingDestinationEventsRemove(input: AuditEventsStreamingDestinationEventsRemoveInput!): AuditEventsStreamingDestinationEventsRemovePayload
  auditEventsStreamingHttpNamespaceFiltersAdd(input: AuditEventsStreamingHTTPNamespaceFiltersAddInput!): AuditEventsStreamingHTTPNamespaceFiltersAddPayload
  auditEventsStreamingHttpNamespaceFiltersDelete(input: AuditEventsStreamingHTTPNamespaceFiltersDeleteInput!): AuditEventsStreamingHTTPNamespaceFiltersDeletePayload
  "Replace a group destination's signing secret; the previous one keeps signing for 24 hours. Not in GitLab."
  auditEventsStreamingDestinationSigningSecretRotate(input: AuditEventsStreamingDestinationSigningSecretRotateInput!): AuditEventsStreamingDestinationSigningSecretRotatePayload
  instanceExternalAuditEventDestinationCreate(input: InstanceExternalAuditEventDestinationCreateInput!): InstanceExternalAuditEventDestinationCreatePayload
  instanceExternalAuditEventDestinationUpdate(input: InstanceExternalAuditEventDestinationUpdateInput!): InstanceExternalAuditEventDestinationUpdatePayload
  instanceExternalAuditEventDestinationDestroy(input: InstanceExternalAuditEventDestinationDestroyInput!): InstanceExternalAuditEventDestinationDestroyPayload
  auditEventsStreamingInstanceHeadersCreate(input: AuditEventsStreamingInstanceHeadersCreateInput!): AuditEventsStreamingInstanceHeadersCreatePayload
  auditEventsStreamingInstanceHeadersUpdate(input: AuditEventsStreamingInstanceHeadersUpdateInput!): AuditEventsStreamingInstanceHeadersUpdatePayload
  auditEventsStreamingInstanceHeadersDestroy(input: AuditEventsStreamingInstanceHeadersDestroyInput!): AuditEventsStreamingInstanceHeadersDestroyPayload
  auditEventsStreamingDestinationInstanceEventsAdd(input: AuditEventsStreamingDestinationInstanceEventsAddInput!): AuditEventsStreamingDestinationInstanceEventsAddPayload
  auditEventsStreamingDestinationInstanceEventsRemove(input: AuditEventsStreamingDestinationInstanceEventsRemoveInput!): AuditEventsStreamingDestinationInstanceEventsRemovePayload
  "Replace an instance destination's signing secret; the previous one keeps signing for 24 hours. Not in GitLab."
  auditEventsStreamingDestinationInstanceSigningSecretRotate(input: AuditEventsStreamingDestinationInstanceSigningSecretRotateInput!): AuditEventsStreamingDestinationInstanceSigningSecretRotatePayload
}
`;

// Loading and authorizing ----------------------------------------------------------------------

/** A destination with the group it belongs to (null for instance destinations). */
interface Owned {
  destination: Destination;
  group: Namespace | null;
}

/**
 * The group destination a GID names, if the caller may manage it. Anything else (malformed,
 * another model, unknown, another group's and not the caller's) is GitLab's "resource not
 * available" error, so the answer reveals nothing.
 */
async function loadGroupDestination(c: GraphQLContext, gid: unknown): Promise<Owned & { group: Namespace }> {
  const id = parseGid(gid, GID_MODELS.destination);
  const destination = id === null ? null : await findDestination(c.env.DB, 'group', id);
  const group = destination?.namespaceId ? await findNamespaceById(c.env.DB, destination.namespaceId) : null;
  if (!destination || !group || !(await can(c.env.DB, c.actor, 'admin_group_streaming', { kind: 'group', group }))) {
    throw resourceNotAvailable();
  }
  return { destination, group };
}

/** The instance destination a GID names, for administrators only. */
async function loadInstanceDestination(c: GraphQLContext, gid: unknown): Promise<Owned> {
  if (!(await can(c.env.DB, c.actor, 'admin_instance_streaming'))) throw resourceNotAvailable();
  const id = parseGid(gid, GID_MODELS.instanceDestination);
  const destination = id === null ? null : await findDestination(c.env.DB, 'instance', id);
  if (!destination) throw resourceNotAvailable();
  return { destination, group: null };
}

/** A header a GID names, with its destination, if the caller may manage it. */
async function loadHeader(c: GraphQLContext, gid: unknown, scope: DestinationScope): Promise<Owned & { header: StreamingHeader }> {
  const id = parseGid(gid, scope === 'group' ? GID_MODELS.header : GID_MODELS.instanceHeader);
  const header = id === null ? null : await findHeader(c.env.DB, id);
  if (!header) throw resourceNotAvailable();
  const model = scope === 'group' ? GID_MODELS.destination : GID_MODELS.instanceDestination;
  const owned = scope === 'group' ? await loadGroupDestination(c, toGid(model, header.destinationId)) : await loadInstanceDestination(c, toGid(model, header.destinationId));
  return { ...owned, header };
}

/**
 * Per request: what a destinations list prefetched for its nodes (headers and event type
 * filters of all of them in one D1 round trip, instead of two round trips per node; each
 * taken once, so a later mutation in the same document reads afresh), and the secrets check
 * once per namespace.
 */
interface RequestMemo {
  headers: Map<number, StreamingHeader[]>;
  filters: Map<number, string[]>;
  secrets: Map<string, Promise<boolean>>;
}
const requestMemos = new WeakMap<GraphQLContext, RequestMemo>();

function memoOf(c: GraphQLContext): RequestMemo {
  let m = requestMemos.get(c);
  if (!m) requestMemos.set(c, (m = { headers: new Map(), filters: new Map(), secrets: new Map() }));
  return m;
}

/**
 * List destinations with their headers and event type filters (one D1 round trip); the
 * details wait in the request memo for the Destination resolvers.
 */
async function listWithDetails(c: GraphQLContext, scope: DestinationScope, namespaceId: number | null): Promise<Destination[]> {
  const listing = await listDestinationsWithDetails(c.env.DB, scope, namespaceId);
  const memo = memoOf(c);
  for (const [id, headers] of listing.headers) memo.headers.set(id, headers);
  for (const [id, filters] of listing.filters) memo.filters.set(id, filters);
  return listing.destinations;
}

/** A prefetched value, taken once; otherwise loaded now. */
function takePrefetched<T>(map: Map<number, T>, id: number, load: () => Promise<T>): Promise<T> {
  const v = map.get(id);
  if (v === undefined) return load();
  map.delete(id);
  return Promise.resolve(v);
}

/** Whether the caller may see a destination's verification token and signing secret (asked once per namespace per request). */
function maySeeSecrets(c: GraphQLContext, d: Destination): Promise<boolean> {
  const key = secretsKey(d.scope, d.namespaceId);
  const memo = memoOf(c).secrets;
  let answer = memo.get(key);
  if (!answer) memo.set(key, (answer = checkSecretsAccess(c, d)));
  return answer;
}

/** The key of maySeeSecrets' memo: one answer per namespace (or the instance). */
function secretsKey(scope: DestinationScope, namespaceId: number | null): string {
  return `${scope}:${namespaceId ?? ''}`;
}

async function checkSecretsAccess(c: GraphQLContext, d: Destination): Promise<boolean> {
  if (d.scope === 'instance') return can(c.env.DB, c.actor, 'read_instance_streaming');
  const group = d.namespaceId ? await findNamespaceById(c.env.DB, d.namespaceId) : null;
  return !!group && can(c.env.DB, c.actor, 'read_group_streaming', { kind: 'group', group });
}

// Audit events --------------------------------------------------------------------------------

const EVENT_TYPES = {
  group: {
    create: 'create_event_streaming_destination',
    update: 'update_event_streaming_destination',
    destroy: 'destroy_event_streaming_destination',
    headerCreate: 'audit_events_streaming_headers_create',
    headerUpdate: 'audit_events_streaming_headers_update',
    headerDestroy: 'audit_events_streaming_headers_destroy',
  },
  instance: {
    create: 'create_instance_event_streaming_destination',
    update: 'update_instance_event_streaming_destination',
    destroy: 'destroy_instance_event_streaming_destination',
    headerCreate: 'audit_events_streaming_instance_headers_create',
    headerUpdate: 'audit_events_streaming_instance_headers_update',
    headerDestroy: 'audit_events_streaming_instance_headers_destroy',
  },
} as const;

/**
 * An audit event about a destination: on its group (or the instance), targeting the
 * destination by name. Only names, URLs, header keys and filter names go into details.
 */
function auditInput(
  c: GraphQLContext,
  owned: { destination: Pick<Destination, 'scope' | 'name'> & { id: Sql<number> }; group: Namespace | null },
  eventType: string, customMessage: string, extra: Record<string, unknown> = {}): AuditEventInput {
  const d = owned.destination;
  return {
    eventType,
    author: authorOf(c.actor?.user),
    entity: owned.group ? groupEntity(owned.group) : instanceEntity(),
    target: { id: d.id, type: d.scope === 'group' ? GID_MODELS.destination : GID_MODELS.instanceDestination, details: d.name },
    ipAddress: clientIp(c.request),
    details: { custom_message: customMessage, ...extra },
  };
}

// Mutations ------------------------------------------------------------------------------------

type Input<T> = { input: T & { clientMutationId?: string | null } };

const payload = (input: { clientMutationId?: string | null }, rest: Record<string, unknown>, errors: string[] = []) => ({
  clientMutationId: input.clientMutationId ?? null,
  errors,
  ...rest,
});

/** Validate and insert a destination; it and its creation event commit together. */
async function createDestination(
  c: GraphQLContext,
  scope: DestinationScope,
  group: Namespace | null,
  args: { destinationUrl: string; name?: string | null; verificationToken?: string | null },
): Promise<{ destination: Destination | null; errors: string[] }> {
  const namespaceId = group?.id ?? null;
  const errors = [...destinationUrlErrors(args.destinationUrl, c.env)];
  if (args.name !== undefined && args.name !== null) errors.push(...nameErrors(args.name));
  if (args.verificationToken !== undefined && args.verificationToken !== null) errors.push(...verificationTokenErrors(args.verificationToken));
  const limit = maxDestinations(c.env);
  // GitLab's Limitable message.
  const limitError = `Maximum number of ${scope === 'group' ? 'external' : 'instance external'} audit event destinations (${limit}) exceeded`;
  if ((await countDestinations(c.env.DB, scope, namespaceId)) >= limit) errors.push(limitError);
  const name = args.name ?? defaultDestinationName();
  const verificationToken = args.verificationToken ?? generateVerificationToken();
  const taken = await takenAttributes(c.env.DB, scope, namespaceId, { name, destinationUrl: args.destinationUrl, verificationToken }, null);
  if (taken.destinationUrl) errors.push('Destination url has already been taken');
  if (taken.name) errors.push('Name has already been taken');
  if (taken.verificationToken) errors.push('Verification token has already been taken');
  if (errors.length) return { destination: null, errors };
  const created = { scope, namespaceId, name, destinationUrl: args.destinationUrl, verificationToken, signingSecret: generateSigningSecret() };
  let destination: Destination | null;
  try {
    const { result } = await recordChangeIfChanged(
      c.env,
      c.ctx,
      insertDestinationStatement(c.env.DB, created, limit),
      auditInput(c, { destination: { ...created, id: destinationIdOf(created) }, group }, EVENT_TYPES[scope].create, `Create event streaming destination ${created.destinationUrl}`),
    );
    destination = insertedDestination(result);
  } catch (err) {
    if (isUniqueViolation(err)) return { destination: null, errors: ['Destination url, name or verification token has already been taken'] };
    throw err;
  }
  // Another create took the last place between the count above and the insert.
  if (!destination) return { destination: null, errors: [limitError] };
  return { destination, errors: [] };
}

/** Validate and apply name / URL / active changes; one audit event per changed attribute, as GitLab. */
async function updateDestination(
  c: GraphQLContext,
  owned: Owned,
  args: { destinationUrl?: string | null; name?: string | null; active?: boolean | null },
): Promise<{ destination: Destination | null; errors: string[] }> {
  const d = owned.destination;
  const next = {
    id: d.id,
    destinationUrl: args.destinationUrl ?? d.destinationUrl,
    name: args.name ?? d.name,
    active: args.active ?? d.active,
  };
  const errors: string[] = [];
  if (next.destinationUrl !== d.destinationUrl) errors.push(...destinationUrlErrors(next.destinationUrl, c.env));
  if (next.name !== d.name) errors.push(...nameErrors(next.name));
  const taken = await takenAttributes(c.env.DB, d.scope, d.namespaceId, { name: next.name, destinationUrl: next.destinationUrl }, d.id);
  if (taken.destinationUrl) errors.push('Destination url has already been taken');
  if (taken.name) errors.push('Name has already been taken');
  if (errors.length) return { destination: d, errors };
  const changes: AuditEventInput[] = [];
  const type = EVENT_TYPES[d.scope].update;
  const change = (column: string, from: unknown, to: unknown) =>
    changes.push(auditInput(c, { ...owned, destination: { ...d, name: next.name } }, type, `Changed ${column} from ${from} to ${to}`, { change: column, from, to }));
  if (next.destinationUrl !== d.destinationUrl) change('destination_url', d.destinationUrl, next.destinationUrl);
  if (next.name !== d.name) change('name', d.name, next.name);
  if (next.active !== d.active) change('active', d.active, next.active);
  if (changes.length === 0) return { destination: d, errors: [] };
  try {
    await recordAuditEvents(c.env, c.ctx, changes, [updateDestinationStatement(c.env.DB, next)]);
  } catch (err) {
    if (isUniqueViolation(err)) return { destination: d, errors: ['Destination url or name has already been taken'] };
    throw err;
  }
  return { destination: await findDestination(c.env.DB, d.scope, d.id), errors: [] };
}

/** Delete a destination and what hangs off it, with its audit event, in one transaction. */
async function destroyDestination(c: GraphQLContext, owned: Owned): Promise<void> {
  const d = owned.destination;
  await recordAuditEvent(
    c.env,
    c.ctx,
    auditInput(c, owned, EVENT_TYPES[d.scope].destroy, `Destroy event streaming destination ${d.destinationUrl}`),
    deleteDestinationStatements(c.env.DB, d.id),
  );
}

/** GitLab's message for a destination's header limit. */
function headersLimitError(): string {
  return `Headers are limited to ${DESTINATION_LIMITS.headersPerDestination} per destination`;
}

/** Add a custom header to a destination. */
async function createHeader(c: GraphQLContext, owned: Owned, args: { key: string; value: string; active?: boolean | null }) {
  const d = owned.destination;
  const errors = headerErrors(args.key, args.value);
  if ((await countHeaders(c.env.DB, d.id)) >= DESTINATION_LIMITS.headersPerDestination) errors.push(headersLimitError());
  if (errors.length === 0 && (await findHeaderByKey(c.env.DB, d.id, args.key))) errors.push('Key has already been taken');
  if (errors.length) return { header: null, errors };
  try {
    const event = await recordAuditEventIfChanged(
      c.env,
      c.ctx,
      auditInput(c, owned, EVENT_TYPES[d.scope].headerCreate, `Created custom HTTP header with key ${args.key}.`),
      insertHeaderStatement(c.env.DB, { destinationId: d.id, key: args.key, value: args.value, active: args.active ?? true }, DESTINATION_LIMITS.headersPerDestination),
    );
    // Another create took the last place between the count above and the insert.
    if (!event) return { header: null, errors: [headersLimitError()] };
  } catch (err) {
    if (isUniqueViolation(err)) return { header: null, errors: ['Key has already been taken'] };
    throw err;
  }
  return { header: await findHeaderByKey(c.env.DB, d.id, args.key), errors: [] };
}

/** Change a custom header's key, value or active flag. */
async function updateHeader(
  c: GraphQLContext,
  owned: Owned & { header: StreamingHeader },
  args: { key?: string | null; value?: string | null; active?: boolean | null },
) {
  const h = owned.header;
  const next = { id: h.id, key: args.key ?? h.key, value: args.value ?? h.value, active: args.active ?? h.active };
  const errors = headerErrors(next.key, next.value);
  if (errors.length === 0 && next.key.toLowerCase() !== h.key.toLowerCase()) {
    const other = await findHeaderByKey(c.env.DB, h.destinationId, next.key);
    if (other && other.id !== h.id) errors.push('Key has already been taken');
  }
  if (errors.length) return { header: h, errors };
  if (next.key === h.key && next.value === h.value && next.active === h.active) return { header: h, errors: [] };
  const changed = [next.key !== h.key && 'key', next.value !== h.value && 'value', next.active !== h.active && 'active'].filter(Boolean);
  const message =
    next.key !== h.key
      ? `Updated a custom HTTP header from key ${h.key} to have a key ${next.key}.`
      : `Updated custom HTTP header with key ${h.key}.`;
  try {
    await recordAuditEvent(c.env, c.ctx, auditInput(c, owned, EVENT_TYPES[owned.destination.scope].headerUpdate, message, { changed_attributes: changed }), [
      updateHeaderStatement(c.env.DB, next),
    ]);
  } catch (err) {
    if (isUniqueViolation(err)) return { header: h, errors: ['Key has already been taken'] };
    throw err;
  }
  return { header: await findHeader(c.env.DB, h.id), errors: [] };
}

/** Remove a custom header. */
async function destroyHeader(c: GraphQLContext, owned: Owned & { header: StreamingHeader }): Promise<void> {
  await recordAuditEvent(
    c.env,
    c.ctx,
    auditInput(c, owned, EVENT_TYPES[owned.destination.scope].headerDestroy, `Destroyed a custom HTTP header with key ${owned.header.key}.`),
    [deleteHeaderStatement(c.env.DB, owned.header.id)],
  );
}

/** Add event type filters; GitLab answers with the destination's whole filter list. */
async function addEventTypeFilters(c: GraphQLContext, owned: Owned, filters: string[]) {
  if (filters.length === 0) throw new PublicError(EVENT_TYPE_FILTERS_MUST_BE_PRESENT);
  const d = owned.destination;
  const existing = await listEventTypeFilters(c.env.DB, d.id);
  const errors = eventTypeFilterErrors(filters, existing);
  if (errors.length) return { eventTypeFilters: existing, errors };
  try {
    await recordAuditEvent(
      c.env,
      c.ctx,
      auditInput(c, owned, 'event_type_filters_created', `Created audit event type filter(s): ${filters.join(', ')}`, { event_type_filters: filters }),
      insertEventTypeFilterStatements(c.env.DB, d.id, filters),
    );
  } catch (err) {
    if (isUniqueViolation(err)) return { eventTypeFilters: existing, errors: ['Audit event type has already been taken'] };
    throw err;
  }
  return { eventTypeFilters: await listEventTypeFilters(c.env.DB, d.id), errors: [] };
}

/** Remove event type filters; filters the destination does not have are reported, nothing removed. */
async function removeEventTypeFilters(c: GraphQLContext, owned: Owned, filters: string[]) {
  if (filters.length === 0) throw new PublicError(EVENT_TYPE_FILTERS_MUST_BE_PRESENT);
  const d = owned.destination;
  const existing = new Set(await listEventTypeFilters(c.env.DB, d.id));
  const unique = [...new Set(filters)];
  const missing = unique.filter((f) => !existing.has(f));
  if (missing.length) return { errors: [missingEventTypeFiltersError(missing)] };
  await recordAuditEvent(
    c.env,
    c.ctx,
    auditInput(c, owned, 'event_type_filters_deleted', `Deleted audit event type filter(s): ${unique.join(', ')}`, { event_type_filters: unique }),
    deleteEventTypeFilterStatements(c.env.DB, d.id, unique),
  );
  return { errors: [] };
}

/** Replace a signing secret; the previous one keeps signing for a while (Standard Webhooks rotation). */
async function rotateSigningSecret(c: GraphQLContext, owned: Owned): Promise<Destination | null> {
  const d = owned.destination;
  const expiresAt = new Date(Date.now() + DESTINATION_LIMITS.previousSecretValidityMs).toISOString();
  await recordAuditEvent(
    c.env,
    c.ctx,
    auditInput(c, owned, 'streaming_destination_signing_secret_rotated', `Rotated the signing secret of event streaming destination ${d.destinationUrl}`, {
      previous_secret_expires_at: expiresAt,
    }),
    [rotateSecretStatement(c.env.DB, d.id, generateSigningSecret(), expiresAt)],
  );
  return findDestination(c.env.DB, d.scope, d.id);
}

/** The group a destination may be created on, or GitLab's errors. */
async function groupForCreate(c: GraphQLContext, groupPath: string): Promise<{ group: Namespace; errors: string[] }> {
  const group = await findNamespaceByPath(c.env.DB, groupPath);
  if (!group || group.kind !== 'group') throw resourceNotAvailable();
  if (group.parentId !== null) {
    // An owner of a subgroup learns why; anyone else learns nothing.
    if (!(await can(c.env.DB, c.actor, 'admin_group_streaming_any_level', { kind: 'group', group }))) throw resourceNotAvailable();
    return { group, errors: ['Group must not be a subgroup'] };
  }
  if (!(await can(c.env.DB, c.actor, 'admin_group_streaming', { kind: 'group', group }))) throw resourceNotAvailable();
  return { group, errors: [] };
}

/** The namespace a namespace filter would restrict a destination to, with its scope path. */
async function namespaceForFilter(
  c: GraphQLContext,
  owned: Owned & { group: Namespace },
  groupPath: string | null | undefined,
  projectPath: string | null | undefined,
): Promise<{ kind: 'group' | 'project'; id: number; scopePath: string } | { error: string }> {
  const root = owned.group.id;
  if (groupPath) {
    const ns = await findNamespaceByPath(c.env.DB, groupPath);
    if (!ns || ns.kind !== 'group') throw resourceNotAvailable();
    if (ns.rootId !== root) {
      if (!(await can(c.env.DB, c.actor, 'read_group', { kind: 'group', group: ns }))) throw resourceNotAvailable();
      return { error: 'External audit event destination does not belong to the top-level group of the namespace.' };
    }
    return { kind: 'group', id: ns.id, scopePath: ns.traversalPath };
  }
  const project = await findProjectByPath(c.env.DB, projectPath ?? '');
  if (!project) throw resourceNotAvailable();
  if (project.namespace.kind !== 'group' || project.namespace.rootId !== root) {
    if (!(await can(c.env.DB, c.actor, 'read_project', { kind: 'project', project }))) throw resourceNotAvailable();
    return { error: 'External audit event destination does not belong to the top-level group of the namespace.' };
  }
  return { kind: 'project', id: project.id, scopePath: projectScopePath(project) };
}

/** The `Namespace` object a filter points at: a group, or a project as GitLab's project namespace. */
async function filterNamespace(c: GraphQLContext, f: NamespaceFilter) {
  if (f.namespaceKind === 'group') return findNamespaceById(c.env.DB, f.namespaceId);
  const p: Project | null = await findProjectById(c.env.DB, f.namespaceId);
  if (!p) return null;
  return { id: p.id, kind: 'project', name: p.name, path: p.path, fullPath: p.fullPath, visibility: p.visibility };
}

const connectionArgs = (a: ConnectionArgs): ConnectionArgs => ({ first: a.first, after: a.after, last: a.last, before: a.before });

const destinationFields = (model: string) => ({
  id: (d: Destination) => toGid(model, d.id),
  verificationToken: async (d: Destination, _a: unknown, c: GraphQLContext) => {
    if (!(await maySeeSecrets(c, d))) throw resourceNotAvailable();
    return d.verificationToken;
  },
  signingSecret: async (d: Destination, _a: unknown, c: GraphQLContext) => {
    if (!(await maySeeSecrets(c, d))) throw resourceNotAvailable();
    return d.signingSecret;
  },
  previousSigningSecretExpiresAt: (d: Destination) =>
    d.previousSecretExpiresAt && d.previousSecretExpiresAt > new Date().toISOString() ? d.previousSecretExpiresAt : null,
  headers: async (d: Destination, a: ConnectionArgs, c: GraphQLContext) =>
    connectionFromArray(await takePrefetched(memoOf(c).headers, d.id, () => listHeaders(c.env.DB, d.id)), connectionArgs(a)),
  eventTypeFilters: (d: Destination, _a: unknown, c: GraphQLContext) => takePrefetched(memoOf(c).filters, d.id, () => listEventTypeFilters(c.env.DB, d.id)),
});

export const destinations: SchemaModule = {
  typeDefs,
  resolvers: {
    Group: {
      externalAuditEventDestinations: async (group: Namespace, a: ConnectionArgs, c: GraphQLContext) => {
        if (!(await can(c.env.DB, c.actor, 'read_group_streaming', { kind: 'group', group }))) throw resourceNotAvailable();
        // The same check decides who sees the listed destinations' secrets (maySeeSecrets): answered.
        memoOf(c).secrets.set(secretsKey('group', group.id), Promise.resolve(true));
        return connectionFromArray(await listWithDetails(c, 'group', group.id), connectionArgs(a));
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
      ...destinationFields(GID_MODELS.destination),
      group: (d: Destination, _a: unknown, c: GraphQLContext) => findNamespaceById(c.env.DB, d.namespaceId ?? 0),
      namespaceFilter: (d: Destination, _a: unknown, c: GraphQLContext) => findNamespaceFilterOfDestination(c.env.DB, d.id),
    },
    InstanceExternalAuditEventDestination: destinationFields(GID_MODELS.instanceDestination),
    AuditEventStreamingHeader: { id: (h: StreamingHeader) => toGid(GID_MODELS.header, h.id) },
    AuditEventsStreamingInstanceHeader: { id: (h: StreamingHeader) => toGid(GID_MODELS.instanceHeader, h.id) },
    AuditEventStreamingHTTPNamespaceFilter: {
      id: (f: NamespaceFilter) => toGid(GID_MODELS.namespaceFilter, f.id),
      namespace: (f: NamespaceFilter, _a: unknown, c: GraphQLContext) => filterNamespace(c, f),
      externalAuditEventDestination: (f: NamespaceFilter, _a: unknown, c: GraphQLContext) => findDestination(c.env.DB, 'group', f.destinationId),
    },
    Mutation: {
      externalAuditEventDestinationCreate: async (
        _p: unknown,
        { input }: Input<{ destinationUrl: string; groupPath: string; name?: string | null; verificationToken?: string | null }>,
        c: GraphQLContext,
      ) => {
        const { group, errors } = await groupForCreate(c, input.groupPath);
        if (errors.length) return payload(input, { externalAuditEventDestination: null }, errors);
        const res = await createDestination(c, 'group', group, input);
        return payload(input, { externalAuditEventDestination: res.destination }, res.errors);
      },
      externalAuditEventDestinationUpdate: async (
        _p: unknown,
        { input }: Input<{ id: string; destinationUrl?: string | null; name?: string | null; active?: boolean | null }>,
        c: GraphQLContext,
      ) => {
        const owned = await loadGroupDestination(c, input.id);
        const res = await updateDestination(c, owned, input);
        return payload(input, { externalAuditEventDestination: res.destination }, res.errors);
      },
      externalAuditEventDestinationDestroy: async (_p: unknown, { input }: Input<{ id: string }>, c: GraphQLContext) => {
        await destroyDestination(c, await loadGroupDestination(c, input.id));
        return payload(input, {});
      },
      auditEventsStreamingHeadersCreate: async (
        _p: unknown,
        { input }: Input<{ destinationId: string; key: string; value: string; active?: boolean | null }>,
        c: GraphQLContext,
      ) => {
        const res = await createHeader(c, await loadGroupDestination(c, input.destinationId), input);
        return payload(input, { header: res.header }, res.errors);
      },
      auditEventsStreamingHeadersUpdate: async (
        _p: unknown,
        { input }: Input<{ headerId: string; key?: string | null; value?: string | null; active?: boolean | null }>,
        c: GraphQLContext,
      ) => {
        const res = await updateHeader(c, await loadHeader(c, input.headerId, 'group'), input);
        return payload(input, { header: res.header }, res.errors);
      },
      auditEventsStreamingHeadersDestroy: async (_p: unknown, { input }: Input<{ headerId: string }>, c: GraphQLContext) => {
        await destroyHeader(c, await loadHeader(c, input.headerId, 'group'));
        return payload(input, {});
      },
      auditEventsStreamingDestinationEventsAdd: async (
        _p: unknown,
        { input }: Input<{ destinationId: string; eventTypeFilters: string[] }>,
        c: GraphQLContext,
      ) => {
        const res = await addEventTypeFilters(c, await loadGroupDestination(c, input.destinationId), input.eventTypeFilters);
        return payload(input, { eventTypeFilters: res.eventTypeFilters }, res.errors);
      },
      auditEventsStreamingDestinationEventsRemove: async (
        _p: unknown,
        { input }: Input<{ destinationId: string; eventTypeFilters: string[] }>,
        c: GraphQLContext,
      ) => {
        const res = await removeEventTypeFilters(c, await loadGroupDestination(c, input.destinationId), input.eventTypeFilters);
        return payload(input, {}, res.errors);
      },
      auditEventsStreamingHttpNamespaceFiltersAdd: async (
        _p: unknown,
        { input }: Input<{ destinationId: string; groupPath?: string | null; projectPath?: string | null }>,
        c: GraphQLContext,
      ) => {
        // GitLab: validates exactly_one_of: [:group_path, :project_path].
        if (!input.groupPath === !input.projectPath) {
          throw new PublicError('One and only one of [groupPath, projectPath] arguments is required.');
        }
        const owned = await loadGroupDestination(c, input.destinationId);
        const target = await namespaceForFilter(c, owned, input.groupPath, input.projectPath);
        if ('error' in target) return payload(input, { namespaceFilter: null }, [target.error]);
        const errors: string[] = [];
        if (await findNamespaceFilterOfDestination(c.env.DB, owned.destination.id)) errors.push('External audit event destination has already been taken');
        if (await namespaceFilterExistsFor(c.env.DB, target.kind, target.id)) errors.push('Namespace has already been taken');
        if (errors.length) return payload(input, { namespaceFilter: null }, errors);
        const path = input.groupPath ?? input.projectPath;
        try {
          await recordAuditEvent(
            c.env,
            c.ctx,
            auditInput(c, owned, 'created_namespace_filter', `Create namespace filter for http audit event streaming destination ${owned.destination.name} and namespace ${path}`),
            [insertNamespaceFilterStatement(c.env.DB, { destinationId: owned.destination.id, namespaceKind: target.kind, namespaceId: target.id, scopePath: target.scopePath })],
          );
        } catch (err) {
          if (isUniqueViolation(err)) return payload(input, { namespaceFilter: null }, ['Namespace has already been taken']);
          throw err;
        }
        return payload(input, { namespaceFilter: await findNamespaceFilterOfDestination(c.env.DB, owned.destination.id) });
      },
      auditEventsStreamingHttpNamespaceFiltersDelete: async (_p: unknown, { input }: Input<{ namespaceFilterId: string }>, c: GraphQLContext) => {
        const id = parseGid(input.namespaceFilterId, GID_MODELS.namespaceFilter);
        const filter = id === null ? null : await findNamespaceFilter(c.env.DB, id);
        if (!filter) throw resourceNotAvailable();
        const owned = await loadGroupDestination(c, toGid(GID_MODELS.destination, filter.destinationId));
        await recordAuditEvent(
          c.env,
          c.ctx,
          auditInput(c, owned, 'deleted_namespace_filter', `Delete namespace filter for http audit event streaming destination ${owned.destination.name}`),
          [deleteNamespaceFilterStatement(c.env.DB, filter.id)],
        );
        return payload(input, { namespaceFilter: null });
      },
      auditEventsStreamingDestinationSigningSecretRotate: async (_p: unknown, { input }: Input<{ destinationId: string }>, c: GraphQLContext) => {
        const destination = await rotateSigningSecret(c, await loadGroupDestination(c, input.destinationId));
        return payload(input, { externalAuditEventDestination: destination });
      },
      instanceExternalAuditEventDestinationCreate: async (
        _p: unknown,
        { input }: Input<{ destinationUrl: string; name?: string | null }>,
        c: GraphQLContext,
      ) => {
        if (!(await can(c.env.DB, c.actor, 'admin_instance_streaming'))) throw resourceNotAvailable();
        const res = await createDestination(c, 'instance', null, { destinationUrl: input.destinationUrl, name: input.name });
        return payload(input, { instanceExternalAuditEventDestination: res.destination }, res.errors);
      },
      instanceExternalAuditEventDestinationUpdate: async (
        _p: unknown,
        { input }: Input<{ id: string; destinationUrl?: string | null; name?: string | null; active?: boolean | null }>,
        c: GraphQLContext,
      ) => {
        const res = await updateDestination(c, await loadInstanceDestination(c, input.id), input);
        return payload(input, { instanceExternalAuditEventDestination: res.destination }, res.errors);
      },
      instanceExternalAuditEventDestinationDestroy: async (_p: unknown, { input }: Input<{ id: string }>, c: GraphQLContext) => {
        await destroyDestination(c, await loadInstanceDestination(c, input.id));
        return payload(input, {});
      },
      auditEventsStreamingInstanceHeadersCreate: async (
        _p: unknown,
        { input }: Input<{ destinationId: string; key: string; value: string; active?: boolean | null }>,
        c: GraphQLContext,
      ) => {
        const res = await createHeader(c, await loadInstanceDestination(c, input.destinationId), input);
        return payload(input, { header: res.header }, res.errors);
      },
      auditEventsStreamingInstanceHeadersUpdate: async (
        _p: unknown,
        { input }: Input<{ headerId: string; key?: string | null; value?: string | null; active?: boolean | null }>,
        c: GraphQLContext,
      ) => {
        const res = await updateHeader(c, await loadHeader(c, input.headerId, 'instance'), input);
        return payload(input, { header: res.header }, res.errors);
      },
      auditEventsStreamingInstanceHeadersDestroy: async (_p: unknown, { input }: Input<{ headerId: string }>, c: GraphQLContext) => {
        await destroyHeader(c, await loadHeader(c, input.headerId, 'instance'));
        return payload(input, {});
      },
      auditEventsStreamingDestinationInstanceEventsAdd: async (
        _p: unknown,
        { input }: Input<{ destinationId: string; eventTypeFilters: string[] }>,
        c: GraphQLContext,
      ) => {
        const res = await addEventTypeFilters(c, await loadInstanceDestination(c, input.destinationId), input.eventTypeFilters);
        return payload(input, { eventTypeFilters: res.eventTypeFilters }, res.errors);
      },
      auditEventsStreamingDestinationInstanceEventsRemove: async (
        _p: unknown,
        { input }: Input<{ destinationId: string; eventTypeFilters: string[] }>,
        c: GraphQLContext,
      ) => {
        const res = await removeEventTypeFilters(c, await loadInstanceDestination(c, input.destinationId), input.eventTypeFilters);
        return payload(input, {}, res.errors);
      },
      auditEventsStreamingDestinationInstanceSigningSecretRotate: async (_p: unknown, { input }: Input<{ destinationId: string }>, c: GraphQLContext) => {
        const destination = await rotateSigningSecret(c, await loadInstanceDestination(c, input.destinationId));
        return payload(input, { instanceExternalAuditEventDestination: destination });
      },
    },
  },
};
