/**
 * A streaming destination named by the GID of any of its four models: the legacy ones
 * (ExternalAuditEventDestination, InstanceExternalAuditEventDestination) or GitLab 18's
 * consolidated ones (AuditEvents::Group::ExternalStreamingDestination,
 * AuditEvents::Instance::ExternalStreamingDestination). Both name the same row; a legacy GID
 * names http destinations only (the legacy API shows no other category), a consolidated one
 * any category.
 */
import { parseGid } from './gid';
import type { DestinationScope } from '../db/destinations';
import { DESTINATION_MODELS } from '../destinations/audit';
import { STREAMING_MODELS } from '../destinations/streaming';

const MODELS: [string, DestinationScope, boolean][] = [
  [DESTINATION_MODELS.destination, 'group', false],
  [STREAMING_MODELS.group, 'group', true],
  [DESTINATION_MODELS.instanceDestination, 'instance', false],
  [STREAMING_MODELS.instance, 'instance', true],
];

/** The scope, row id and whether any category may be named (consolidated GIDs), or null. */
export function parseDestinationGid(gid: unknown): { scope: DestinationScope; id: number; anyCategory: boolean } | null {
  for (const [model, scope, anyCategory] of MODELS) {
    const id = parseGid(gid, model);
    if (id !== null) return { scope, id, anyCategory };
  }
  return null;
}
