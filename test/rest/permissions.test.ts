/**
 * The permission matrix of the directory endpoints: every caller role against every endpoint,
 * with the status GitLab's rules give. Private group and project throughout (so reading needs
 * membership); "inherited" holds Owner on the parent group only.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { api, ADMIN, addMember, createGroup, createProject, createUser, unique, type TestUser } from '../support/api';

type Role = 'anonymous' | 'nonMember' | 'guest' | 'reporter' | 'developer' | 'maintainer' | 'owner' | 'inheritedOwner' | 'root';
const ROLES: Role[] = ['anonymous', 'nonMember', 'guest', 'reporter', 'developer', 'maintainer', 'owner', 'inheritedOwner', 'root'];
const LEVEL: Partial<Record<Role, number>> = { guest: 10, reporter: 20, developer: 30, maintainer: 40, owner: 50 };

let parent: { id: number };
let group: { id: number; full_path: string };
let project: { id: number };
const users: Partial<Record<Role, TestUser>> = {};
let spare: TestUser;

function tokenOf(role: Role): string | null {
  if (role === 'anonymous') return null;
  if (role === 'root') return ADMIN;
  return users[role]!.token;
}

beforeAll(async () => {
  parent = await createGroup();
  group = await createGroup({ parentId: parent.id });
  project = await createProject(group.id);
  for (const role of ROLES) {
    if (role === 'anonymous' || role === 'root') continue;
    users[role] = await createUser();
  }
  for (const [role, level] of Object.entries(LEVEL)) {
    await addMember('groups', group.id, users[role as Role]!.id, level!);
  }
  await addMember('groups', parent.id, users.inheritedOwner!.id, 50);
  spare = await createUser();
});

const R = (anonymous: number, nonMember: number, guest: number, reporter: number, developer: number, maintainer: number, owner: number, inheritedOwner: number, root: number) =>
  ({ anonymous, nonMember, guest, reporter, developer, maintainer, owner, inheritedOwner, root }) satisfies Record<Role, number>;

interface Case {
  name: string;
  expected: Record<Role, number>;
  run: (token: string | null, role: Role) => Promise<{ status: number }>;
}

const CASES: Case[] = [
  { name: 'GET /groups/:id', expected: R(404, 404, 200, 200, 200, 200, 200, 200, 200), run: (t) => api('GET', `/api/v4/groups/${group.id}`, { token: t }) },
  { name: 'GET /groups/:id/subgroups', expected: R(404, 404, 200, 200, 200, 200, 200, 200, 200), run: (t) => api('GET', `/api/v4/groups/${group.id}/subgroups`, { token: t }) },
  { name: 'GET /groups/:id/members', expected: R(404, 404, 200, 200, 200, 200, 200, 200, 200), run: (t) => api('GET', `/api/v4/groups/${group.id}/members`, { token: t }) },
  {
    name: 'POST /groups (subgroup)',
    expected: R(401, 404, 403, 403, 403, 403, 201, 201, 201),
    run: (t) => api('POST', '/api/v4/groups', { token: t, body: { name: unique('s'), path: unique('s'), parent_id: group.id } }),
  },
  {
    name: 'POST /projects',
    expected: R(401, 404, 403, 403, 403, 201, 201, 201, 201),
    run: (t) => api('POST', '/api/v4/projects', { token: t, body: { name: unique('p'), namespace_id: group.id } }),
  },
  { name: 'GET /projects/:id', expected: R(404, 404, 200, 200, 200, 200, 200, 200, 200), run: (t) => api('GET', `/api/v4/projects/${project.id}`, { token: t }) },
  { name: 'GET /projects/:id/members', expected: R(404, 404, 200, 200, 200, 200, 200, 200, 200), run: (t) => api('GET', `/api/v4/projects/${project.id}/members`, { token: t }) },
  {
    name: 'POST+DELETE /groups/:id/members',
    expected: R(401, 404, 403, 403, 403, 403, 201, 201, 201),
    run: async (t) => {
      const r = await api('POST', `/api/v4/groups/${group.id}/members`, { token: t, body: { user_id: spare.id, access_level: 10 } });
      if (r.status === 201) await api('DELETE', `/api/v4/groups/${group.id}/members/${spare.id}`, { token: ADMIN });
      return r;
    },
  },
  {
    name: 'POST+DELETE /projects/:id/members',
    expected: R(401, 404, 403, 403, 403, 201, 201, 201, 201),
    run: async (t) => {
      const r = await api('POST', `/api/v4/projects/${project.id}/members`, { token: t, body: { user_id: spare.id, access_level: 10 } });
      if (r.status === 201) await api('DELETE', `/api/v4/projects/${project.id}/members/${spare.id}`, { token: ADMIN });
      return r;
    },
  },
  {
    name: 'POST /users',
    expected: R(401, 403, 403, 403, 403, 403, 403, 403, 201),
    run: (t) => {
      const n = unique('m');
      return api('POST', '/api/v4/users', { token: t, body: { username: n, name: n, email: `${n}@example.com`, password: 'pw-secret-1' } });
    },
  },
  {
    name: 'POST /users/:id/personal_access_tokens',
    expected: R(401, 403, 403, 403, 403, 403, 403, 403, 201),
    run: (t) => api('POST', `/api/v4/users/${spare.id}/personal_access_tokens`, { token: t, body: { name: 'x', scopes: ['api'] } }),
  },
  { name: 'GET /user', expected: R(401, 200, 200, 200, 200, 200, 200, 200, 200), run: (t) => api('GET', '/api/v4/user', { token: t }) },
];

describe('permission matrix', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const got: Partial<Record<Role, number>> = {};
      for (const role of ROLES) got[role] = (await c.run(tokenOf(role), role)).status;
      expect(got).toEqual(c.expected);
    });
  }
});
