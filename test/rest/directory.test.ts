import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { api, ADMIN, addMember, call, createGroup, createProject, createUser, unique } from '../support/api';

describe('users', () => {
  it('validates user creation', async () => {
    const base = () => {
      const n = unique('u');
      return { username: n, name: 'N', email: `${n}@example.com`, password: 'pw-secret-1' };
    };
    const post = (body: unknown, token: string | null = ADMIN) => api('POST', '/api/v4/users', { token, body });
    const { email: _e, ...noEmail } = base();
    expect(await post(noEmail)).toMatchObject({ status: 400, body: { error: 'email is missing' } });
    const { username: _u, ...noUsername } = base();
    expect(await post(noUsername)).toMatchObject({ status: 400, body: { error: 'username is missing' } });
    const { password: _p, ...noPassword } = base();
    expect((await post(noPassword)).status).toBe(400);
    expect(await post({ ...base(), email: 'not-an-email' })).toMatchObject({ status: 400, body: { message: { email: ['is invalid'] } } });
    expect((await post({ ...base(), username: '-bad' })).body.message.username[0]).toMatch(/can contain only/);
    expect((await post({ ...base(), username: 'x.git' })).status).toBe(400);
    expect(await post({ ...base(), username: 'admin' })).toMatchObject({ status: 400, body: { message: { username: ['admin is a reserved name'] } } });
    expect((await post({ ...base(), name: 'x'.repeat(256) })).body.message.name[0]).toBe('is too long (maximum is 255 characters)');
    expect((await post({ ...base(), name: 42 })).status).toBe(201);
    expect((await post({ ...base(), name: { a: 1 } })).body).toEqual({ error: 'name is invalid' });
    const first = base();
    expect((await post(first)).status).toBe(201);
    expect(await post({ ...base(), username: first.username.toUpperCase() })).toMatchObject({ status: 409, body: { message: 'Username has already been taken' } });
    expect(await post({ ...base(), email: first.email })).toMatchObject({ status: 409, body: { message: 'Email has already been taken' } });
    const u = await createUser();
    expect(await post(base(), u.token)).toMatchObject({ status: 403, body: { message: '403 Forbidden' } });
    expect((await post(base(), null)).status).toBe(401);
  });

  it('shows email only to the user and admins', async () => {
    const a = await createUser();
    const b = await createUser();
    const asOther = await api('GET', `/api/v4/users/${a.id}`, { token: b.token });
    expect(asOther.status).toBe(200);
    expect(asOther.body).not.toHaveProperty('email');
    expect((await api('GET', `/api/v4/users/${a.id}`, { token: ADMIN })).body.email).toBe(`${a.username}@example.com`);
    expect(await api('GET', '/api/v4/users/99999999', { token: ADMIN })).toMatchObject({ status: 404, body: { message: '404 User Not Found' } });
    expect((await api('GET', '/api/v4/users/abc', { token: ADMIN })).status).toBe(404);
    const byName = await api('GET', `/api/v4/users?username=${a.username}`, { token: b.token });
    expect(byName.body).toHaveLength(1);
  });
});

describe('request bodies', () => {
  it('answers malformed JSON, non-object bodies and huge bodies with 4xx', async () => {
    const bad = await call('POST', '/api/v4/groups', { token: ADMIN, body: '{"name":', headers: { 'Content-Type': 'application/json' } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'The request body is not valid JSON' });
    const arr = await api('POST', '/api/v4/groups', { token: ADMIN, body: '[1,2]', headers: { 'Content-Type': 'application/json' } });
    expect(arr).toMatchObject({ status: 400, body: { error: 'The request body must be a JSON object' } });
    const huge = await api('POST', '/api/v4/groups', { token: ADMIN, body: JSON.stringify({ name: 'x'.repeat(1_100_000) }), headers: { 'Content-Type': 'application/json' } });
    expect(huge.status).toBe(413);
    const unknown = await api('GET', '/api/v4/nope', { token: ADMIN });
    // The same 404 shape as every other API path (issue 15), not Grape's {"error": ...}.
    expect(unknown).toMatchObject({ status: 404, body: { message: '404 Not Found' } });
  });
});

describe('groups', () => {
  it('creates top-level groups for any user, subgroups for Owners of the parent only', async () => {
    const owner = await createUser();
    const maint = await createUser();
    const top = await createGroup({ token: owner.token });
    await addMember('groups', top.id, maint.id, 40);
    const mine = await api('GET', `/api/v4/groups/${top.id}/members/${owner.id}`, { token: owner.token });
    expect(mine.body.access_level).toBe(50);
    const p = unique('s');
    expect(await api('POST', '/api/v4/groups', { token: maint.token, body: { name: p, path: p, parent_id: top.id } })).toMatchObject({ status: 403 });
    const sub = await api('POST', '/api/v4/groups', { token: owner.token, body: { name: p, path: p, parent_id: top.id } });
    expect(sub.status).toBe(201);
    expect(sub.body).toMatchObject({ parent_id: top.id, full_path: `${top.full_path}/${p}`, visibility: 'private' });
    const stranger = await createUser();
    expect(await api('POST', '/api/v4/groups', { token: stranger.token, body: { name: 'y', path: unique('y'), parent_id: top.id } })).toMatchObject({ status: 404 });
    expect(await api('POST', '/api/v4/groups', { token: owner.token, body: { name: 'y', path: unique('y'), parent_id: 99999999 } })).toMatchObject({ status: 404 });
  });

  it('validates names, paths, visibility and duplicates', async () => {
    const top = await createGroup();
    const post = (body: Record<string, unknown>) => api('POST', '/api/v4/groups', { token: ADMIN, body });
    expect(await post({ path: unique('a') })).toMatchObject({ status: 400, body: { error: 'name is missing' } });
    expect(await post({ name: 'a' })).toMatchObject({ status: 400, body: { error: 'path is missing' } });
    expect((await post({ name: 'a', path: 'bad path' })).status).toBe(400);
    expect((await post({ name: 'a', path: 'api' })).body).toEqual({ message: { path: ['api is a reserved name'] } });
    expect((await post({ name: '<script>', path: unique('a') })).status).toBe(400);
    expect(await post({ name: 'a', path: unique('a'), visibility: 'secret' })).toMatchObject({ status: 400, body: { error: 'visibility does not have a valid value' } });
    expect(await post({ name: 'a', path: unique('a'), parent_id: 'abc' })).toMatchObject({ status: 400, body: { error: 'parent_id is invalid' } });
    expect(await post({ name: top.path, path: top.path })).toMatchObject({ status: 409, body: { message: { path: ['has already been taken'] } } });
    expect((await post({ name: 'p', path: unique('p'), parent_id: top.id, visibility: 'public' })).body).toEqual({
      message: { visibility_level: ['public is not allowed since the parent group has a private visibility.'] },
    });
  });

  it('addresses groups by id and URL-encoded full path; private ones are 404 to outsiders', async () => {
    const top = await createGroup();
    const sub = await createGroup({ parentId: top.id });
    const path = encodeURIComponent(`${top.full_path}/${sub.path}`);
    expect((await api('GET', `/api/v4/groups/${path}`, { token: ADMIN })).body.id).toBe(sub.id);
    const outsider = await createUser();
    expect(await api('GET', `/api/v4/groups/${sub.id}`, { token: outsider.token })).toMatchObject({ status: 404, body: { message: '404 Group Not Found' } });
    expect((await api('GET', `/api/v4/groups/${path}`)).status).toBe(404);
    // Inherited: a Guest of the parent reads the subgroup.
    await addMember('groups', top.id, outsider.id, 10);
    expect((await api('GET', `/api/v4/groups/${sub.id}`, { token: outsider.token })).status).toBe(200);
  });

  it('reads public groups anonymously and internal groups when signed in', async () => {
    const pub = await createGroup({ visibility: 'public' });
    const internal = await createGroup({ visibility: 'internal' });
    const u = await createUser();
    expect((await api('GET', `/api/v4/groups/${pub.id}`)).status).toBe(200);
    expect((await api('GET', `/api/v4/groups/${internal.id}`)).status).toBe(404);
    expect((await api('GET', `/api/v4/groups/${internal.id}`, { token: u.token })).status).toBe(200);
  });

  it('lists a private group to its members, and not once their membership has expired', async () => {
    const group = await createGroup();
    const member = await createUser();
    await addMember('groups', group.id, member.id, 30);
    // The listing (ordered by name) also holds every public and internal group: walk its pages.
    const listed = async () => {
      for (let page = 1; ; page++) {
        const r = await api('GET', `/api/v4/groups?per_page=100&page=${page}`, { token: member.token });
        expect(r.status).toBe(200);
        if ((r.body as { id: number }[]).some((g) => g.id === group.id)) return true;
        if (r.body.length < 100) return false;
      }
    };
    expect(await listed()).toBe(true);
    await env.DB.prepare(`UPDATE members SET expires_at = '2000-01-01' WHERE source_type = 'Namespace' AND source_id = ?1 AND user_id = ?2`).bind(group.id, member.id).run();
    expect(await listed()).toBe(false);
    expect((await api('GET', `/api/v4/groups/${group.id}`, { token: member.token })).status).toBe(404);
  });

  it('paginates subgroups with GitLab headers', async () => {
    const top = await createGroup();
    for (let i = 0; i < 3; i++) await createGroup({ parentId: top.id });
    const r1 = await api('GET', `/api/v4/groups/${top.id}/subgroups?per_page=2`, { token: ADMIN });
    expect(r1.body).toHaveLength(2);
    expect(r1.headers.get('X-Total')).toBe('3');
    expect(r1.headers.get('X-Total-Pages')).toBe('2');
    expect(r1.headers.get('X-Page')).toBe('1');
    expect(r1.headers.get('X-Per-Page')).toBe('2');
    expect(r1.headers.get('X-Next-Page')).toBe('2');
    expect(r1.headers.get('X-Prev-Page')).toBe('');
    expect(r1.headers.get('Link')).toContain('rel="next"');
    const r2 = await api('GET', `/api/v4/groups/${top.id}/subgroups?per_page=2&page=2`, { token: ADMIN });
    expect(r2.body).toHaveLength(1);
    expect(r2.headers.get('X-Next-Page')).toBe('');
    expect(r2.headers.get('X-Prev-Page')).toBe('1');
    expect(r2.headers.get('Link')).toContain('rel="prev"');
    expect(new Set([...r1.body, ...r2.body].map((g: { id: number }) => g.id)).size).toBe(3);
    expect((await api('GET', `/api/v4/groups/${top.id}/subgroups?page=abc`, { token: ADMIN })).status).toBe(400);
    expect((await api('GET', `/api/v4/groups/${top.id}/subgroups?per_page=1000`, { token: ADMIN })).headers.get('X-Per-Page')).toBe('100');
  });
});

describe('projects', () => {
  it('needs Maintainer on the group to create a project', async () => {
    const g = await createGroup();
    const dev = await createUser();
    const maint = await createUser();
    await addMember('groups', g.id, dev.id, 30);
    await addMember('groups', g.id, maint.id, 40);
    const body = () => ({ name: unique('p'), namespace_id: g.id });
    expect((await api('POST', '/api/v4/projects', { token: dev.token, body: body() })).status).toBe(403);
    const ok = await api('POST', '/api/v4/projects', { token: maint.token, body: body() });
    expect(ok.status).toBe(201);
    expect(ok.body).toMatchObject({ visibility: 'private', namespace: { id: g.id, kind: 'group', full_path: g.full_path } });
    expect(ok.body.path_with_namespace).toBe(`${g.full_path}/${ok.body.path}`);
  });

  it('validates project creation', async () => {
    const g = await createGroup({ visibility: 'internal' });
    const post = (body: Record<string, unknown>) => api('POST', '/api/v4/projects', { token: ADMIN, body });
    expect((await post({ namespace_id: g.id })).status).toBe(400);
    expect(await post({ name: 'x', namespace_id: 99999999 })).toMatchObject({ status: 404, body: { message: '404 Namespace Not Found' } });
    expect((await post({ name: unique('x'), namespace_id: g.id, visibility: 'public' })).body).toEqual({
      message: { visibility_level: ['public is not allowed in a internal group.'] },
    });
    const p = await createProject(g.id);
    expect(await post({ name: p.path, path: p.path, namespace_id: g.id })).toMatchObject({ status: 409 });
    expect((await post({ name: 'x', path: 'a..b', namespace_id: g.id })).status).toBe(400);
    expect((await post({ name: 'x', path: unique('x'), namespace_id: { id: 1 } })).body).toEqual({ error: 'namespace_id is invalid' });
    // By namespace full path, too.
    expect((await post({ name: unique('x'), namespace_id: g.full_path })).status).toBe(201);
  });

  it('creates projects in the caller\'s own namespace and nowhere else personal', async () => {
    const u = await createUser();
    const other = await createUser();
    const mine = await api('POST', '/api/v4/projects', { token: u.token, body: { name: unique('mine') } });
    expect(mine.status).toBe(201);
    expect(mine.body.namespace).toMatchObject({ kind: 'user', full_path: u.username });
    const theirs = await api('POST', '/api/v4/projects', { token: u.token, body: { name: unique('x'), namespace_id: other.username } });
    expect(theirs.status).toBe(403);
    // The owner of a personal namespace reads their private project; others get 404.
    expect((await api('GET', `/api/v4/projects/${mine.body.id}`, { token: u.token })).status).toBe(200);
    expect(await api('GET', `/api/v4/projects/${mine.body.id}`, { token: other.token })).toMatchObject({ status: 404, body: { message: '404 Project Not Found' } });
  });

  it('reads projects by visibility and inherited membership, by id or full path', async () => {
    const top = await createGroup({ visibility: 'public' });
    const sub = await createGroup({ parentId: top.id, visibility: 'public' });
    const priv = await createProject(sub.id, { visibility: 'private' });
    const pub = await createProject(sub.id, { visibility: 'public' });
    const u = await createUser();
    expect((await api('GET', `/api/v4/projects/${encodeURIComponent(pub.path_with_namespace)}`)).status).toBe(200);
    expect((await api('GET', `/api/v4/projects/${priv.id}`, { token: u.token })).status).toBe(404);
    await addMember('groups', top.id, u.id, 10);
    expect((await api('GET', `/api/v4/projects/${encodeURIComponent(priv.path_with_namespace)}`, { token: u.token })).status).toBe(200);
    const list = await api('GET', `/api/v4/groups/${sub.id}/projects`);
    expect(list.body.map((p: { id: number }) => p.id)).toEqual([pub.id]);
  });
});

describe('members', () => {
  it('leaves an expired membership out of the members API; its managers can renew it (PUT) but not add it again', async () => {
    const g = await createGroup();
    const u = await createUser();
    await addMember('groups', g.id, u.id, 30);
    await env.DB.prepare(`UPDATE members SET expires_at = '2000-01-01' WHERE source_type = 'Namespace' AND source_id = ?1 AND user_id = ?2`).bind(g.id, u.id).run();
    const ids = async () => ((await api('GET', `/api/v4/groups/${g.id}/members`, { token: ADMIN })).body as { id: number }[]).map((m) => m.id);
    expect(await ids()).toEqual([1]);
    expect((await api('GET', `/api/v4/groups/${g.id}/members/${u.id}`, { token: ADMIN })).status).toBe(404);
    expect(await api('POST', `/api/v4/groups/${g.id}/members`, { token: ADMIN, body: { user_id: u.id, access_level: 30 } })).toMatchObject({ status: 409, body: { message: 'Member already exists' } });
    const renewed = await api('PUT', `/api/v4/groups/${g.id}/members/${u.id}`, { token: ADMIN, body: { access_level: 30, expires_at: '2999-01-01' } });
    expect(renewed).toMatchObject({ status: 200, body: { id: u.id, access_level: 30, expires_at: '2999-01-01' } });
    expect(await ids()).toEqual([1, u.id]);
    expect((await api('GET', `/api/v4/groups/${g.id}`, { token: u.token })).status).toBe(200);
  });

  it('lets group Owners manage group members, nobody below', async () => {
    const g = await createGroup();
    const maint = await createUser();
    const target = await createUser();
    await addMember('groups', g.id, maint.id, 40);
    expect((await api('POST', `/api/v4/groups/${g.id}/members`, { token: maint.token, body: { user_id: target.id, access_level: 10 } })).status).toBe(403);
    const add = await api('POST', `/api/v4/groups/${g.id}/members`, { token: ADMIN, body: { user_id: target.id, access_level: 20 } });
    expect(add.status).toBe(201);
    expect(add.body).toMatchObject({ id: target.id, username: target.username, access_level: 20, state: 'active' });
    expect(await api('POST', `/api/v4/groups/${g.id}/members`, { token: ADMIN, body: { user_id: target.id, access_level: 20 } })).toMatchObject({ status: 409, body: { message: 'Member already exists' } });
    const upd = await api('PUT', `/api/v4/groups/${g.id}/members/${target.id}`, { token: ADMIN, body: { access_level: 30 } });
    expect(upd.body.access_level).toBe(30);
    expect((await api('PUT', `/api/v4/groups/${g.id}/members/${target.id}`, { token: maint.token, body: { access_level: 10 } })).status).toBe(403);
    expect((await api('DELETE', `/api/v4/groups/${g.id}/members/${target.id}`, { token: ADMIN })).status).toBe(204);
    expect((await api('DELETE', `/api/v4/groups/${g.id}/members/${target.id}`, { token: ADMIN })).status).toBe(404);
    const events = await env.DB
      .prepare("SELECT event_type, details FROM audit_events WHERE entity_type = 'Group' AND entity_id = ?1 AND target_id = ?2 ORDER BY id")
      .bind(g.id, target.id)
      .all<{ event_type: string; details: string }>();
    expect(events.results.map((e) => e.event_type)).toEqual(['member_created', 'member_updated', 'member_destroyed']);
    expect(JSON.parse(events.results[1].details)).toMatchObject({ change: 'access_level', from: 'Reporter', to: 'Developer' });
  });

  it('validates member parameters', async () => {
    const g = await createGroup();
    const u = await createUser();
    const post = (body: Record<string, unknown>) => api('POST', `/api/v4/groups/${g.id}/members`, { token: ADMIN, body });
    expect(await post({ access_level: 30 })).toMatchObject({ status: 400, body: { error: 'user_id is missing' } });
    expect(await post({ user_id: u.id })).toMatchObject({ status: 400, body: { error: 'access_level is missing' } });
    expect(await post({ user_id: u.id, access_level: 35 })).toMatchObject({ status: 400, body: { error: 'access_level does not have a valid value' } });
    expect(await post({ user_id: 'x', access_level: 30 })).toMatchObject({ status: 400, body: { error: 'user_id is invalid' } });
    expect(await post({ user_id: 99999999, access_level: 30 })).toMatchObject({ status: 404, body: { message: '404 User Not Found' } });
    expect(await post({ user_id: u.id, access_level: 30, expires_at: 'tomorrow' })).toMatchObject({ status: 400, body: { error: 'expires_at is invalid' } });
  });

  it('keeps the last Owner of a group', async () => {
    const owner = await createUser();
    const g = await createGroup({ token: owner.token });
    expect((await api('DELETE', `/api/v4/groups/${g.id}/members/${owner.id}`, { token: owner.token })).status).toBe(403);
    expect((await api('PUT', `/api/v4/groups/${g.id}/members/${owner.id}`, { token: owner.token, body: { access_level: 30 } })).status).toBe(403);
  });

  it('keeps an Owner when two Owners are removed or demoted at once, and audits only what happened', async () => {
    for (const how of ['DELETE', 'PUT'] as const) {
      const [a, b] = [await createUser(), await createUser()];
      const g = await createGroup({ token: a.token });
      await addMember('groups', g.id, b.id, 50);
      // Each Owner takes the other's (or their own) Owner role away at the same time.
      const answers = await Promise.all([
        api(how, `/api/v4/groups/${g.id}/members/${b.id}`, { token: a.token, body: how === 'PUT' ? { access_level: 30 } : undefined }),
        api(how, `/api/v4/groups/${g.id}/members/${a.id}`, { token: b.token, body: how === 'PUT' ? { access_level: 30 } : undefined }),
      ]);
      const statuses = answers.map((r) => r.status).sort();
      expect(statuses, how).toEqual(how === 'DELETE' ? [204, 403] : [200, 403]);
      expect(answers.find((r) => r.status === 403)!.body).toEqual({ message: '403 Forbidden - A group must keep at least one Owner' });
      const owners = await env.DB
        .prepare("SELECT COUNT(*) AS n FROM members WHERE source_type = 'Namespace' AND source_id = ?1 AND access_level = 50")
        .bind(g.id)
        .first<{ n: number }>();
      expect(owners!.n).toBe(1);
      const events = await env.DB
        .prepare("SELECT COUNT(*) AS n FROM audit_events WHERE entity_id = ?1 AND entity_type = 'Group' AND event_type = ?2")
        .bind(g.id, how === 'DELETE' ? 'member_destroyed' : 'member_updated')
        .first<{ n: number }>();
      expect(events!.n).toBe(1);
    }
  });

  it('lets project Maintainers manage members up to their own level', async () => {
    const g = await createGroup();
    const p = await createProject(g.id);
    const maint = await createUser();
    const dev = await createUser();
    const target = await createUser();
    await addMember('projects', p.id, maint.id, 40);
    await addMember('projects', p.id, dev.id, 30);
    const path = `/api/v4/projects/${p.id}/members`;
    expect((await api('POST', path, { token: dev.token, body: { user_id: target.id, access_level: 10 } })).status).toBe(403);
    expect((await api('POST', path, { token: maint.token, body: { user_id: target.id, access_level: 50 } })).status).toBe(403);
    expect((await api('POST', path, { token: maint.token, body: { user_id: target.id, access_level: 40 } })).status).toBe(201);
    const list = await api('GET', path, { token: dev.token });
    expect(list.body.map((m: { id: number }) => m.id).sort()).toEqual([maint.id, dev.id, target.id].sort());
    // A Maintainer inherited from the group manages project members too.
    const gm = await createUser();
    await addMember('groups', g.id, gm.id, 40);
    expect((await api('DELETE', `${path}/${target.id}`, { token: gm.token })).status).toBe(204);
  });
});
