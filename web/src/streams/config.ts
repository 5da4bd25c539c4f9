/** The GraphQL operations of the Streams tab, for a group's destinations and for the instance's (GitLab's names). */
import type { Destination, StreamingDestination } from '../types';

export const HEADER_LIMIT = 20;
export const HEADER_LIMIT_MESSAGE = 'Headers are limited to 20 per destination';

export const DEST_FIELDS =
  'id name destinationUrl verificationToken signingSecret active eventTypeFilters headers { nodes { id key value active } }';

/** The consolidated API's fields of a destination of any category, with its health (ours). */
export const STREAMING_FIELDS =
  'id name category config secretToken active eventTypeFilters namespaceFilters { id namespace { fullPath } } health { lastSuccessAt lastFailureAt lastFailureReason consecutiveFailures breakerOpenUntil pending deadLettered }';

/** GitLab 18's consolidated mutations of a scope (every category). */
export interface ConsolidatedOps {
  create: string;
  update: string;
  destroy: string;
  eventsAdd: string;
  eventsRemove: string;
  namespaceFilterCreate: string;
  namespaceFilterDelete: string;
}

export interface StreamsConfig {
  /** Every destination through the consolidated list, and the http ones through the legacy list (secrets, headers). */
  list: string;
  /** The key of the consolidated list in a query's data (the scope's field under group, or of Query). */
  streamingKey: string;
  /** The consolidated destinations in a list (or deliveries) query's data; null when the group is not there. */
  nodes: <T = StreamingDestination>(data: Record<string, unknown>) => T[] | null;
  /** The legacy (http) destinations in the list query's data. */
  legacyNodes: (data: Record<string, unknown>) => Destination[];
  cons: ConsolidatedOps;
  /** The consolidated GID of a destination row (a legacy GID's number names the same row). */
  consolidatedGid: (rowId: string) => string;
  create: string;
  update: string;
  destroy: string;
  result: string;
  headerCreate: string;
  headerUpdate: string;
  headerDestroy: string;
  eventsAdd: string;
  eventsRemove: string;
  rotate: string;
  withTokenField: boolean;
}

/** The nodes of the connection `key`, under `group` when it is set (null when that is missing). */
function nodesAt(key: string, underGroup: boolean) {
  return <T>(data: Record<string, unknown>): T[] | null => {
    const owner = underGroup ? (data.group as Record<string, unknown> | null) : data;
    const connection = owner ? (owner[key] as { nodes: T[] } | null | undefined) : null;
    return connection ? connection.nodes : null;
  };
}

function consolidatedOps(scope: 'group' | 'instance'): ConsolidatedOps {
  const cap = scope === 'group' ? 'Group' : 'Instance';
  return {
    create: `${scope}AuditEventStreamingDestinationsCreate`,
    update: `${scope}AuditEventStreamingDestinationsUpdate`,
    destroy: `${scope}AuditEventStreamingDestinationsDelete`,
    eventsAdd: `auditEvents${cap}DestinationEventsAdd`,
    eventsRemove: `auditEvents${cap}DestinationEventsDelete`,
    namespaceFilterCreate: `auditEvents${cap}DestinationNamespaceFilterCreate`,
    namespaceFilterDelete: `auditEvents${cap}DestinationNamespaceFilterDelete`,
  };
}

/** The row id a GID names: legacy and consolidated GIDs of one destination share it. */
export const rowIdOf = (gid: string): string => gid.slice(gid.lastIndexOf('/') + 1);

export const STREAMS: Record<'group' | 'instance', StreamsConfig> = {
  group: {
    list: `query ($fullPath: ID!) { group(fullPath: $fullPath) { id externalAuditEventStreamingDestinations(first: 100) { nodes { ${STREAMING_FIELDS} } } externalAuditEventDestinations(first: 100) { nodes { ${DEST_FIELDS} } } } }`,
    streamingKey: 'externalAuditEventStreamingDestinations',
    nodes: nodesAt('externalAuditEventStreamingDestinations', true),
    legacyNodes: (data) => nodesAt('externalAuditEventDestinations', true)<Destination>(data) || [],
    cons: consolidatedOps('group'),
    consolidatedGid: (rowId) => `gid://gitlab/AuditEvents::Group::ExternalStreamingDestination/${rowId}`,
    create: 'externalAuditEventDestinationCreate',
    update: 'externalAuditEventDestinationUpdate',
    destroy: 'externalAuditEventDestinationDestroy',
    result: 'externalAuditEventDestination',
    headerCreate: 'auditEventsStreamingHeadersCreate',
    headerUpdate: 'auditEventsStreamingHeadersUpdate',
    headerDestroy: 'auditEventsStreamingHeadersDestroy',
    eventsAdd: 'auditEventsStreamingDestinationEventsAdd',
    eventsRemove: 'auditEventsStreamingDestinationEventsRemove',
    rotate: 'auditEventsStreamingDestinationSigningSecretRotate',
    withTokenField: true,
  },
  instance: {
    list: `query { auditEventsInstanceStreamingDestinations(first: 100) { nodes { ${STREAMING_FIELDS} } } instanceExternalAuditEventDestinations(first: 100) { nodes { ${DEST_FIELDS} } } }`,
    streamingKey: 'auditEventsInstanceStreamingDestinations',
    nodes: nodesAt('auditEventsInstanceStreamingDestinations', false),
    legacyNodes: (data) => nodesAt('instanceExternalAuditEventDestinations', false)<Destination>(data) || [],
    cons: consolidatedOps('instance'),
    consolidatedGid: (rowId) => `gid://gitlab/AuditEvents::Instance::ExternalStreamingDestination/${rowId}`,
    create: 'instanceExternalAuditEventDestinationCreate',
    update: 'instanceExternalAuditEventDestinationUpdate',
    destroy: 'instanceExternalAuditEventDestinationDestroy',
    result: 'instanceExternalAuditEventDestination',
    headerCreate: 'auditEventsStreamingInstanceHeadersCreate',
    headerUpdate: 'auditEventsStreamingInstanceHeadersUpdate',
    headerDestroy: 'auditEventsStreamingInstanceHeadersDestroy',
    eventsAdd: 'auditEventsStreamingDestinationInstanceEventsAdd',
    eventsRemove: 'auditEventsStreamingDestinationInstanceEventsRemove',
    rotate: 'auditEventsStreamingDestinationInstanceSigningSecretRotate',
    withTokenField: false,
  },
};

export const REDELIVER = 'auditEventsStreamingDeliveryRedeliver';
export const SEND_TEST_EVENT = 'auditEventsStreamingDestinationSendTestEvent';
