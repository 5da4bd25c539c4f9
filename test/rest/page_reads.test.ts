/** The reads the web pages added: GET /projects (what the caller can see) and members/all/:user_id (effective, inherited level). */
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, addMember, api, createGroup, createProject, createUser, type TestUser } from '../support/api';

describe('GET /projects and members/all/:user_id', () => {
  let owner: TestUser, guest: TestUser, stranger: TestUser;
  let group: { id: number }, sub: { id: number };
  let priv: { id: number; path_with_namespace: string }, pub: { id: number; path_with_namespace: string };

  beforeAll(async () => {
    [owner, guest, stranger] = await Promise.all([createUser(), createUser(), createUser()]);
    group = await createGroup({ token: owner.token, visibility: 'public' });
    sub = await createGroup({ token: owner.token, parentId: group.id, visibility: 'public' });
    priv = await createProject(sub.id, { token: owner.token });
    pub = await createProject(sub.id, { token: owner.token, visibility: 'public' });
    await addMember('groups', group.id, guest.id, 10);
  });

  it('lists the private project to its inherited members and admins only, the public one to anyone', async () => {
    const paths = async (token: string | null) => {
      const r = await api('GET', '/api/v4/projects?per_page=100', { token });
      expect(r.status).toBe(200);
      expect(r.headers.get('X-Total')).not.toBeNull();
      return (r.body as Array<{ path_with_namespace: string }>).map((p) => p.path_with_namespace);
    };
    for (const who of [owner.token, guest.token, ADMIN]) expect(await paths(who)).toContain(priv.path_with_namespace);
    expect(await paths(stranger.token)).not.toContain(priv.path_with_namespace);
    expect(await paths(null)).toContain(pub.path_with_namespace);
    expect(await paths(null)).not.toContain(priv.path_with_namespace);
  });

  it('answers the effective level through the ancestors, and 404 for non-members and unreadable sources', async () => {
    const level = async (kind: string, id: number, userId: number, token: string) => api('GET', `/api/v4/${kind}/${id}/members/all/${userId}`, { token });
    expect(await level('projects', priv.id, owner.id, owner.token)).toMatchObject({ status: 200, body: { id: owner.id, username: owner.username, access_level: 50 } });
    expect(await level('projects', priv.id, guest.id, guest.token)).toMatchObject({ status: 200, body: { access_level: 10 } });
    expect(await level('groups', sub.id, guest.id, guest.token)).toMatchObject({ status: 200, body: { access_level: 10 } });
    expect(await level('projects', pub.id, stranger.id, stranger.token)).toMatchObject({ status: 404, body: { message: '404 Member Not Found' } });
    expect(await level('projects', priv.id, owner.id, stranger.token)).toMatchObject({ status: 404, body: { message: '404 Project Not Found' } });
    expect((await level('projects', priv.id, 99999999, owner.token)).status).toBe(404);
    expect((await api('GET', `/api/v4/projects/${priv.id}/members/all/abc`, { token: owner.token })).status).toBe(404);
  });
});
