/**
 * The listings decide readability in SQL (src/db/namespaces.ts readableCondition); can() decides
 * it for one group or project. They must agree (issue 14): for every caller, a group is listed
 * by GET /groups, and by its parent's GET /subgroups, exactly when GET /groups/:id answers 200,
 * and a project is listed by its group's GET /projects exactly when GET /projects/:id answers 200.
 * The world mixes visibilities, inherited, direct, project-only and expired memberships.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { ADMIN, addMember, api, createGroup, createProject, createUser, type TestUser } from '../support/api';

interface Node {
  id: number;
  parentId: number | null;
}

const groups: Node[] = [];
const projects: Node[] = [];
const callers: Record<string, string | null> = { anonymous: null, admin: ADMIN };

beforeAll(async () => {
  const pub = await createGroup({ visibility: 'public' });
  const internal = await createGroup({ visibility: 'internal' });
  const priv = await createGroup();
  const privSub = await createGroup({ parentId: priv.id });
  const pubSub = await createGroup({ parentId: pub.id, visibility: 'public' });
  const pubPrivSub = await createGroup({ parentId: pub.id });
  for (const [g, parentId] of [[pub, null], [internal, null], [priv, null], [privSub, priv.id], [pubSub, pub.id], [pubPrivSub, pub.id]] as const) {
    groups.push({ id: g.id, parentId });
  }
  const inPub = await Promise.all(['public', 'internal', 'private'].map((visibility) => createProject(pub.id, { visibility })));
  const inPrivSub = await createProject(privSub.id);
  const inInternal = await createProject(internal.id, { visibility: 'internal' });
  for (const [p, groupId] of [...inPub.map((p) => [p, pub.id] as const), [inPrivSub, privSub.id], [inInternal, internal.id]] as const) {
    projects.push({ id: p.id, parentId: groupId });
  }

  const [outsider, privMember, subMember, expiredMember, projectMember, pubSubOwner]: TestUser[] = await Promise.all(
    Array.from({ length: 6 }, () => createUser()),
  );
  await addMember('groups', priv.id, privMember.id, 10);
  await addMember('groups', privSub.id, subMember.id, 30);
  await addMember('groups', priv.id, expiredMember.id, 50);
  await env.DB.prepare(`UPDATE members SET expires_at = '2000-01-01' WHERE user_id = ?1`).bind(expiredMember.id).run();
  await addMember('projects', inPub[2].id, projectMember.id, 20);
  await addMember('groups', pubPrivSub.id, pubSubOwner.id, 50);
  Object.assign(callers, { outsider: outsider.token, privMember: privMember.token, subMember: subMember.token, expiredMember: expiredMember.token, projectMember: projectMember.token, pubSubOwner: pubSubOwner.token });
});

/** The ids among `among` that a paged listing at `path` shows to `token`. */
async function listed(path: string, token: string | null, among: Node[]): Promise<number[]> {
  const wanted = new Set(among.map((n) => n.id));
  const seen: number[] = [];
  for (let page = 1; ; page++) {
    const r = await api('GET', `${path}${path.includes('?') ? '&' : '?'}per_page=100&page=${page}`, { token });
    if (r.status !== 200) return [];
    seen.push(...(r.body as { id: number }[]).map((x) => x.id).filter((id) => wanted.has(id)));
    if (r.body.length < 100) return seen.sort((a, b) => a - b);
  }
}

/** The ids among `nodes` that `GET /{kind}/:id` answers 200 to `token` (can(read_group / read_project)). */
async function readable(kind: 'groups' | 'projects', nodes: Node[], token: string | null): Promise<number[]> {
  const ok = await Promise.all(nodes.map(async (n) => ((await api('GET', `/api/v4/${kind}/${n.id}`, { token })).status === 200 ? n.id : null)));
  return ok.filter((id): id is number => id !== null).sort((a, b) => a - b);
}

describe('listings agree with can()', () => {
  it('GET /groups, /groups/:id/subgroups and /groups/:id/projects list exactly what each caller can read', async () => {
    const summary: Record<string, [number, number]> = {};
    for (const [who, token] of Object.entries(callers)) {
      const canGroups = await readable('groups', groups, token);
      expect(await listed('/api/v4/groups', token, groups), `${who}: GET /groups`).toEqual(canGroups);
      const canProjects = await readable('projects', projects, token);
      for (const g of groups.filter((x) => canGroups.includes(x.id))) {
        const children = groups.filter((c) => c.parentId === g.id);
        expect(await listed(`/api/v4/groups/${g.id}/subgroups`, token, children), `${who}: subgroups of ${g.id}`).toEqual(canGroups.filter((id) => children.some((c) => c.id === id)));
        const own = projects.filter((p) => p.parentId === g.id);
        expect(await listed(`/api/v4/groups/${g.id}/projects`, token, own), `${who}: projects of ${g.id}`).toEqual(canProjects.filter((id) => own.some((p) => p.id === id)));
      }
      summary[who] = [canGroups.length, canProjects.length];
    }
    // [groups, projects] each caller reads: the cells the comparison above runs on are not all empty.
    expect(summary).toEqual({
      anonymous: [2, 1],
      admin: [6, 5],
      outsider: [3, 3],
      privMember: [5, 4],
      subMember: [4, 4],
      expiredMember: [3, 3],
      projectMember: [3, 4],
      pubSubOwner: [4, 3],
    });
  });
});
