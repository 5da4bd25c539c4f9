/** The GraphQL operations of the Streams tab, for a group's destinations and for the instance's (GitLab's names). */
import type { Destination } from '../types';

export const HEADER_LIMIT = 20;
export const HEADER_LIMIT_MESSAGE = 'Headers are limited to 20 per destination';

export const DEST_FIELDS =
  'id name destinationUrl verificationToken signingSecret active eventTypeFilters headers { nodes { id key value active } }';

export interface StreamsConfig {
  list: string;
  /** The destinations in a list (or deliveries) query's data; null when the group is not there. */
  nodes: <T = Destination>(data: Record<string, unknown>) => T[] | null;
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

function nodesAt(key: string) {
  return <T>(data: Record<string, unknown>): T[] | null => {
    const connection = data[key] as { nodes: T[] } | null | undefined;
    return connection ? connection.nodes : null;
  };
}

export const STREAMS: Record<'group' | 'instance', StreamsConfig> = {
  group: {
    list: `query ($fullPath: ID!) { group(fullPath: $fullPath) { id externalAuditEventDestinations { nodes { ${DEST_FIELDS} } } } }`,
    nodes: <T>(data: Record<string, unknown>) => {
      const group = data.group as { externalAuditEventDestinations: { nodes: T[] } } | null;
      return group ? group.externalAuditEventDestinations.nodes : null;
    },
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
    list: `query { instanceExternalAuditEventDestinations { nodes { ${DEST_FIELDS} } } }`,
    nodes: nodesAt('instanceExternalAuditEventDestinations'),
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
