/**
 * Create a destination with its event type filters in one step (ours, issue 15): the filters are
 * written in the create's own transaction, before its creation event, so a filtered destination
 * never receives an event outside its filters, its own creation event included.
 */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { createGroup, createUser, gql } from '../support/api';
import { receiverOrigin } from '../support/receiver';
import { recordChangesIfChanged } from '../../src/audit/record';
import { insertDestinationStatement } from '../../src/db/destinations';
import { insertNewDestinationFiltersStatement } from '../../src/db/new_destination_filters';
import { instanceEntity } from '../../src/audit/record';
import type { Env } from '../../src/env';

const CREATE = `mutation($input: ExternalAuditEventDestinationCreateInput!) {
  externalAuditEventDestinationCreate(input: $input) { errors externalAuditEventDestination { id eventTypeFilters } }
}`;
const CREATE_INSTANCE = `mutation($input: InstanceExternalAuditEventDestinationCreateInput!) {
  instanceExternalAuditEventDestinationCreate(input: $input) { errors instanceExternalAuditEventDestination { id eventTypeFilters } }
}`;
const DESTROY_INSTANCE = `mutation($i: InstanceExternalAuditEventDestinationDestroyInput!) { instanceExternalAuditEventDestinationDestroy(input: $i) { errors } }`;

const idOf = (gid: string) => Number(gid.split('/').pop());

/** Event types of the deliveries routed to a destination. */
async function deliveredTypes(destinationId: number): Promise<string[]> {
  const { results } = await env.DB.prepare(
    'SELECT e.event_type FROM deliveries d JOIN audit_events e ON e.id = d.event_id WHERE d.destination_id = ?1 ORDER BY e.id',
  )
    .bind(destinationId)
    .all<{ event_type: string }>();
  return results.map((r) => r.event_type);
}

/** The creation event of a destination (its target). */
async function creationEvent(destinationId: number, eventType: string) {
  const row = await env.DB.prepare(`SELECT details FROM audit_events WHERE event_type = ?1 AND target_id = ?2 ORDER BY id DESC LIMIT 1`)
    .bind(eventType, destinationId)
    .first<{ details: string }>();
  return row ? (JSON.parse(row.details) as Record<string, unknown>) : null;
}

describe('destination create with eventTypeFilters', () => {
  it('a group destination filtered to another type does not receive its own creation event; an unfiltered one does', async () => {
    const owner = await createUser();
    const group = await createGroup({ token: owner.token });
    const filtered = await gql(CREATE, {
      input: { groupPath: group.full_path, destinationUrl: `${receiverOrigin()}/create-filters/filtered/hook`, eventTypeFilters: ['release_created', 'release_updated'] },
    }, owner.token);
    expect(filtered.body.errors).toBeUndefined();
    const made = filtered.body.data.externalAuditEventDestinationCreate;
    expect(made.errors).toEqual([]);
    expect([...made.externalAuditEventDestination.eventTypeFilters].sort()).toEqual(['release_created', 'release_updated']);
    const filteredId = idOf(made.externalAuditEventDestination.id);
    const plain = await gql(CREATE, { input: { groupPath: group.full_path, destinationUrl: `${receiverOrigin()}/create-filters/plain/hook` } }, owner.token);
    const plainId = idOf(plain.body.data.externalAuditEventDestinationCreate.externalAuditEventDestination.id);

    expect(await deliveredTypes(filteredId)).toEqual([]);
    expect(await deliveredTypes(plainId)).toEqual(['create_event_streaming_destination']);
    expect(await creationEvent(filteredId, 'create_event_streaming_destination')).toMatchObject({ event_type_filters: ['release_created', 'release_updated'] });
    expect(await creationEvent(plainId, 'create_event_streaming_destination')).not.toHaveProperty('event_type_filters');
  });

  it('validated as auditEventsStreamingDestinationEventsAdd: errors as data and nothing created; an empty list is a top-level error', async () => {
    const owner = await createUser();
    const group = await createGroup({ token: owner.token });
    const count = async () =>
      (await env.DB.prepare('SELECT COUNT(*) AS n FROM streaming_destinations WHERE namespace_id = ?1').bind(group.id).first<{ n: number }>())!.n;
    const unknown = await gql(CREATE, { input: { groupPath: group.full_path, destinationUrl: `${receiverOrigin()}/create-filters/x/a`, eventTypeFilters: ['no_such_event'] } }, owner.token);
    expect(unknown.body.data.externalAuditEventDestinationCreate).toEqual({
      errors: ['Audit event type with value no_such_event is undefined.'],
      externalAuditEventDestination: null,
    });
    const twice = await gql(CREATE, { input: { groupPath: group.full_path, destinationUrl: `${receiverOrigin()}/create-filters/x/b`, eventTypeFilters: ['release_created', 'release_created'] } }, owner.token);
    expect(twice.body.data.externalAuditEventDestinationCreate.errors).toEqual(['Audit event type release_created has already been taken']);
    const empty = await gql(CREATE, { input: { groupPath: group.full_path, destinationUrl: `${receiverOrigin()}/create-filters/x/c`, eventTypeFilters: [] } }, owner.token);
    expect(empty.body.errors?.[0]?.message).toBe('event type filters must be present');
    const notStrings = await gql(CREATE, { input: { groupPath: group.full_path, destinationUrl: `${receiverOrigin()}/create-filters/x/d`, eventTypeFilters: [1] } }, owner.token);
    // A variable of the wrong type is a request error (GraphQL over HTTP: 400, nothing executed).
    expect(notStrings.status).toBe(400);
    expect(notStrings.body.errors?.[0]?.message).toMatch(/eventTypeFilters/);
    expect(await count()).toBe(0);
    // null is the same as leaving it out.
    const none = await gql(CREATE, { input: { groupPath: group.full_path, destinationUrl: `${receiverOrigin()}/create-filters/x/e`, eventTypeFilters: null } }, owner.token);
    expect(none.body.data.externalAuditEventDestinationCreate.externalAuditEventDestination.eventTypeFilters).toEqual([]);
    expect(await count()).toBe(1);
  });

  it('instance destinations too: filtered to release events, the creation event is not routed to it', async () => {
    const made = await gql(CREATE_INSTANCE, { input: { destinationUrl: `${receiverOrigin()}/create-filters/instance/${crypto.randomUUID()}`, eventTypeFilters: ['release_deleted_audit_event'] } });
    const d = made.body.data.instanceExternalAuditEventDestinationCreate;
    expect(d.errors).toEqual([]);
    expect(d.instanceExternalAuditEventDestination.eventTypeFilters).toEqual(['release_deleted_audit_event']);
    const id = idOf(d.instanceExternalAuditEventDestination.id);
    // (Other files' release deletions may reach it meanwhile: only its creation event matters here.)
    expect(await deliveredTypes(id)).not.toContain('create_instance_event_streaming_destination');
    expect(await creationEvent(id, 'create_instance_event_streaming_destination')).toMatchObject({ event_type_filters: ['release_deleted_audit_event'] });
    const bad = await gql(CREATE_INSTANCE, { input: { destinationUrl: `${receiverOrigin()}/create-filters/instance-bad/x`, eventTypeFilters: ['nope'] } });
    expect(bad.body.data.instanceExternalAuditEventDestinationCreate.errors).toEqual(['Audit event type with value nope is undefined.']);
    await gql(DESTROY_INSTANCE, { i: { id: d.instanceExternalAuditEventDestination.id } });
  });

  it('when the insert finds the limit reached (a racing create took the last place), no filter, no event, no error', async () => {
    const group = await createGroup();
    const token = `race${crypto.randomUUID().replace(/-/g, '').slice(0, 20)}`;
    const d = { scope: 'group' as const, namespaceId: group.id, name: `race-${token}`, destinationUrl: `${receiverOrigin()}/create-filters/race/${token}`, verificationToken: token, signingSecret: 'whsec_cmFjZXJhY2VyYWNlcmFjZXJhY2U=' };
    const { results, event } = await recordChangesIfChanged(
      env as Env,
      null,
      [insertDestinationStatement(env.DB, d, 0), insertNewDestinationFiltersStatement(env.DB, token, ['release_created'])],
      { eventType: 'create_event_streaming_destination', author: { id: 1, name: 'Administrator' }, entity: instanceEntity() },
    );
    expect(event).toBeNull();
    expect(results.map((r) => r.meta.changes)).toEqual([0, 0]);
    const filters = await env.DB.prepare('SELECT COUNT(*) AS n FROM streaming_event_type_filters f JOIN streaming_destinations d ON d.id = f.destination_id WHERE d.verification_token = ?1')
      .bind(token)
      .first<{ n: number }>();
    expect(filters!.n).toBe(0);
  });
});
