/**
 * SDL of GitLab 18's consolidated streaming API (GitLab's names, descriptions and ID scalars):
 * group and instance destinations of every category with their namespace filters, the
 * `Group.externalAuditEventStreamingDestinations` and `Query.auditEventsInstanceStreamingDestinations`
 * lists, and the create, update, delete, event type filter and namespace filter mutations.
 */
import { connectionTypes } from '../connection';
import { STREAMING_MODELS } from '../../destinations/streaming';
import { CONNECTION_ARGS, INPUT_COMMON, mutationFields, PAYLOAD_COMMON } from './common';
import { gidScalar } from './destination_types';

/** GitLab's AuditEventStreamingDestinationInterface. */
const INTERFACE_FIELDS = `
  "ID of the destination."
  id: ID!
  "Name of the external destination to send audit events to."
  name: String!
  "Category of the external destination to send audit events to."
  category: String!
  "Config of the external destination."
  config: JSON!
  "List of event type filters added for streaming."
  eventTypeFilters: [String!]!
  "Secret token for the destination, will be non-empty value only for http category."
  secretToken: String!
  "Active status of the destination."
  active: Boolean!
`;

const NAMESPACE_FILTER_FIELDS = `
  "ID of the filter."
  id: ID!
  "Group or project namespace the filter belongs to."
  namespace: Namespace!
`;

/** Create, update, delete, events add/delete and namespace filter create/delete of one scope. */
function scopeMutations(scope: 'Group' | 'Instance', destinationId: string, filterId: string, owner: string): string {
  const payload = (field: string, type: string, description: string) => `${PAYLOAD_COMMON}\n  ${JSON.stringify(description)}\n  ${field}: ${type}\n`;
  const destination = `${scope}AuditEventStreamingDestination`;
  return `
input ${scope}AuditEventStreamingDestinationsCreateInput {${INPUT_COMMON}
  "Destination config."
  config: JSON!
  "Destination name."
  name: String
  "Destination category."
  category: String!
${owner}  "Secret token."
  secretToken: String
  "Event type filters, written with the destination so that it never receives an event outside them (its own creation event included). Ours; not in GitLab, which adds them afterwards."
  eventTypeFilters: [String!]
}
type ${scope}AuditEventStreamingDestinationsCreatePayload {${payload('externalAuditEventDestination', destination, 'Destination created.')}}

input ${scope}AuditEventStreamingDestinationsUpdateInput {${INPUT_COMMON}
  "ID of external audit event destination to update."
  id: ${destinationId}!
  "Destination config."
  config: JSON
  "Destination name."
  name: String
  "Destination category."
  category: String
  "Secret token."
  secretToken: String
  "Active status of the destination."
  active: Boolean
}
type ${scope}AuditEventStreamingDestinationsUpdatePayload {${payload('externalAuditEventDestination', destination, 'Updated destination.')}}

input ${scope}AuditEventStreamingDestinationsDeleteInput {${INPUT_COMMON}
  "ID of the audit events external streaming destination to delete."
  id: ${destinationId}!
}
type ${scope}AuditEventStreamingDestinationsDeletePayload {${PAYLOAD_COMMON}
}

input AuditEvents${scope}DestinationEventsAddInput {${INPUT_COMMON}
  "List of event type filters to add for streaming."
  eventTypeFilters: [String!]!
  "Destination id."
  destinationId: ${destinationId}!
}
type AuditEvents${scope}DestinationEventsAddPayload {${payload('eventTypeFilters', '[String!]', 'List of event type filters for the audit event external destination.')}}

input AuditEvents${scope}DestinationEventsDeleteInput {${INPUT_COMMON}
  "List of event type filters to remove from streaming."
  eventTypeFilters: [String!]!
  "Destination id."
  destinationId: ${destinationId}!
}
type AuditEvents${scope}DestinationEventsDeletePayload {${PAYLOAD_COMMON}
}

input AuditEvents${scope}DestinationNamespaceFilterCreateInput {${INPUT_COMMON}
  "Destination ID."
  destinationId: ${destinationId}!
  "Full path of the namespace(only project or group)."
  namespacePath: String
}
type AuditEvents${scope}DestinationNamespaceFilterCreatePayload {${payload('namespaceFilter', `${scope}AuditEventNamespaceFilter`, 'Namespace filter created.')}}

input AuditEvents${scope}DestinationNamespaceFilterDeleteInput {${INPUT_COMMON}
  "Namespace filter ID."
  namespaceFilterId: ${filterId}!
}
type AuditEvents${scope}DestinationNamespaceFilterDeletePayload {${PAYLOAD_COMMON}
}

${mutationFields([
  `${scope}AuditEventStreamingDestinationsCreate`,
  `${scope}AuditEventStreamingDestinationsUpdate`,
  `${scope}AuditEventStreamingDestinationsDelete`,
  `AuditEvents${scope}DestinationEventsAdd`,
  `AuditEvents${scope}DestinationEventsDelete`,
  `AuditEvents${scope}DestinationNamespaceFilterCreate`,
  `AuditEvents${scope}DestinationNamespaceFilterDelete`,
])}`;
}

export const streamingDestinationTypeDefs = /* GraphQL */ `
${gidScalar('AuditEventsGroupExternalStreamingDestinationID', STREAMING_MODELS.group)}
${gidScalar('AuditEventsInstanceExternalStreamingDestinationID', STREAMING_MODELS.instance)}
${gidScalar('AuditEventsGroupNamespaceFilterID', STREAMING_MODELS.groupNamespaceFilter)}
${gidScalar('AuditEventsInstanceNamespaceFilterID', STREAMING_MODELS.instanceNamespaceFilter)}

interface AuditEventStreamingDestinationInterface {${INTERFACE_FIELDS}}

"Represents an external destination to stream group level audit events."
type GroupAuditEventStreamingDestination implements AuditEventStreamingDestinationInterface {${INTERFACE_FIELDS}  "Group to which the destination belongs."
  group: Group!
  "List of subgroup or project filters for the destination."
  namespaceFilters: [GroupAuditEventNamespaceFilter!]
}

"Represents an external destination to stream instance level audit events."
type InstanceAuditEventStreamingDestination implements AuditEventStreamingDestinationInterface {${INTERFACE_FIELDS}  "List of subgroup or project filters for the destination."
  namespaceFilters: [InstanceAuditEventNamespaceFilter!]
}

"Represents a subgroup or project filter that belongs to a group level external audit event streaming destination."
type GroupAuditEventNamespaceFilter {${NAMESPACE_FILTER_FIELDS}  "Destination to which the filter belongs."
  externalStreamingDestination: GroupAuditEventStreamingDestination!
}

"Represents a subgroup or project filter that belongs to an instance level external audit event streaming destination."
type InstanceAuditEventNamespaceFilter {${NAMESPACE_FILTER_FIELDS}  "Destination to which the filter belongs."
  externalStreamingDestination: InstanceAuditEventStreamingDestination!
}

${connectionTypes('GroupAuditEventStreamingDestination')}
${connectionTypes('InstanceAuditEventStreamingDestination')}

extend type Group {
  "External destinations that receive audit events belonging to the group."
  externalAuditEventStreamingDestinations(${CONNECTION_ARGS}
  ): GroupAuditEventStreamingDestinationConnection
}

extend type Query {
  "Instance-level external audit event streaming destinations."
  auditEventsInstanceStreamingDestinations(${CONNECTION_ARGS}
  ): InstanceAuditEventStreamingDestinationConnection
}
${scopeMutations('Group', 'AuditEventsGroupExternalStreamingDestinationID', 'AuditEventsGroupNamespaceFilterID', '  "Group path."\n  groupPath: ID!\n')}
${scopeMutations('Instance', 'AuditEventsInstanceExternalStreamingDestinationID', 'AuditEventsInstanceNamespaceFilterID', '')}
`;
