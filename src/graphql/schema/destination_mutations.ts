/**
 * SDL of the streaming destination mutations, with GitLab's input and payload names: group
 * destinations, headers, event type filters, namespace filters, their instance counterparts, and
 * (ours) the signing secret rotations.
 */
import { INPUT_COMMON, mutationFields, PAYLOAD_COMMON } from './common';

/** Input fields group and instance mutations share. */
const DESTINATION_UPDATE_FIELDS = `
  "Destination URL to change."
  destinationUrl: String
  "Destination name."
  name: String
  "Active status of the destination."
  active: Boolean`;
const HEADER_CREATE_FIELDS = `
  "Header key."
  key: String!
  "Header value."
  value: String!`;
const HEADER_UPDATE_FIELDS = `
  "Header key."
  key: String
  "Header value."
  value: String
  "Boolean option determining whether header is active or not."
  active: Boolean`;
/** Ours (issue 15): filters set in the create's own transaction, so its creation event is filtered too. */
const CREATE_EVENT_TYPE_FILTERS = `  "Event type filters to set with the destination, in the same transaction: a filtered destination never receives an event outside them, its own creation event included. Validated as in auditEventsStreamingDestinationEventsAdd. Not in GitLab."
  eventTypeFilters: [String!]
`;
const HEADER_ACTIVE_DEFAULT = `
  "Boolean option determining whether header is active or not."
  active: Boolean = true`;

export const destinationMutationTypeDefs = /* GraphQL */ `
input ExternalAuditEventDestinationCreateInput {${INPUT_COMMON}
  "Destination URL."
  destinationUrl: String!
  "Destination name."
  name: String
  "Group path."
  groupPath: ID!
  "Verification token."
  verificationToken: String
${CREATE_EVENT_TYPE_FILTERS}}
type ExternalAuditEventDestinationCreatePayload {${PAYLOAD_COMMON}
  "Destination created."
  externalAuditEventDestination: ExternalAuditEventDestination
}

input ExternalAuditEventDestinationUpdateInput {${INPUT_COMMON}
  "ID of external audit event destination to update."
  id: AuditEventsExternalAuditEventDestinationID!
${DESTINATION_UPDATE_FIELDS}}
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
${HEADER_CREATE_FIELDS}  "Destination to associate header with."
  destinationId: AuditEventsExternalAuditEventDestinationID!
${HEADER_ACTIVE_DEFAULT}}
type AuditEventsStreamingHeadersCreatePayload {${PAYLOAD_COMMON}
  "Created header."
  header: AuditEventStreamingHeader
}

input AuditEventsStreamingHeadersUpdateInput {${INPUT_COMMON}
  "Header to update."
  headerId: AuditEventsStreamingHeaderID!
${HEADER_UPDATE_FIELDS}}
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
${CREATE_EVENT_TYPE_FILTERS}}
type InstanceExternalAuditEventDestinationCreatePayload {${PAYLOAD_COMMON}
  "Destination created."
  instanceExternalAuditEventDestination: InstanceExternalAuditEventDestination
}

input InstanceExternalAuditEventDestinationUpdateInput {${INPUT_COMMON}
  "ID of the external instance audit event destination to update."
  id: AuditEventsInstanceExternalAuditEventDestinationID!
${DESTINATION_UPDATE_FIELDS}}
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
${HEADER_CREATE_FIELDS}  "Instance level external destination to associate header with."
  destinationId: AuditEventsInstanceExternalAuditEventDestinationID!
${HEADER_ACTIVE_DEFAULT}}
type AuditEventsStreamingInstanceHeadersCreatePayload {${PAYLOAD_COMMON}
  "Created header."
  header: AuditEventsStreamingInstanceHeader
}

input AuditEventsStreamingInstanceHeadersUpdateInput {${INPUT_COMMON}
  "Header to update."
  headerId: AuditEventsStreamingInstanceHeaderID!
${HEADER_UPDATE_FIELDS}}
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

${mutationFields([
  'ExternalAuditEventDestinationCreate',
  'ExternalAuditEventDestinationUpdate',
  'ExternalAuditEventDestinationDestroy',
  'AuditEventsStreamingHeadersCreate',
  'AuditEventsStreamingHeadersUpdate',
  'AuditEventsStreamingHeadersDestroy',
  'AuditEventsStreamingDestinationEventsAdd',
  'AuditEventsStreamingDestinationEventsRemove',
  'AuditEventsStreamingHTTPNamespaceFiltersAdd',
  'AuditEventsStreamingHTTPNamespaceFiltersDelete',
  [
    'AuditEventsStreamingDestinationSigningSecretRotate',
    "Replace a group destination's signing secret; the previous one keeps signing for 24 hours. Not in GitLab.",
  ],
  'InstanceExternalAuditEventDestinationCreate',
  'InstanceExternalAuditEventDestinationUpdate',
  'InstanceExternalAuditEventDestinationDestroy',
  'AuditEventsStreamingInstanceHeadersCreate',
  'AuditEventsStreamingInstanceHeadersUpdate',
  'AuditEventsStreamingInstanceHeadersDestroy',
  'AuditEventsStreamingDestinationInstanceEventsAdd',
  'AuditEventsStreamingDestinationInstanceEventsRemove',
  [
    'AuditEventsStreamingDestinationInstanceSigningSecretRotate',
    "Replace an instance destination's signing secret; the previous one keeps signing for 24 hours. Not in GitLab.",
  ],
])}`;
