/** Helpers for the tests of GitLab 18's consolidated streaming API. */
import { expect } from 'vitest';
import { gql } from '../support/api';
import { ok } from './support';

export const GROUP_GID = 'gid://gitlab/AuditEvents::Group::ExternalStreamingDestination/';
export const INSTANCE_GID = 'gid://gitlab/AuditEvents::Instance::ExternalStreamingDestination/';
export const LEGACY_GID = 'gid://gitlab/AuditEvents::ExternalAuditEventDestination/';

export const FIELDS = 'id name category config secretToken active eventTypeFilters namespaceFilters { id namespace { fullPath } }';

export const GROUP_CREATE = `mutation($i: GroupAuditEventStreamingDestinationsCreateInput!) {
  groupAuditEventStreamingDestinationsCreate(input: $i) { errors externalAuditEventDestination { ${FIELDS} group { fullPath } } }
}`;
export const GROUP_UPDATE = `mutation($i: GroupAuditEventStreamingDestinationsUpdateInput!) {
  groupAuditEventStreamingDestinationsUpdate(input: $i) { errors externalAuditEventDestination { ${FIELDS} } }
}`;
export const GROUP_DELETE = `mutation($i: GroupAuditEventStreamingDestinationsDeleteInput!) { groupAuditEventStreamingDestinationsDelete(input: $i) { errors } }`;
export const GROUP_LIST = `query($p: ID!) { group(fullPath: $p) { externalAuditEventStreamingDestinations { nodes { ${FIELDS} } } } }`;
export const GROUP_NF_CREATE = `mutation($i: AuditEventsGroupDestinationNamespaceFilterCreateInput!) {
  auditEventsGroupDestinationNamespaceFilterCreate(input: $i) { errors namespaceFilter { id namespace { fullPath } externalStreamingDestination { id } } }
}`;
export const GROUP_NF_DELETE = `mutation($i: AuditEventsGroupDestinationNamespaceFilterDeleteInput!) { auditEventsGroupDestinationNamespaceFilterDelete(input: $i) { errors } }`;
export const INSTANCE_CREATE = `mutation($i: InstanceAuditEventStreamingDestinationsCreateInput!) {
  instanceAuditEventStreamingDestinationsCreate(input: $i) { errors externalAuditEventDestination { ${FIELDS} } }
}`;
export const INSTANCE_DELETE = `mutation($i: InstanceAuditEventStreamingDestinationsDeleteInput!) { instanceAuditEventStreamingDestinationsDelete(input: $i) { errors } }`;

/** An http config of a fresh loopback URL. */
export function httpConfig(headers?: Record<string, { value: string; active?: boolean }>): { url: string; headers?: Record<string, { value: string; active?: boolean }> } {
  return { url: `http://127.0.0.1:9/${crypto.randomUUID()}`, ...(headers ? { headers } : {}) };
}

/** Create a group destination through the consolidated API; its payload (errors and destination). */
export async function groupCreate(token: string, input: Record<string, unknown>): Promise<{ errors: string[]; externalAuditEventDestination: any }> {
  return (await ok(GROUP_CREATE, token, { i: input })).groupAuditEventStreamingDestinationsCreate;
}

/** Create a group destination and return it (fails on errors). */
export async function groupDestination(token: string, groupPath: string, input: Record<string, unknown> = {}): Promise<any> {
  const r = await groupCreate(token, { groupPath, category: 'http', config: httpConfig(), ...input });
  expect(r.errors).toEqual([]);
  return r.externalAuditEventDestination;
}

/** Delete instance destinations (they count against one instance-wide limit). */
export async function dropInstanceDestinations(gids: string[]): Promise<void> {
  for (const id of gids.splice(0)) await gql(INSTANCE_DELETE, { i: { id } });
}
