/**
 * Ingested events say that they were ingested and by whom (issue 17): `details.ingested_by` is
 * the ingesting user ({id, username}), always set by the server and visible in the REST answer,
 * the audit log and the streamed payload; a body that sets it is refused. `created_at` may lie at
 * most 24 hours in the past and 5 minutes ahead; `details` at most 16 KB as JSON, 32 levels deep.
 * The attack reproduced: an administrator's token back-dating an event by years and naming
 * another user as its author, with nothing in the stored event telling it apart.
 */
import { describe, expect, it } from 'vitest';
import { ADMIN, api, createGroup, createUser, unique } from '../support/api';
import { receiverOrigin, waitForRequests } from '../support/receiver';
import { insertDestination } from '../delivery/support';

const post = (body: unknown, token: string = ADMIN) => api('POST', '/api/v4/audit_events', { token, body });
const ROOT_MARK = { id: 1, username: 'root' };
const HOUR = 3600_000;
/** An ISO time `ms` from now, to the second. */
const at = (ms: number) => new Date(Math.floor((Date.now() + ms) / 1000) * 1000).toISOString();

describe('ingested events are marked with who ingested them', () => {
  it("records the ingesting user's id and username, whoever the event names as author", async () => {
    const g = await createGroup();
    const victim = await createUser();
    const admin = await createUser({ admin: true });
    const r = await post({ event_type: 'ingest_marked', entity_type: 'Group', entity_id: g.id, author_id: victim.id, details: { custom_message: 'hi' } }, admin.token);
    expect(r.status).toBe(201);
    expect(r.body.author_id).toBe(victim.id);
    expect(r.body.details).toMatchObject({ custom_message: 'hi', ingested_by: { id: admin.id, username: admin.username } });
    const listed = await api('GET', `/api/v4/groups/${g.id}/audit_events?event_type=ingest_marked`, { token: ADMIN });
    expect(listed.status).toBe(200);
    expect(listed.body).toHaveLength(1);
    expect(listed.body[0].details.ingested_by).toEqual({ id: admin.id, username: admin.username });
    // With the admin token (root): root's id and username.
    const byRoot = await post({ event_type: 'ingest_marked', entity_type: 'Group', entity_id: g.id });
    expect(byRoot.body.details.ingested_by).toEqual(ROOT_MARK);
  });

  it('streams the mark in the payload', async () => {
    const g = await createGroup();
    const path = `/ok/${unique('ingested')}`;
    await insertDestination({ namespaceId: g.id, url: `${receiverOrigin()}${path}` });
    const r = await post({ event_type: 'ingest_streamed', entity_type: 'Group', entity_id: g.id, author_id: -1 });
    expect(r.status).toBe(201);
    const [req] = await waitForRequests(path, 1);
    expect(req).toBeDefined();
    const payload = JSON.parse(req.body);
    expect(payload).toMatchObject({ id: String(r.body.id), event_type: 'ingest_streamed', author_id: -1 });
    expect(payload.details.ingested_by).toEqual(ROOT_MARK);
  });

  it.each([{ id: 5, username: 'someone' }, null, 'root'])('refuses a body that sets details.ingested_by (%j)', async (value) => {
    const g = await createGroup();
    const r = await post({ event_type: 'ingest_forged', entity_type: 'Group', entity_id: g.id, details: { ingested_by: value } });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ message: { details: ['ingested_by is set by the server, not by the request'] } });
  });
});

describe('ingested created_at: at most 24 hours in the past', () => {
  it.each([
    ['23 hours ago', -23 * HOUR],
    ['now', 0],
    ['4 minutes ahead', 4 * 60_000],
  ])('accepts %s', async (_, offset) => {
    const g = await createGroup();
    const createdAt = at(offset);
    const r = await post({ event_type: 'ingest_dated', entity_type: 'Group', entity_id: g.id, created_at: createdAt });
    expect(r.status).toBe(201);
    expect(r.body.created_at).toBe(createdAt);
  });

  it.each([
    ['25 hours ago', at(-25 * HOUR), 'created_at is more than 24 hours in the past'],
    ['years ago', '2019-01-01T00:00:00Z', 'created_at is more than 24 hours in the past'],
    ['an hour ahead', at(HOUR), 'created_at is more than 5 minutes in the future'],
  ])('refuses %s with 400', async (_, createdAt, message) => {
    const g = await createGroup();
    const r = await post({ event_type: 'ingest_dated', entity_type: 'Group', entity_id: g.id, created_at: createdAt });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ message: `400 Bad request - ${message}` });
  });
});

describe('ingested details: at most 16 KB, 32 levels', () => {
  it('accepts 16 KB of details and refuses one byte more', async () => {
    const g = await createGroup();
    const base = { event_type: 'ingest_sized', entity_type: 'Group', entity_id: g.id };
    // {"blob":"…"} is 11 bytes around the blob.
    const fits = await post({ ...base, details: { blob: 'x'.repeat(16 * 1024 - 11) } });
    expect(fits.status).toBe(201);
    const over = await post({ ...base, details: { blob: 'x'.repeat(16 * 1024 - 10) } });
    expect(over.status).toBe(400);
    expect(over.body).toEqual({ message: { details: ['is too long (maximum is 16384 bytes as JSON)'] } });
  });

  it('refuses details nested deeper than 32 levels', async () => {
    const g = await createGroup();
    let deep: unknown = 'leaf';
    for (let i = 0; i < 32; i++) deep = { d: deep };
    const ok = await post({ event_type: 'ingest_nested', entity_type: 'Group', entity_id: g.id, details: deep });
    expect(ok.status).toBe(201);
    const r = await post({ event_type: 'ingest_nested', entity_type: 'Group', entity_id: g.id, details: { d: deep } });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ message: { details: ['is nested too deeply (maximum is 32 levels)'] } });
  });
});
