import { describe, expect, it } from 'vitest';
import { api, ADMIN, createUser, createGroup, createProject, addMember } from './support/api';

describe('directory flow', () => {
  it('creates user, token, group, subgroup, project, members', async () => {
    const alice = await createUser();
    const me = await api('GET', '/api/v4/user', { token: alice.token });
    expect(me.status).toBe(200);
    const g = await createGroup({ token: alice.token, visibility: 'public' });
    const sub = await createGroup({ token: alice.token, parentId: g.id, visibility: 'public' });
    expect(sub.full_path).toBe(`${g.full_path}/${sub.path}`);
    const p = await createProject(sub.id, { token: alice.token, visibility: 'public' });
    expect(p.path_with_namespace).toBe(`${sub.full_path}/${p.path}`);
    const bob = await createUser();
    await addMember('groups', g.id, bob.id, 30);
    const byPath = await api('GET', `/api/v4/groups/${encodeURIComponent(sub.full_path)}`, { token: bob.token });
    expect(byPath.status).toBe(200);
    const ev = await api('GET', `/api/v4/groups/${g.id}/members`, { token: ADMIN });
    expect(ev.body.length).toBe(2);
    expect(ev.headers.get('X-Total')).toBe('2');
  });
});
