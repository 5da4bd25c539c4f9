/**
 * GraphQL shows a namespace exactly when REST does (issue 17): `Group.parent`, `Project.group`
 * and `Project.namespace` answer null for a group the viewer may not read (REST: `GET
 * /groups/:id` answers 404), as GitLab's GroupType (`authorize :read_group`) does. A member of
 * a subgroup or project only does not read its private ancestors; public and internal ones stay
 * visible by their visibility, to anonymous viewers too for public ones.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { addMember, api, call, createGroup, createProject, createUser, type TestUser } from '../support/api';
import { ok } from './support';

type Group = { id: number; full_path: string };
const gid = (g: Group) => `gid://gitlab/Group/${g.id}`;

/** What REST answers this viewer for a group: 200 or 404. */
async function restStatus(group: Group, token: string | null): Promise<number> {
  return (await call('GET', `/api/v4/groups/${group.id}`, { token })).status;
}

/** A group's parent through GraphQL, and REST's answer for that parent: they must agree. */
async function parentOf(group: Group, parent: Group, token: string | null): Promise<{ id: string } | null> {
  const data = await ok(`{ group(fullPath: "${group.full_path}") { id parent { id fullPath } } }`, token);
  expect(data.group, 'the group itself is visible').not.toBeNull();
  const seen = data.group.parent;
  expect(seen === null ? 404 : 200, 'GraphQL and REST agree').toBe(await restStatus(parent, token));
  return seen && { id: seen.id };
}

let member: TestUser;

beforeAll(async () => {
  member = await createUser();
});

describe('Group.parent', () => {
  it('is null for a private parent the viewer only reaches through a subgroup membership', async () => {
    const top = await createGroup();
    const sub = await createGroup({ parentId: top.id });
    await addMember('groups', sub.id, member.id, 30);
    expect(await parentOf(sub, top, member.token)).toBeNull();
    // One more level down: the subgroup (readable) is the parent of its own subgroup.
    const leaf = await createGroup({ parentId: sub.id });
    expect(await parentOf(leaf, sub, member.token)).toEqual({ id: gid(sub) });
    // A member of the parent sees it.
    const owner = await createUser();
    await addMember('groups', top.id, owner.id, 10);
    expect(await parentOf(sub, top, owner.token)).toEqual({ id: gid(top) });
  });

  it('shows public and internal parents by their visibility', async () => {
    const pub = await createGroup({ visibility: 'public' });
    const underPublic = await createGroup({ parentId: pub.id });
    await addMember('groups', underPublic.id, member.id, 10);
    expect(await parentOf(underPublic, pub, member.token)).toEqual({ id: gid(pub) });
    const internal = await createGroup({ visibility: 'internal' });
    const underInternal = await createGroup({ parentId: internal.id });
    await addMember('groups', underInternal.id, member.id, 10);
    expect(await parentOf(underInternal, internal, member.token)).toEqual({ id: gid(internal) });
  });

  it('anonymous viewers: public parents only', async () => {
    const pub = await createGroup({ visibility: 'public' });
    const child = await createGroup({ visibility: 'public', parentId: pub.id });
    expect(await parentOf(child, pub, null)).toEqual({ id: gid(pub) });
    // The API refuses a public subgroup under a non-public group; a parent made internal
    // afterwards (as by an administrator's direct change) is no longer shown to anonymous viewers.
    await env.DB.prepare("UPDATE namespaces SET visibility = 'internal' WHERE id = ?1").bind(pub.id).run();
    expect(await parentOf(child, pub, null)).toBeNull();
    expect(await parentOf(child, pub, member.token)).toEqual({ id: gid(pub) });
  });
});

describe('Project.group and Project.namespace', () => {
  const PROJECT = (path: string) => `{ project(fullPath: "${path}") { id group { id } namespace { id fullPath } } }`;

  it('are null for the private group of a project the viewer is a member of only', async () => {
    const top = await createGroup();
    const project = await createProject(top.id);
    await addMember('projects', project.id, member.id, 30);
    const data = await ok(PROJECT(project.path_with_namespace), member.token);
    expect(data.project).toMatchObject({ id: `gid://gitlab/Project/${project.id}`, group: null, namespace: null });
    expect(await restStatus(top, member.token)).toBe(404);
  });

  it('show the group when the viewer may read it (membership, visibility)', async () => {
    const top = await createGroup();
    const sub = await createGroup({ parentId: top.id });
    const project = await createProject(sub.id);
    await addMember('groups', sub.id, member.id, 10);
    const data = await ok(`{ project(fullPath: "${project.path_with_namespace}") { group { id parent { id } } namespace { id fullPath } } }`, member.token);
    expect(data.project).toEqual({ group: { id: gid(sub), parent: null }, namespace: { id: gid(sub), fullPath: sub.full_path } });
    const pub = await createGroup({ visibility: 'public' });
    const open = await createProject(pub.id, { visibility: 'public' });
    for (const token of [null, member.token]) {
      const seen = await ok(PROJECT(open.path_with_namespace), token);
      expect(seen.project).toMatchObject({ group: { id: gid(pub) }, namespace: { id: gid(pub), fullPath: pub.full_path } });
    }
  });

  it('a personal namespace is public: its projects show it, and no group', async () => {
    const own = await api('POST', '/api/v4/projects', { token: member.token, body: { name: 'mine', path: `mine-${member.id}`, visibility: 'public' } });
    expect(own.status).toBe(201);
    const data = await ok(PROJECT(own.body.path_with_namespace), null);
    expect(data.project).toMatchObject({ group: null, namespace: { id: expect.stringMatching(/^gid:\/\/gitlab\/Namespaces::UserNamespace\/\d+$/), fullPath: member.username } });
  });
});
