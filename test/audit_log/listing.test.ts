import { beforeAll, describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { ADMIN, api, createGroup, createProject, createUser, type TestUser } from '../support/api';
import { eventInput, groupEntityOf, insertEvents, projectEntityOf } from './support';
import { findGroup } from '../../src/db/namespaces';
import { keysetPageSql, scopeRange, type AuditScope } from '../../src/audit/query';

/** Follow keyset Link rel="next" headers from a first path; returns ids in order and the pages seen. */
async function followKeyset(first: string, token: string, between?: (page: number) => Promise<void>) {
  const ids: number[] = [];
  let path: string | null = first;
  let pages = 0;
  while (path) {
    const r: { status: number; body: any; headers: Headers } = await api('GET', path, { token });
    expect(r.status).toBe(200);
    ids.push(...r.body.map((e: { id: number }) => e.id));
    pages++;
    const link: string | null = r.headers.get('Link');
    if (link) {
      expect(link).toMatch(/rel="next"$/);
      const url: URL = new URL(link.slice(1, link.indexOf('>')));
      expect(url.searchParams.get('cursor')).toBeTruthy();
      path = url.pathname + url.search;
    } else path = null;
    if (between && path) await between(pages);
  }
  return { ids, pages };
}

describe('audit log listing: fields, filters, pagination, indexes', () => {
  let group: { id: number; full_path: string };
  let sub: { id: number };
  let sibling: { id: number };
  let project: { id: number };
  let alice: TestUser;
  let bob: TestUser;
  const ids: Record<string, number> = {};

  beforeAll(async () => {
    [alice, bob] = await Promise.all([createUser(), createUser()]);
    group = await createGroup();
    sub = await createGroup({ parentId: group.id });
    sibling = await createGroup();
    project = await createProject(sub.id);
    const g = await groupEntityOf(group.id);
    const s = await groupEntityOf(sub.id);
    const sib = await groupEntityOf(sibling.id);
    const p = await projectEntityOf(project.id);
    const [old, mid, recent, subEv, projEv, sibEv] = await insertEvents([
      eventInput(g, alice, { eventType: 'release_created', createdAt: '2021-03-01T10:00:00.000Z', ipAddress: '10.0.0.1' }),
      eventInput(g, bob, { eventType: 'release_updated', createdAt: '2021-06-15T12:00:00.000Z', details: { change: 'name', from: 'a', to: 'b' } }),
      eventInput(g, alice, { eventType: 'release_deleted_audit_event', createdAt: '2021-09-30T23:59:59.000Z' }),
      eventInput(s, bob, { eventType: 'member_created', createdAt: '2021-07-01T00:00:00.000Z' }),
      eventInput(p, alice, { eventType: 'release_created', createdAt: '2021-07-02T00:00:00.000Z', target: { id: 7, type: 'Release', details: 'v1.0' } }),
      eventInput(sib, alice, { eventType: 'release_created', createdAt: '2021-07-03T00:00:00.000Z' }),
    ]);
    Object.assign(ids, { old, mid, recent, subEv, projEv, sibEv });
  });

  it("answers GitLab's fields, newest first, with subgroups and projects included and siblings excluded", async () => {
    const r = await api('GET', `/api/v4/groups/${group.id}/audit_events?created_before=2022-01-01`, { token: ADMIN });
    expect(r.status).toBe(200);
    expect(r.body.map((e: { id: number }) => e.id)).toEqual([ids.projEv, ids.subEv, ids.recent, ids.mid, ids.old]);
    const proj = r.body.find((e: { id: number }) => e.id === ids.projEv);
    expect(Object.keys(proj).sort()).toEqual(['author_id', 'created_at', 'details', 'entity_id', 'entity_type', 'event_type', 'id']);
    expect(proj).toMatchObject({
      author_id: alice.id,
      entity_id: project.id,
      entity_type: 'Project',
      event_type: 'release_created',
      created_at: '2021-07-02T00:00:00.000Z',
      details: { author_name: alice.name, target_id: 7, target_type: 'Release', target_details: 'v1.0', custom_message: 'did something' },
    });
    expect(proj.details.entity_path).toMatch(/\//);
    const mid = r.body.find((e: { id: number }) => e.id === ids.mid);
    expect(mid.details).toMatchObject({ change: 'name', from: 'a', to: 'b' });
    // The subgroup's own listing: itself and its project, not the parent's events.
    const s = await api('GET', `/api/v4/groups/${sub.id}/audit_events?created_before=2022-01-01`, { token: ADMIN });
    expect(s.body.map((e: { id: number }) => e.id)).toEqual([ids.projEv, ids.subEv]);
    // By full path too.
    const byPath = await api('GET', `/api/v4/groups/${encodeURIComponent(group.full_path)}/audit_events?created_before=2022-01-01`, { token: ADMIN });
    expect(byPath.body.length).toBe(5);
  });

  it('filters: created_after / created_before (inclusive), event_type, author_id, combined', async () => {
    const base = `/api/v4/groups/${group.id}/audit_events`;
    const idsOf = async (q: string) => (await api('GET', `${base}?${q}`, { token: ADMIN })).body.map((e: { id: number }) => e.id);
    expect(await idsOf('created_after=2021-06-15T12:00:00Z&created_before=2021-09-30T23:59:59Z')).toEqual([
      ids.projEv,
      ids.subEv,
      ids.recent,
      ids.mid,
    ]);
    expect(await idsOf('created_after=2021-06-15T12:00:00.001Z&created_before=2021-07-01T00:00:00%2B00:00')).toEqual([ids.subEv]);
    expect(await idsOf('created_before=2021-03-02')).toEqual([ids.old]);
    expect(await idsOf('event_type=release_created&created_before=2022-01-01')).toEqual([ids.projEv, ids.old]);
    expect(await idsOf(`author_id=${bob.id}`)).toEqual([ids.subEv, ids.mid]);
    expect(await idsOf(`author_id=${bob.id}&event_type=member_created`)).toEqual([ids.subEv]);
    expect(await idsOf('event_type=no_such_type')).toEqual([]);
  });

  it('bad parameters are 400 in Grape words', async () => {
    const base = `/api/v4/groups/${group.id}/audit_events`;
    expect((await api('GET', `${base}?created_after=yesterday`, { token: ADMIN })).body).toEqual({ error: 'created_after is invalid' });
    expect((await api('GET', `${base}?created_before=2021-13-45`, { token: ADMIN })).body).toEqual({ error: 'created_before is invalid' });
    expect((await api('GET', `${base}?author_id=abc`, { token: ADMIN })).body).toEqual({ error: 'author_id is invalid' });
    expect((await api('GET', `${base}?pagination=sideways`, { token: ADMIN })).body).toEqual({ error: 'pagination does not have a valid value' });
    expect((await api('GET', `${base}?pagination=keyset&order_by=created_at`, { token: ADMIN })).body).toEqual({
      error: 'order_by does not have a valid value',
    });
    expect((await api('GET', `${base}?pagination=keyset&cursor=%%%`, { token: ADMIN })).body).toEqual({ error: 'cursor is invalid' });
    expect((await api('GET', `${base}/abc`, { token: ADMIN })).body).toEqual({ error: 'audit_event_id is invalid' });
    expect((await api('GET', '/api/v4/audit_events?entity_type=Planet', { token: ADMIN })).body).toEqual({
      error: 'entity_type does not have a valid value',
    });
    expect((await api('GET', '/api/v4/audit_events?entity_id=5', { token: ADMIN })).body).toEqual({ error: 'entity_type is missing' });
  });

  it('instance listing filters by entity_type and entity_id', async () => {
    const r = await api('GET', `/api/v4/audit_events?entity_type=Group&entity_id=${sub.id}&created_before=2022-01-01`, { token: ADMIN });
    expect(r.body.map((e: { id: number }) => e.id)).toEqual([ids.subEv]);
    const p = await api('GET', `/api/v4/audit_events?entity_type=Project&entity_id=${project.id}&event_type=release_created`, { token: ADMIN });
    expect(p.body.map((e: { id: number }) => e.id)).toEqual([ids.projEv]);
    const none = await api('GET', `/api/v4/audit_events?entity_type=User&entity_id=${sub.id}&created_before=2000-01-01`, { token: ADMIN });
    expect(none.body).toEqual([]);
  });

  it('offset pagination with GitLab headers', async () => {
    const base = `/api/v4/groups/${group.id}/audit_events?created_before=2022-01-01&per_page=2`;
    const p1 = await api('GET', base, { token: ADMIN });
    expect(p1.headers.get('X-Total')).toBe('5');
    expect(p1.headers.get('X-Total-Pages')).toBe('3');
    expect(p1.headers.get('X-Page')).toBe('1');
    expect(p1.headers.get('X-Per-Page')).toBe('2');
    expect(p1.headers.get('X-Next-Page')).toBe('2');
    expect(p1.headers.get('Link')).toContain('rel="next"');
    const p3 = await api('GET', `${base}&page=3`, { token: ADMIN });
    expect(p3.body.map((e: { id: number }) => e.id)).toEqual([ids.old]);
    expect(p3.headers.get('X-Next-Page')).toBe('');
  });

  it('keyset pagination: Link rel="next" with a cursor, absent on the last page; desc by default, asc on request', async () => {
    const base = `/api/v4/groups/${group.id}/audit_events?created_before=2022-01-01&pagination=keyset&per_page=2&order_by=id`;
    const desc = await followKeyset(base, ADMIN);
    expect(desc.ids).toEqual([ids.projEv, ids.subEv, ids.recent, ids.mid, ids.old]);
    expect(desc.pages).toBe(3);
    const asc = await followKeyset(`${base}&sort=asc`, ADMIN);
    expect(asc.ids).toEqual([ids.old, ids.mid, ids.recent, ids.subEv, ids.projEv]);
    const last = await api('GET', base.replace('per_page=2', 'per_page=5'), { token: ADMIN });
    expect(last.body.length).toBe(5);
    expect(last.headers.get('Link')).toBeNull();
    expect(last.headers.get('X-Total')).toBeNull();
  });

  it('keyset pagination is stable under inserts between pages: no duplicates, no gaps', async () => {
    const fresh = await createGroup();
    const entity = await groupEntityOf(fresh.id);
    const initial = await insertEvents(Array.from({ length: 7 }, () => eventInput(entity, alice)));
    const added: number[] = [];
    const insertSome = async () => {
      added.push(...(await insertEvents([eventInput(entity, bob), eventInput(entity, bob)])));
    };
    const base = `/api/v4/groups/${fresh.id}/audit_events?pagination=keyset&per_page=3&order_by=id`;
    // Newest first: what was there when the walk began, exactly once each; later rows are newer.
    const desc = await followKeyset(`${base}&sort=desc`, ADMIN, insertSome);
    const ownDesc = desc.ids.filter((id) => initial.includes(id) || added.includes(id));
    expect(new Set(ownDesc).size).toBe(ownDesc.length);
    expect(ownDesc.filter((id) => initial.includes(id))).toEqual([...initial].reverse());
    // group_created (the group's own creation event) comes last; nothing inserted later appears.
    expect(ownDesc.filter((id) => added.includes(id))).toEqual([]);
    // Oldest first: every row, including those inserted during the walk, exactly once, in order.
    const before = added.length;
    const asc = await followKeyset(`${base}&sort=asc`, ADMIN, insertSome);
    expect(added.length).toBeGreaterThan(before);
    const sorted = [...asc.ids].sort((a, b) => a - b);
    expect(asc.ids).toEqual(sorted);
    expect(new Set(asc.ids).size).toBe(asc.ids.length);
    for (const id of [...initial, ...added.slice(0, before)]) expect(asc.ids).toContain(id);
  });

  it('project listing and single event', async () => {
    const r = await api('GET', `/api/v4/projects/${project.id}/audit_events?created_before=2022-01-01`, { token: ADMIN });
    expect(r.body.map((e: { id: number }) => e.id)).toEqual([ids.projEv]);
    const one = await api('GET', `/api/v4/projects/${project.id}/audit_events/${ids.projEv}`, { token: ADMIN });
    expect(one.body.id).toBe(ids.projEv);
    const other = await api('GET', `/api/v4/groups/${sibling.id}/audit_events/${ids.projEv}`, { token: ADMIN });
    expect(other.status).toBe(404);
  });

  it('group and project queries are served by indexes, never a full scan', async () => {
    const top = (await findGroup(env.DB, String(group.id)))!;
    const subNs = (await findGroup(env.DB, String(sub.id)))!;
    const scopes: AuditScope[] = [
      { kind: 'group', group: top },
      { kind: 'group', group: subNs },
      { kind: 'project', project: { id: project.id, fullPath: 'x' } },
    ];
    const filterSets = [{}, { createdAfter: '2021-01-01T00:00:00.000Z' }, { eventType: 'release_created' }, { onlyAuthorId: alice.id }];
    for (const scope of scopes) {
      for (const filters of filterSets) {
        for (const sort of ['asc', 'desc'] as const) {
          const q = keysetPageSql(scope, filters, { sort, afterId: 10 }, 21);
          const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${q.sql}`).bind(...q.binds).all<{ detail: string }>();
          const details = plan.results.map((r) => r.detail);
          const onEvents = details.filter((d) => /audit_events/.test(d));
          expect(onEvents.length, JSON.stringify(details)).toBeGreaterThan(0);
          for (const d of onEvents) expect(d, `${q.sql}\n${JSON.stringify(details)}`).toMatch(/^SEARCH audit_events USING/);
        }
      }
    }
  });

  it('scope ranges cover exactly a group and what lies below it', () => {
    const [lo, hi] = scopeRange('1/5/');
    const inRange = (s: string) => s >= lo && s < hi;
    expect(inRange('1/5/')).toBe(true);
    expect(inRange('1/5/9/')).toBe(true);
    expect(inRange('1/5/p12/')).toBe(true);
    expect(inRange('1/50/')).toBe(false);
    expect(inRange('1/5')).toBe(false);
    expect(inRange('1/4/')).toBe(false);
    expect(inRange('1/6/')).toBe(false);
  });

  it('no route changes an event: PUT, PATCH, DELETE and POST answer 405, for root too', async () => {
    const before = await env.DB.prepare('SELECT * FROM audit_events WHERE id = ?1').bind(ids.mid).first();
    const paths = [
      `/api/v4/audit_events/${ids.mid}`,
      `/api/v4/groups/${group.id}/audit_events/${ids.mid}`,
      `/api/v4/projects/${project.id}/audit_events/${ids.projEv}`,
      `/api/v4/groups/${group.id}/audit_events`,
      `/api/v4/projects/${project.id}/audit_events`,
    ];
    for (const path of paths) {
      for (const method of ['PUT', 'PATCH', 'DELETE', 'POST']) {
        const r = await api(method, path, { token: ADMIN, body: { details: { custom_message: 'rewritten' } } });
        expect(r.status, `${method} ${path}`).toBe(405);
        expect(r.body).toEqual({ message: '405 Method Not Allowed' });
        expect(r.headers.get('Allow')).toBe('GET');
      }
    }
    for (const method of ['PUT', 'PATCH', 'DELETE']) {
      expect((await api(method, '/api/v4/audit_events', { token: ADMIN, body: {} })).status).toBe(405);
    }
    const after = await env.DB.prepare('SELECT * FROM audit_events WHERE id = ?1').bind(ids.mid).first();
    expect(after).toEqual(before);
  });
});
