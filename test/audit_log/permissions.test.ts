import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, addMember, api, call, createGroup, createProject, createUser, type TestUser } from '../support/api';
import { eventInput, groupEntityOf, insertEvents, projectEntityOf } from './support';

/**
 * Who sees what (GitLab): group owners all events, group developers and maintainers their own;
 * project maintainers and owners all, developers their own; reporters and guests 403;
 * non-members of private groups/projects and anonymous callers 404; administrators all.
 */
describe('audit log permissions', () => {
  let group: { id: number };
  let project: { id: number };
  let owner: TestUser, maintainer: TestUser, developer: TestUser, reporter: TestUser, guest: TestUser, outsider: TestUser;
  let pMaintainer: TestUser, pDeveloper: TestUser, pReporter: TestUser;
  const ids: Record<string, number> = {};

  beforeAll(async () => {
    [owner, maintainer, developer, reporter, guest, outsider, pMaintainer, pDeveloper, pReporter] = await Promise.all(
      Array.from({ length: 9 }, () => createUser()),
    );
    group = await createGroup();
    project = await createProject(group.id);
    await addMember('groups', group.id, owner.id, 50);
    await addMember('groups', group.id, maintainer.id, 40);
    await addMember('groups', group.id, developer.id, 30);
    await addMember('groups', group.id, reporter.id, 20);
    await addMember('groups', group.id, guest.id, 10);
    await addMember('projects', project.id, pMaintainer.id, 40);
    await addMember('projects', project.id, pDeveloper.id, 30);
    await addMember('projects', project.id, pReporter.id, 20);
    const g = await groupEntityOf(group.id);
    const p = await projectEntityOf(project.id);
    const [a, b, c, d, e] = await insertEvents([
      eventInput(g, owner),
      eventInput(g, maintainer),
      eventInput(g, developer),
      eventInput(p, pMaintainer),
      eventInput(p, pDeveloper),
    ]);
    Object.assign(ids, { gOwner: a, gMaintainer: b, gDeveloper: c, pMaintainer: d, pDeveloper: e });
  });

  const authors = async (path: string, token: string | null) => {
    const r = await api('GET', path, { token, body: undefined });
    return { status: r.status, authors: Array.isArray(r.body) ? new Set(r.body.map((e: { author_id: number }) => e.author_id)) : null, body: r.body };
  };

  it('group listing: owner and admin all; maintainer and developer their own; reporter, guest 403; outsider, anonymous 404', async () => {
    const path = `/api/v4/groups/${group.id}/audit_events?per_page=100`;
    for (const t of [owner.token, ADMIN]) {
      const r = await authors(path, t);
      expect(r.status).toBe(200);
      // The group listing includes the project's events.
      for (const u of [owner, maintainer, developer, pMaintainer, pDeveloper]) expect(r.authors!.has(u.id)).toBe(true);
    }
    for (const u of [maintainer, developer]) {
      const r = await authors(path, u.token);
      expect(r.status).toBe(200);
      expect([...r.authors!]).toEqual([u.id]);
    }
    expect((await authors(path, reporter.token)).status).toBe(403);
    expect((await authors(path, guest.token)).status).toBe(403);
    const out = await authors(path, outsider.token);
    expect(out.status).toBe(404);
    expect(out.body).toEqual({ message: '404 Group Not Found' });
    expect((await authors(path, null)).status).toBe(404);
  });

  it('single group event: owners and admins only', async () => {
    const path = `/api/v4/groups/${group.id}/audit_events/${ids.gDeveloper}`;
    const r = await api('GET', path, { token: owner.token });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id: ids.gDeveloper, author_id: developer.id, entity_id: group.id, entity_type: 'Group' });
    expect((await api('GET', path, { token: ADMIN })).status).toBe(200);
    expect((await api('GET', path, { token: developer.token })).status).toBe(403);
    expect((await api('GET', path, { token: maintainer.token })).status).toBe(403);
    expect((await api('GET', path, { token: outsider.token })).status).toBe(404);
  });

  it('project listing: maintainer all, developer own, reporter 403, outsider and anonymous 404; group developer inherits own-only', async () => {
    const path = `/api/v4/projects/${project.id}/audit_events`;
    const all = await authors(path, pMaintainer.token);
    expect(all.status).toBe(200);
    expect(all.authors!.has(pDeveloper.id)).toBe(true);
    expect(all.authors!.has(pMaintainer.id)).toBe(true);
    // Group events are not the project's.
    expect(all.authors!.has(owner.id)).toBe(false);
    const own = await authors(path, pDeveloper.token);
    expect([...own.authors!]).toEqual([pDeveloper.id]);
    const inherited = await authors(path, developer.token);
    expect(inherited.status).toBe(200);
    expect(inherited.body).toEqual([]);
    expect((await authors(path, owner.token)).authors!.has(pDeveloper.id)).toBe(true);
    expect((await authors(path, pReporter.token)).status).toBe(403);
    expect((await authors(path, guest.token)).status).toBe(403);
    expect((await authors(path, outsider.token)).status).toBe(404);
    expect((await authors(path, null)).status).toBe(404);
  });

  it('single project event: maintainers and above', async () => {
    const path = `/api/v4/projects/${project.id}/audit_events/${ids.pDeveloper}`;
    expect((await api('GET', path, { token: pMaintainer.token })).status).toBe(200);
    expect((await api('GET', path, { token: pDeveloper.token })).status).toBe(403);
    // An event of another scope is not found through this project.
    expect((await api('GET', `/api/v4/projects/${project.id}/audit_events/${ids.gOwner}`, { token: pMaintainer.token })).status).toBe(404);
  });

  it('instance listing and single event: administrators only', async () => {
    expect((await api('GET', '/api/v4/audit_events', { token: ADMIN })).status).toBe(200);
    expect((await api('GET', `/api/v4/audit_events/${ids.gOwner}`, { token: ADMIN })).body.id).toBe(ids.gOwner);
    expect((await api('GET', '/api/v4/audit_events', { token: owner.token })).status).toBe(403);
    expect((await api('GET', `/api/v4/audit_events/${ids.gOwner}`, { token: owner.token })).status).toBe(403);
    expect((await api('GET', '/api/v4/audit_events', { token: null })).status).toBe(401);
    expect((await api('GET', '/api/v4/audit_events/999999999', { token: ADMIN })).body).toEqual({ message: '404 Audit Event Not Found' });
  });

  it('public group: anonymous 401, signed-in non-member 403', async () => {
    const pub = await createGroup({ visibility: 'public' });
    expect((await api('GET', `/api/v4/groups/${pub.id}/audit_events`, { token: null })).status).toBe(401);
    expect((await api('GET', `/api/v4/groups/${pub.id}/audit_events`, { token: outsider.token })).status).toBe(403);
  });

  it('a read_api token may read the log', async () => {
    const reader = await createUser({ scopes: ['read_api'] });
    await addMember('groups', group.id, reader.id, 50);
    const r = await call('GET', `/api/v4/groups/${group.id}/audit_events`, { token: reader.token });
    expect(r.status).toBe(200);
  });
});
