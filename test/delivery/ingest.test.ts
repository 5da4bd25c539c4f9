import { describe, expect, it } from 'vitest';
import { ADMIN, api, createGroup, createProject, createUser } from '../support/api';

const post = (body: unknown, token: string | null = ADMIN) => api('POST', '/api/v4/audit_events', { token, body });

describe('POST /api/v4/audit_events (ingest)', () => {
  it('stores an event for a project by path and answers 201 with it', async () => {
    const g = await createGroup();
    const p = await createProject(g.id);
    // An hour ago, to the second (ingested events may be at most 24 hours old).
    const createdAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 3600_000);
    const r = await post({
      event_type: 'repository_git_operation',
      entity_type: 'Project',
      entity_path: p.path_with_namespace,
      author_id: 1,
      target_id: p.id,
      target_type: 'Project',
      target_details: p.path_with_namespace,
      ip_address: '198.51.100.7',
      details: { author_class: 'User', custom_message: { protocol: 'web', action: 'git-upload-pack' } },
      created_at: createdAt.toISOString().replace('.000Z', 'Z'),
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      author_id: 1,
      author_name: 'Administrator',
      entity_id: p.id,
      entity_type: 'Project',
      entity_path: p.path_with_namespace,
      event_type: 'repository_git_operation',
      target_id: p.id,
      target_type: 'Project',
      ip_address: '198.51.100.7',
      created_at: createdAt.toISOString(),
    });
    expect(typeof r.body.id).toBe('number');
    expect(r.body.details.custom_message).toEqual({ protocol: 'web', action: 'git-upload-pack' });
  });

  it('accepts groups and users by id, types outside the catalogue, and the unauthenticated author', async () => {
    const g = await createGroup();
    const u = await createUser();
    const a = await post({ event_type: 'ci_pipeline_custom_9', entity_type: 'Group', entity_id: g.id, author_id: -1 });
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({ entity_path: g.full_path, author_id: -1, author_name: 'An unauthenticated user' });
    const b = await post({ event_type: 'user_thing', entity_type: 'User', entity_id: u.id, author_id: 999999, author_name: 'External bot' });
    expect(b.status).toBe(201);
    expect(b.body).toMatchObject({ entity_type: 'User', entity_path: u.username, author_id: 999999, author_name: 'External bot' });
  });

  it("takes a known author's name from the users table, the caller's own and another user's alike", async () => {
    const g = await createGroup();
    const u = await createUser();
    const other = await post({ event_type: 'ci_pipeline_custom_9', entity_type: 'Group', entity_id: g.id, author_id: u.id });
    expect(other.status).toBe(201);
    expect(other.body).toMatchObject({ author_id: u.id, author_name: u.name });
    const admin = await createUser({ admin: true });
    const self = await post({ event_type: 'ci_pipeline_custom_9', entity_type: 'Group', entity_id: g.id, author_id: admin.id }, admin.token);
    expect(self.status).toBe(201);
    expect(self.body).toMatchObject({ author_id: admin.id, author_name: admin.name });
  });

  it.each([
    [{ entity_type: 'Group', entity_id: 1 }, 'event_type is missing'],
    [{ event_type: 'Bad-Type', entity_type: 'Group', entity_id: 1 }, 'event_type is invalid'],
    [{ event_type: 'a'.repeat(256), entity_type: 'Group', entity_id: 1 }, 'event_type is invalid'],
    [{ event_type: 7, entity_type: 'Group', entity_id: 1 }, 'event_type is invalid'],
    [{ event_type: 'x' }, 'entity_type is missing'],
    [{ event_type: 'x', entity_type: 'Pipeline', entity_id: 1 }, 'entity_type does not have a valid value'],
    [{ event_type: 'x', entity_type: 'Group' }, 'entity_id, entity_path are missing, at least one parameter must be provided'],
    [{ event_type: 'x', entity_type: 'Group', entity_id: 'abc' }, 'entity_id is invalid'],
    [{ event_type: 'x', entity_type: 'Group', entity_id: 1, ip_address: '999.1.1.1' }, 'ip_address is invalid'],
    [{ event_type: 'x', entity_type: 'Group', entity_id: 1, ip_address: 'not-an-ip' }, 'ip_address is invalid'],
    [{ event_type: 'x', entity_type: 'Group', entity_id: 1, details: [1, 2] }, 'details is invalid'],
    [{ event_type: 'x', entity_type: 'Group', entity_id: 1, details: 'text' }, 'details is invalid'],
    [{ event_type: 'x', entity_type: 'Group', entity_id: 1, created_at: 'yesterday' }, 'created_at is invalid'],
    [{ event_type: 'x', entity_type: 'Group', entity_id: 1, author_id: 'me' }, 'author_id is invalid'],
    [{ event_type: 'x', entity_type: 'Group', entity_id: 1, target_id: {} }, 'target_id is invalid'],
    [{ event_type: 'x', entity_type: 'Group', entity_id: 1, target_type: 5 }, 'target_type is invalid'],
  ])('rejects %j with 400 "%s"', async (body, error) => {
    const r = await post(body);
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ error });
  });

  it('rejects over-long strings in GitLab validation shape', async () => {
    const g = await createGroup();
    const r = await post({ event_type: 'x', entity_type: 'Group', entity_id: g.id, author_name: 'n'.repeat(256) });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ message: { author_name: ['is too long (maximum is 255 characters)'] } });
  });

  it('answers 404 for unknown entities and 400 when id and path disagree', async () => {
    const g = await createGroup();
    const other = await createGroup();
    expect((await post({ event_type: 'x', entity_type: 'Project', entity_path: 'no/such-project-anywhere' })).body).toEqual({ message: '404 Project Not Found' });
    expect((await post({ event_type: 'x', entity_type: 'Group', entity_id: 987654321 })).status).toBe(404);
    expect((await post({ event_type: 'x', entity_type: 'User', entity_path: 'nobody-here-xyz' })).body).toEqual({ message: '404 User Not Found' });
    const mismatch = await post({ event_type: 'x', entity_type: 'Group', entity_id: g.id, entity_path: other.full_path });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body).toEqual({ error: 'entity_path does not match entity_id' });
  });

  it('refuses bodies over 64 KB with 413 and non-JSON with 400', async () => {
    const g = await createGroup();
    const big = await post({ event_type: 'x', entity_type: 'Group', entity_id: g.id, details: { blob: 'x'.repeat(70 * 1024) } });
    expect(big.status).toBe(413);
    const bad = await api('POST', '/api/v4/audit_events', { token: ADMIN, body: 'not json', headers: { 'Content-Type': 'application/json' } });
    expect(bad.status).toBe(400);
  });

  it('is for administrators only', async () => {
    const g = await createGroup();
    const body = { event_type: 'x', entity_type: 'Group', entity_id: g.id };
    const user = await createUser();
    expect(await post(body, user.token)).toMatchObject({ status: 403, body: { message: '403 Forbidden' } });
    const reader = await createUser({ admin: true, scopes: ['read_api'] });
    expect(await post(body, reader.token)).toMatchObject({ status: 403, body: { error: 'insufficient_scope' } });
    expect((await post(body, null)).status).toBe(401);
    const admin = await createUser({ admin: true });
    expect((await post(body, admin.token)).status).toBe(201);
  });
});
