/**
 * SDL of the streaming destination types (GitLab's names, descriptions and ID scalars): group and
 * instance destinations, their headers and namespace filters, connections, and the
 * `Group.externalAuditEventDestinations` / `Query.instanceExternalAuditEventDestinations` lists.
 */
import { connectionTypes } from '../connection';
import { DESTINATION_MODELS } from '../../destinations/audit';
import { CONNECTION_ARGS } from './common';

/** An ID scalar of GitLab's, with its description. */
export const gidScalar = (name: string, model: string) =>
  `"A \`${name}\` is a global ID. It is encoded as a string, for example \`gid://gitlab/${model}/1\`."\nscalar ${name}\n`;

/** Fields group and instance destinations share (in GitLab's order, around their own). */
const DESTINATION_FIELDS = `
  "ID of the destination."
  id: ID!
  "Name of the external destination to send audit events to."
  name: String!
  "External destination to send audit events to."
  destinationUrl: String!
  "Verification token to validate source of event."
  verificationToken: String!
  "Active status of the destination."
  active: Boolean!`;
const EVENT_TYPE_FILTERS_FIELD = `
  "List of event type filters added for streaming."
  eventTypeFilters: [String!]!`;
const SIGNING_SECRET_FIELDS = `
  "Standard Webhooks signing secret (whsec_...) of every delivery's webhook-signature header. Not in GitLab."
  signingSecret: String!
  "Until when the previous signing secret still signs deliveries, after a rotation. Not in GitLab."
  previousSigningSecretExpiresAt: Time`;
/** The fields of group and instance headers. */
const HEADER_FIELDS = `
  "ID of the header."
  id: ID!
  "Key of the header."
  key: String!
  "Value of the header."
  value: String!
  "Header is active or not."
  active: Boolean!`;

export const destinationTypeDefs = /* GraphQL */ `
${gidScalar('AuditEventsExternalAuditEventDestinationID', DESTINATION_MODELS.destination)}
${gidScalar('AuditEventsInstanceExternalAuditEventDestinationID', DESTINATION_MODELS.instanceDestination)}
${gidScalar('AuditEventsStreamingHeaderID', DESTINATION_MODELS.header)}
${gidScalar('AuditEventsStreamingInstanceHeaderID', DESTINATION_MODELS.instanceHeader)}
${gidScalar('AuditEventsStreamingHTTPNamespaceFilterID', DESTINATION_MODELS.namespaceFilter)}

"Represents an external resource to send audit events to"
type ExternalAuditEventDestination {
${DESTINATION_FIELDS}  "Group the destination belongs to."
  group: Group!
  "List of additional HTTP headers sent with each event."
  headers(${CONNECTION_ARGS}
  ): AuditEventStreamingHeaderConnection!
${EVENT_TYPE_FILTERS_FIELD}  "List of subgroup or project filters for the destination."
  namespaceFilter: AuditEventStreamingHTTPNamespaceFilter
${SIGNING_SECRET_FIELDS}}

"Represents an external resource to send instance audit events to"
type InstanceExternalAuditEventDestination {
${DESTINATION_FIELDS}  "List of additional HTTP headers sent with each event."
  headers(${CONNECTION_ARGS}
  ): AuditEventsStreamingInstanceHeaderConnection!
${EVENT_TYPE_FILTERS_FIELD}${SIGNING_SECRET_FIELDS}}

"Represents a HTTP header key/value that belongs to an audit streaming destination."
type AuditEventStreamingHeader {
${HEADER_FIELDS}}

"Represents a HTTP header key/value that belongs to an instance level audit streaming destination."
type AuditEventsStreamingInstanceHeader {
${HEADER_FIELDS}}

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

`;
