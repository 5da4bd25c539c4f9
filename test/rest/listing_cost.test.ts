/**
 * What the REST listings cost in D1 round trips (issue 14): a fixed number per request (the
 * caller's token, the group, the caller's access level, one batch for the page and its total),
 * whatever the number of rows, never one or two more per row. Each listing is paged as GitLab
 * pages it (page, per_page at most 100, X-Total, Link).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { handleRest } from '../../src/http/router';
import { ADMIN, BASE, addMember, api, createGroup, createProject, createUser, unique, type TestUser } from '../support/api';
import { countingEnv } from '../support/d1';

let member: TestUser;
let outsider: TestUser;

beforeAll(async () => {
  [member, outsider] = await Promise.all([createUser(), createUser()]);
});

/** GET `path` under /api/v4 as `token`, counting the D1 round trips of the request alone. */
async function listCost(path: string, token: string | null): Promise<{ roundTrips: number; status: number; body: any; headers: Headers }> {
  const counting = countingEnv();
  const ctx = createExecutionContext();
  const res = await handleRest(new Request(`${BASE}/api/v4${path}`, { headers: token ? { 'PRIVATE-TOKEN': token } : {} }), counting.env, ctx);
  const body = await res.json();
  await waitOnExecutionContext(ctx);
  return { roundTrips: counting.roundTrips(), status: res.status, body, headers: res.headers };
}

describe('REST listings: D1 round trips do not grow with the rows', () => {
  it('GET /groups/:id/projects: a public group, read anonymously, by an outsider, a member and an admin', async () => {
    const group = await createGroup({ visibility: 'public' });
    await addMember('groups', group.id, member.id, 10);
    await createProject(group.id, { visibility: 'public' });
    const callers: [string, string | null, number][] = [
      // [who, token, round trips]: group; (token); (the member's level: one query, memoised per request).
      ['anonymous', null, 2],
      ['outsider', outsider.token, 3],
      ['member', member.token, 3],
      ['admin', ADMIN, 3],
    ];
    const before = new Map<string, number>();
    for (const [who, token, trips] of callers) {
      const one = await listCost(`/groups/${group.id}/projects`, token);
      expect(one.status, who).toBe(200);
      expect(one.body, who).toHaveLength(1);
      expect(one.roundTrips, who).toBe(trips);
      before.set(who, one.roundTrips);
    }
    for (const visibility of ['public', 'public', 'internal', 'private', 'private']) await createProject(group.id, { visibility });
    const seen: Record<string, number> = {};
    for (const [who, token] of callers) {
      const six = await listCost(`/groups/${group.id}/projects`, token);
      expect(six.roundTrips, who).toBe(before.get(who));
      seen[who] = six.body.length;
      expect(six.headers.get('X-Total'), who).toBe(String(six.body.length));
    }
    // Anonymous: the 3 public ones; an outsider: internal too; members and admins: all 6.
    expect(seen).toEqual({ anonymous: 3, outsider: 4, member: 6, admin: 6 });
  });

  it('GET /groups/:id/projects pages with GitLab headers, newest first, and caps per_page at 100', async () => {
    const group = await createGroup();
    const made = [];
    for (let i = 0; i < 3; i++) made.push(await createProject(group.id));
    const first = await listCost(`/groups/${group.id}/projects?per_page=2`, ADMIN);
    expect(first.body.map((p: { id: number }) => p.id)).toEqual([made[2].id, made[1].id]);
    expect(first.headers.get('X-Total')).toBe('3');
    expect(first.headers.get('X-Total-Pages')).toBe('2');
    expect(first.headers.get('X-Next-Page')).toBe('2');
    expect(first.headers.get('Link')).toContain('rel="next"');
    const second = await listCost(`/groups/${group.id}/projects?per_page=2&page=2`, ADMIN);
    expect(second.body.map((p: { id: number }) => p.id)).toEqual([made[0].id]);
    expect(second.roundTrips).toBe(first.roundTrips);
    const capped = await listCost(`/groups/${group.id}/projects?per_page=1000`, ADMIN);
    expect(capped.headers.get('X-Per-Page')).toBe('100');
  });

  it('GET /users: one batch for the page, whatever its size', async () => {
    const one = await listCost('/users?per_page=1', member.token);
    const many = await listCost('/users?per_page=50', member.token);
    expect(one.body).toHaveLength(1);
    expect(many.body.length).toBeGreaterThan(2);
    // The caller's token, then the page with its total.
    expect(one.roundTrips).toBe(2);
    expect(many.roundTrips).toBe(2);
    expect(Number(many.headers.get('X-Total'))).toBeGreaterThanOrEqual(many.body.length);
  });

  it('GET /groups and GET /groups/:id/subgroups: one batch for the page', async () => {
    const group = await createGroup({ visibility: 'public' });
    await addMember('groups', group.id, member.id, 10);
    await createGroup({ parentId: group.id, visibility: 'public' });
    const groups1 = await listCost('/groups?per_page=1', member.token);
    const groups50 = await listCost('/groups?per_page=50', member.token);
    expect(groups1.roundTrips).toBe(2);
    expect(groups50.roundTrips).toBe(2);
    const sub1 = await listCost(`/groups/${group.id}/subgroups`, outsider.token);
    for (let i = 0; i < 3; i++) await createGroup({ parentId: group.id, visibility: 'public' });
    const sub4 = await listCost(`/groups/${group.id}/subgroups`, outsider.token);
    expect(sub1.body).toHaveLength(1);
    expect(sub4.body).toHaveLength(4);
    // Token, group, the outsider's level (read_all_subgroups), the page.
    expect(sub4.roundTrips).toBe(4);
    expect(sub1.roundTrips).toBe(sub4.roundTrips);
  });

  it('GET /groups/:id/members: one batch for the page, and no expired member in it', async () => {
    const group = await createGroup();
    const expired = await createUser();
    await addMember('groups', group.id, expired.id, 30);
    await env.DB.prepare(`UPDATE members SET expires_at = '2000-01-01' WHERE source_type = 'Namespace' AND source_id = ?1 AND user_id = ?2`).bind(group.id, expired.id).run();
    const small = await listCost(`/groups/${group.id}/members`, ADMIN);
    for (const u of await Promise.all([createUser(), createUser(), createUser()])) await addMember('groups', group.id, u.id, 20);
    const large = await listCost(`/groups/${group.id}/members`, ADMIN);
    // root, the group's creator, is its one active member at first; the expired one is never listed.
    expect(small.body.map((m: { id: number }) => m.id)).toEqual([1]);
    expect(small.headers.get('X-Total')).toBe('1');
    expect(large.body).toHaveLength(4);
    expect(large.body.map((m: { id: number }) => m.id)).not.toContain(expired.id);
    expect(large.roundTrips).toBe(small.roundTrips);
    expect((await listCost(`/groups/${group.id}/members/${expired.id}`, ADMIN)).status).toBe(404);
  });

  it('GET /projects/:id/releases and GET /personal_access_tokens: the same round trips for one row as for many', async () => {
    const project = await createProject((await createGroup()).id);
    const release = (tag: string) =>
      api('POST', `/api/v4/projects/${project.id}/releases`, { token: ADMIN, body: { tag_name: tag, assets: { links: [{ name: 'a', url: `https://example.com/${tag}/a` }, { name: 'b', url: `https://example.com/${tag}/b` }] } } });
    expect((await release(unique('v'))).status).toBe(201);
    const one = await listCost(`/projects/${project.id}/releases`, ADMIN);
    for (let i = 0; i < 3; i++) expect((await release(unique('v'))).status).toBe(201);
    const four = await listCost(`/projects/${project.id}/releases`, ADMIN);
    expect(one.body).toHaveLength(1);
    expect(four.body).toHaveLength(4);
    expect(four.body.every((r: any) => r.assets.links.length === 2)).toBe(true);
    // The caller's token, the project, the releases with their links in one batch.
    expect(one.roundTrips).toBe(3);
    expect(four.roundTrips).toBe(one.roundTrips);

    const tokens1 = await listCost('/personal_access_tokens?per_page=1', ADMIN);
    const tokens50 = await listCost('/personal_access_tokens?per_page=50', ADMIN);
    expect(tokens1.body).toHaveLength(1);
    expect(tokens50.body.length).toBeGreaterThan(1);
    expect(tokens1.roundTrips).toBe(2);
    expect(tokens50.roundTrips).toBe(tokens1.roundTrips);
  });
});
