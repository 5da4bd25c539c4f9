/**
 * The consolidated create with eventTypeFilters (ours, as on the legacy create): the filters are
 * written in the create's own transaction, before its creation event, so a filtered aws, gcp or
 * http destination never receives an event outside its filters, its own creation event included.
 */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { createGroup, createUser, gql } from '../support/api';
import { GROUP_CREATE, groupCreate, httpConfig } from './streaming_support';

const AWS = { accessKeyXid: 'AKIAIOSFODNN7EXAMPLE', bucketName: 'audit-bucket', awsRegion: 'eu-west-1' };
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const idOf = (gid: string) => Number(gid.split('/').pop());

/** Event types of the deliveries routed to a destination. */
async function routedTypes(destinationId: number): Promise<string[]> {
  const { results } = await env.DB.prepare('SELECT e.event_type FROM deliveries d JOIN audit_events e ON e.id = d.event_id WHERE d.destination_id = ?1 ORDER BY e.id')
    .bind(destinationId)
    .all<{ event_type: string }>();
  return results.map((r) => r.event_type);
}

describe('groupAuditEventStreamingDestinationsCreate with eventTypeFilters', () => {
  it('a filtered aws destination does not receive its own creation event; an unfiltered one does', async () => {
    const owner = await createUser();
    const group = await createGroup({ token: owner.token });
    const filtered = await groupCreate(owner.token, { groupPath: group.full_path, category: 'aws', config: AWS, secretToken: SECRET, name: 'filtered', eventTypeFilters: ['release_created'] });
    expect(filtered.errors).toEqual([]);
    expect(filtered.externalAuditEventDestination).toMatchObject({ category: 'aws', eventTypeFilters: ['release_created'] });
    const plain = await groupCreate(owner.token, { groupPath: group.full_path, category: 'aws', config: AWS, secretToken: SECRET, name: 'plain' });
    expect(await routedTypes(idOf(filtered.externalAuditEventDestination.id))).toEqual([]);
    expect(await routedTypes(idOf(plain.externalAuditEventDestination.id))).toEqual(['created_group_audit_event_streaming_destination']);
    const details = await env.DB.prepare('SELECT details FROM audit_events WHERE event_type = ?1 AND target_id = ?2')
      .bind('created_group_audit_event_streaming_destination', idOf(filtered.externalAuditEventDestination.id))
      .first<{ details: string }>();
    expect(JSON.parse(details!.details)).toMatchObject({ category: 'aws', event_type_filters: ['release_created'] });
  });

  it('validated as the events add mutation: errors as data and nothing created; an empty list is a top-level error', async () => {
    const owner = await createUser();
    const group = await createGroup({ token: owner.token });
    const count = async () => (await env.DB.prepare('SELECT COUNT(*) AS n FROM streaming_destinations WHERE namespace_id = ?1').bind(group.id).first<{ n: number }>())!.n;
    const unknown = await groupCreate(owner.token, { groupPath: group.full_path, category: 'http', config: httpConfig(), eventTypeFilters: ['no_such_event'] });
    expect(unknown).toEqual({ errors: ['Audit event type with value no_such_event is undefined.'], externalAuditEventDestination: null });
    const twice = await groupCreate(owner.token, { groupPath: group.full_path, category: 'aws', config: AWS, secretToken: SECRET, eventTypeFilters: ['release_created', 'release_created'] });
    expect(twice.errors).toEqual(['Audit event type release_created has already been taken']);
    const empty = await gql(GROUP_CREATE, { i: { groupPath: group.full_path, category: 'aws', config: AWS, secretToken: SECRET, eventTypeFilters: [] } }, owner.token);
    expect(empty.body.errors?.[0]?.message).toBe('event type filters must be present');
    expect(await count()).toBe(0);
  });
});
