import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { api, ADMIN, createUser, createGroup, unique } from '../support/api';

const UNAUTHORIZED = { message: '401 Unauthorized' };

describe('token authentication', () => {
  it('accepts PRIVATE-TOKEN, Authorization: Bearer and ?private_token=', async () => {
    const u = await createUser();
    for (const via of ['header', 'bearer', 'query'] as const) {
      const r = await api('GET', '/api/v4/user', { token: u.token, tokenVia: via });
      expect(r.status, via).toBe(200);
      expect(r.body.username).toBe(u.username);
    }
  });

  it('answers 401 without a token where one is needed, and for bad tokens everywhere', async () => {
    expect(await api('GET', '/api/v4/user')).toMatchObject({ status: 401, body: UNAUTHORIZED });
    expect(await api('GET', '/api/v4/user', { token: 'glpat-nope' })).toMatchObject({ status: 401, body: UNAUTHORIZED });
    expect(await api('GET', '/api/v4/user', { token: `${ADMIN}x` })).toMatchObject({ status: 401, body: UNAUTHORIZED });
    const pub = await createGroup({ visibility: 'public' });
    expect((await api('GET', `/api/v4/groups/${pub.id}`)).status).toBe(200);
    expect(await api('GET', `/api/v4/groups/${pub.id}`, { token: 'wrong' })).toMatchObject({ status: 401, body: UNAUTHORIZED });
    expect(await api('GET', '/api/v4/user', { headers: { Authorization: 'Basic abc' } })).toMatchObject({ status: 401 });
    expect(await api('POST', '/api/v4/groups', { body: { name: 'x', path: 'x' } })).toMatchObject({ status: 401, body: UNAUTHORIZED });
  });

  it('stores tokens hashed, never in clear', async () => {
    const u = await createUser();
    const rows = await env.DB.prepare('SELECT * FROM personal_access_tokens WHERE user_id = ?1').bind(u.id).all();
    expect(JSON.stringify(rows.results)).not.toContain(u.token);
    expect(u.token).toMatch(/^glpat-[A-Za-z0-9_-]{20}$/);
  });

  it('rejects expired tokens (a token expiring today is expired, as in GitLab)', async () => {
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const u = await createUser({ expiresAt: tomorrow });
    expect((await api('GET', '/api/v4/user', { token: u.token })).status).toBe(200);
    const today = new Date().toISOString().slice(0, 10);
    await env.DB.prepare('UPDATE personal_access_tokens SET expires_at = ?1 WHERE user_id = ?2').bind(today, u.id).run();
    expect(await api('GET', '/api/v4/user', { token: u.token })).toMatchObject({ status: 401, body: UNAUTHORIZED });
  });

  it('rejects revoked tokens and blocked users', async () => {
    const u = await createUser();
    const list = await api('GET', '/api/v4/personal_access_tokens', { token: u.token });
    expect(list.status).toBe(200);
    expect(list.body).toHaveLength(1);
    expect(list.body[0]).not.toHaveProperty('token');
    const del = await api('DELETE', `/api/v4/personal_access_tokens/${list.body[0].id}`, { token: u.token });
    expect(del.status).toBe(204);
    expect(await api('GET', '/api/v4/user', { token: u.token })).toMatchObject({ status: 401 });

    const b = await createUser();
    await env.DB.prepare("UPDATE users SET state = 'blocked' WHERE id = ?1").bind(b.id).run();
    expect((await api('GET', '/api/v4/user', { token: b.token })).status).toBe(401);
  });

  it('lets read_api tokens read but never write', async () => {
    const u = await createUser({ scopes: ['read_api'] });
    expect((await api('GET', '/api/v4/user', { token: u.token })).status).toBe(200);
    const w = await api('POST', '/api/v4/groups', { token: u.token, body: { name: unique('g'), path: unique('g') } });
    expect(w.status).toBe(403);
    expect(w.body).toMatchObject({ error: 'insufficient_scope', scope: 'api' });
  });

  it('records token creation and revocation as audit events without the token', async () => {
    const u = await createUser();
    const rows = await env.DB
      .prepare("SELECT event_type, details FROM audit_events WHERE entity_type = 'User' AND entity_id = ?1 ORDER BY id")
      .bind(u.id)
      .all<{ event_type: string; details: string }>();
    expect(rows.results.map((r) => r.event_type)).toContain('personal_access_token_created');
    expect(JSON.stringify(rows.results)).not.toContain(u.token);
  });
});

describe('personal access tokens API', () => {
  it('validates creation as GitLab does', async () => {
    const u = await createUser();
    const path = `/api/v4/users/${u.id}/personal_access_tokens`;
    expect(await api('POST', path, { token: ADMIN, body: { scopes: ['api'] } })).toMatchObject({ status: 400, body: { error: 'name is missing' } });
    expect(await api('POST', path, { token: ADMIN, body: { name: 't' } })).toMatchObject({ status: 400, body: { error: 'scopes is missing' } });
    expect(await api('POST', path, { token: ADMIN, body: { name: 't', scopes: ['sudo'] } })).toMatchObject({ status: 400, body: { error: 'scopes does not have a valid value' } });
    expect(await api('POST', path, { token: ADMIN, body: { name: 't', scopes: [] } })).toMatchObject({ status: 400 });
    expect(await api('POST', path, { token: ADMIN, body: { name: 't', scopes: ['api'], expires_at: '2020-01-01' } })).toMatchObject({ status: 400, body: { message: { expires_at: ['must not be in the past'] } } });
    expect(await api('POST', path, { token: ADMIN, body: { name: 't', scopes: ['api'], expires_at: '2030-02-30' } })).toMatchObject({ status: 400, body: { error: 'expires_at is invalid' } });
    expect(await api('POST', path, { token: u.token, body: { name: 't', scopes: ['api'] } })).toMatchObject({ status: 403, body: { message: '403 Forbidden' } });
    expect(await api('POST', '/api/v4/users/999999/personal_access_tokens', { token: ADMIN, body: { name: 't', scopes: ['api'] } })).toMatchObject({ status: 404 });
    const ok = await api('POST', path, { token: ADMIN, body: 'name=form&scopes[]=read_api', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ name: 'form', scopes: ['read_api'], active: true, revoked: false, user_id: u.id });
  });

  it('hides other users\' tokens; admins see all', async () => {
    const a = await createUser();
    const b = await createUser();
    const bTokens = await api('GET', '/api/v4/personal_access_tokens', { token: b.token });
    const id = bTokens.body[0].id;
    expect((await api('GET', `/api/v4/personal_access_tokens/${id}`, { token: a.token })).status).toBe(404);
    expect((await api('DELETE', `/api/v4/personal_access_tokens/${id}`, { token: a.token })).status).toBe(404);
    const all = await api('GET', `/api/v4/personal_access_tokens?user_id=${b.id}`, { token: ADMIN });
    expect(all.body.map((t: { id: number }) => t.id)).toContain(id);
    expect((await api('GET', '/api/v4/personal_access_tokens/self', { token: b.token })).body.id).toBe(id);
  });
});
