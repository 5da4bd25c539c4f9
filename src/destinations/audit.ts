/**
 * The audit events of destination changes: GitLab's event types, and one event shape (on the
 * destination's group, or the instance, targeting the destination by name). Only names, URLs,
 * header keys and filter names go into details; tokens, secrets and header values never do.
 */
import type { Actor } from '../auth/authenticate';
import { authorOf, groupEntity, instanceEntity, type AuditEventInput } from '../audit/record';
import type { Namespace } from '../db/namespaces';
import type { Destination } from '../db/destinations';
import type { Sql } from '../db/sql';
import type { Env } from '../env';

/** GitLab's model names (audit event target types, and GraphQL GIDs). */
export const DESTINATION_MODELS = {
  destination: 'AuditEvents::ExternalAuditEventDestination',
  instanceDestination: 'AuditEvents::InstanceExternalAuditEventDestination',
  header: 'AuditEvents::Streaming::Header',
  instanceHeader: 'AuditEvents::Streaming::InstanceHeader',
  namespaceFilter: 'AuditEvents::Streaming::HTTP::NamespaceFilter',
} as const;

/** Who changes a destination, and from where (for the audit event). */
export interface ChangeContext {
  env: Env;
  ctx: Pick<ExecutionContext, 'waitUntil'> | null;
  actor: Actor | null;
  ip: string | null;
}

/** GitLab's event types of destination and header changes, per scope. */
export const EVENT_TYPES = {
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

/** An audit event about a destination, on its group (or the instance). */
export function destinationEvent(
  c: ChangeContext,
  owned: { destination: Pick<Destination, 'scope' | 'name'> & { id: Sql<number> }; group: Namespace | null },
  eventType: string,
  customMessage: string,
  extra: Record<string, unknown> = {},
): AuditEventInput {
  const d = owned.destination;
  return {
    eventType,
    author: authorOf(c.actor?.user),
    entity: owned.group ? groupEntity(owned.group) : instanceEntity(),
    target: { id: d.id, type: d.scope === 'group' ? DESTINATION_MODELS.destination : DESTINATION_MODELS.instanceDestination, details: d.name },
    ipAddress: c.ip,
    details: { custom_message: customMessage, ...extra },
  };
}
