import { describe, expect, it } from 'vitest';
import { ADMIN, api, BASE, createUser, unique } from '../support/api';
import { createRelease, projectEvents, releasesPath, releaseWorld } from './support';

describe('releases REST API', () => {
  it('a developer creates a release with links; fields, tracked URLs and audit events are GitLab-shaped', async () => {
    const w = await releaseWorld('private');
    const tag = 'v0.3';
    const res = await api('POST', releasesPath(w.project.id), {
      token: w.developer.token,
      headers: { 'CF-Connecting-IP': '203.0.113.7' },
      body: {
        tag_name: tag,
        name: 'New Release',
        description: 'notes',
        ref: 'main',
        released_at: '2019-10-16T16:26:50Z',
        assets: {
          links: [
            { name: 'an external file', url: 'https://example.com/file.zip', direct_asset_path: 'bin/file.zip', link_type: 'package' },
            { name: 'runbook', url: 'https://example.com/runbook', link_type: 'runbook' },
          ],
        },
      },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      tag_name: tag,
      name: 'New Release',
      description: 'notes',
      released_at: '2019-10-16T16:26:50.000Z',
      upcoming_release: false,
      author: { id: w.developer.id, username: w.developer.username },
      assets: { count: 2, sources: [] },
    });
    const links = res.body.assets.links as any[];
    const file = links.find((l) => l.name === 'an external file');
    const runbook = links.find((l) => l.name === 'runbook');
    expect(file).toMatchObject({ url: 'https://example.com/file.zip', link_type: 'package' });
    expect(file.direct_asset_url).toBe(`${BASE}/${w.project.path_with_namespace}/-/releases/v0.3/downloads/bin/file.zip`);
    expect(runbook.direct_asset_url).toBe(`${BASE}/${w.project.path_with_namespace}/-/releases/v0.3/links/${runbook.id}`);

    const created = await projectEvents(w.project.id, 'release_created');
    expect(created).toHaveLength(1);
    expect(created[0]).toMatchObject({
      author_id: w.developer.id,
      entity_type: 'Project',
      entity_id: w.project.id,
      entity_path: w.project.path_with_namespace,
      target_type: 'Release',
      target_details: 'New Release',
      ip_address: '203.0.113.7',
    });
    expect(created[0].details.custom_message).toBe('Created release v0.3');
    const linkEvents = await projectEvents(w.project.id, 'release_asset_link_created');
    expect(linkEvents.map((e) => e.target_details).sort()).toEqual(['an external file', 'runbook']);
    const fileEvent = linkEvents.find((e) => e.target_details === 'an external file')!;
    expect(fileEvent.target_type).toBe('Releases::Link');
    expect(fileEvent.target_id).toBe(file.id);
    expect(fileEvent.details.changes).toContainEqual({ field: 'filepath', from: null, to: '/bin/file.zip' });

    const dup = await api('POST', releasesPath(w.project.id), { token: w.developer.token, body: { tag_name: tag } });
    expect(dup.status).toBe(409);
    expect(dup.body).toEqual({ message: 'Release already exists' });
  });

  it('enforces GitLab permissions on a private project', async () => {
    const w = await releaseWorld('private');
    await createRelease(w.project.id, w.developer.token, { tag_name: 'v1' });
    const get = (token: string | null) => api('GET', releasesPath(w.project.id, 'v1'), { token });
    expect((await get(null)).status).toBe(404);
    expect((await get(w.outsider.token)).status).toBe(404);
    expect((await get(w.guest.token)).status).toBe(403);
    expect((await api('GET', releasesPath(w.project.id), { token: w.guest.token })).status).toBe(403);
    expect((await get(w.reporter.token)).status).toBe(200);
    expect((await api('POST', releasesPath(w.project.id), { token: w.reporter.token, body: { tag_name: 'r' } })).status).toBe(403);
    expect((await api('POST', releasesPath(w.project.id), { token: w.guest.token, body: { tag_name: 'g' } })).status).toBe(403);
    expect((await api('POST', releasesPath(w.project.id), { token: null, body: { tag_name: 'a' } })).status).toBe(401);
    const put = await api('PUT', releasesPath(w.project.id, 'v1'), { token: w.developer.token, body: { name: 'renamed' } });
    expect(put.status).toBe(200);
    expect(put.body.name).toBe('renamed');
    expect((await api('DELETE', releasesPath(w.project.id, 'v1'), { token: w.developer.token })).status).toBe(403);
    const del = await api('DELETE', releasesPath(w.project.id, 'v1'), { token: w.maintainer.token });
    expect(del.status).toBe(200);
    expect(del.body.tag_name).toBe('v1');
    expect((await get(w.reporter.token)).status).toBe(404);
    const deleted = await projectEvents(w.project.id, 'release_deleted_audit_event');
    expect(deleted[0]).toMatchObject({ author_id: w.maintainer.id, target_type: 'Release', target_details: 'renamed' });
    expect(deleted[0].details.custom_message).toBe('Deleted release v1');
  });

  it('lets anyone read releases of a public project, and signed-in users those of an internal one; read_api cannot write', async () => {
    const pub = await releaseWorld('public');
    await createRelease(pub.project.id, pub.developer.token, { tag_name: 'v1' });
    expect((await api('GET', releasesPath(pub.project.id), { token: null })).status).toBe(200);
    expect((await api('GET', releasesPath(pub.project.id, 'v1'), { token: pub.outsider.token })).status).toBe(200);
    expect((await api('POST', releasesPath(pub.project.id), { token: pub.outsider.token, body: { tag_name: 'x' } })).status).toBe(403);

    const int = await releaseWorld('internal');
    await createRelease(int.project.id, int.developer.token, { tag_name: 'v1' });
    expect((await api('GET', releasesPath(int.project.id, 'v1'), { token: null })).status).toBe(404);
    expect((await api('GET', releasesPath(int.project.id, 'v1'), { token: int.outsider.token })).status).toBe(200);

    const reader = await createUser({ scopes: ['read_api'] });
    const { addMember } = await import('../support/api');
    await addMember('projects', int.project.id, reader.id, 40);
    expect((await api('GET', releasesPath(int.project.id, 'v1'), { token: reader.token })).status).toBe(200);
    const write = await api('POST', releasesPath(int.project.id), { token: reader.token, body: { tag_name: 'y' } });
    expect(write.status).toBe(403);
    expect(write.body.error).toBe('insufficient_scope');
  });

  it('lists releases by released_at, newest first, with pagination headers', async () => {
    const w = await releaseWorld('private');
    await createRelease(w.project.id, w.developer.token, { tag_name: 'old', released_at: '2020-01-01T00:00:00Z' });
    await createRelease(w.project.id, w.developer.token, { tag_name: 'new', released_at: '2022-01-01T00:00:00Z' });
    await createRelease(w.project.id, w.developer.token, { tag_name: 'mid', released_at: '2021-01-01T00:00:00Z' });
    const list = await api('GET', `${releasesPath(w.project.id)}?per_page=2`, { token: w.reporter.token });
    expect(list.status).toBe(200);
    expect(list.body.map((r: any) => r.tag_name)).toEqual(['new', 'mid']);
    expect(list.headers.get('X-Total')).toBe('3');
    expect(list.headers.get('X-Next-Page')).toBe('2');
    const asc = await api('GET', `${releasesPath(w.project.id)}?sort=asc`, { token: w.reporter.token });
    expect(asc.body.map((r: any) => r.tag_name)).toEqual(['old', 'mid', 'new']);
    const bad = await api('GET', `${releasesPath(w.project.id)}?order_by=name`, { token: w.reporter.token });
    expect(bad.status).toBe(400);
  });

  it('creates concurrent releases with links, each once, none refused by a raced id', async () => {
    const w = await releaseWorld('private');
    const tags = Array.from({ length: 10 }, (_, i) => `par-${i}`);
    const answers = await Promise.all(
      tags.map((tag_name) => api('POST', releasesPath(w.project.id), { token: w.developer.token, body: { tag_name, assets: { links: [{ name: 'a', url: `https://example.com/${tag_name}/a` }, { name: 'b', url: `https://example.com/${tag_name}/b` }] } } })),
    );
    expect(answers.map((a) => a.status)).toEqual(tags.map(() => 201));
    const list = await api('GET', `${releasesPath(w.project.id)}?per_page=100`, { token: w.reporter.token });
    expect(list.body.map((r: any) => r.tag_name).sort()).toEqual([...tags].sort());
    expect(list.body.every((r: any) => r.assets.links.length === 2)).toBe(true);
    const created = await projectEvents(w.project.id, 'release_created');
    expect(created).toHaveLength(10);
  });

  it('records release_updated with each changed field, description included', async () => {
    const w = await releaseWorld('private');
    await createRelease(w.project.id, w.developer.token, { tag_name: 'v0.3', name: 'New Release', description: 'first' });
    const put = await api('PUT', releasesPath(w.project.id, 'v0.3'), {
      token: w.developer.token,
      body: { name: 'Newer Release', description: 'second', released_at: '2030-01-01T00:00:00Z' },
    });
    expect(put.status).toBe(200);
    expect(put.body.upcoming_release).toBe(true);
    const [ev] = await projectEvents(w.project.id, 'release_updated');
    expect(ev.details.custom_message).toBe('Updated release v0.3');
    expect(ev.target_details).toBe('Newer Release');
    const changes = ev.details.changes as Array<{ field: string; from: unknown; to: unknown }>;
    expect(changes).toContainEqual({ field: 'name', from: 'New Release', to: 'Newer Release' });
    expect(changes).toContainEqual({ field: 'description', from: 'first', to: 'second' });
    expect(changes.find((c) => c.field === 'released_at')?.to).toBe('2030-01-01T00:00:00.000Z');
    const empty = await api('PUT', releasesPath(w.project.id, 'v0.3'), { token: w.developer.token, body: {} });
    expect(empty.status).toBe(400);
    expect(empty.body.error).toBe('name, description, released_at, milestones are missing, at least one parameter must be provided');
    const missing = await api('PUT', releasesPath(w.project.id, 'nope'), { token: w.developer.token, body: { name: 'x' } });
    expect(missing.status).toBe(404);
  });

  it('answers GitLab validation errors for releases', async () => {
    const w = await releaseWorld('private');
    const post = (body: unknown) => api('POST', releasesPath(w.project.id), { token: w.developer.token, body });
    expect((await post({})).body).toEqual({ error: 'tag_name is missing' });
    expect((await post({ tag_name: 'bad tag' })).body).toEqual({ message: 'Tag name invalid' });
    expect((await post({ tag_name: 'v1', released_at: 'yesterday' })).body).toEqual({ error: 'released_at is invalid' });
    expect((await post({ tag_name: 'v1', milestones: ['m1'] })).body).toEqual({ message: 'Milestone(s) not found: m1' });
    const scheme = await post({ tag_name: 'v1', assets: { links: [{ name: 'a', url: 'javascript:alert(1)' }] } });
    expect(scheme.status).toBe(400);
    expect(scheme.body).toEqual({ message: 'Validation failed: Links url is blocked: Only allowed schemes are http, https, ftp' });
    const dup = await post({ tag_name: 'v1', assets: { links: [{ name: 'a', url: 'https://x.test/1' }, { name: 'a', url: 'https://x.test/2' }] } });
    expect(dup.body).toEqual({ message: 'Validation failed: Links name has already been taken' });
    const missingUrl = await post({ tag_name: 'v1', assets: { links: [{ name: 'a' }] } });
    expect(missingUrl.body).toEqual({ error: 'assets[links][0][url] is missing' });
    // Nothing was written by the refused requests.
    expect((await api('GET', releasesPath(w.project.id), { token: w.reporter.token })).body).toEqual([]);
  });
});

describe('release links REST API', () => {
  it('creates, reads, updates and deletes links with their audit events', async () => {
    const w = await releaseWorld('private');
    await createRelease(w.project.id, w.developer.token, { tag_name: 'v2', name: 'Two' });
    const base = `${releasesPath(w.project.id, 'v2')}/assets/links`;
    const created = await api('POST', base, {
      token: w.developer.token,
      body: { name: 'linux', url: 'https://example.com/linux.tgz', filepath: 'linux/amd64' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'linux', link_type: 'other' });
    expect(created.body.direct_asset_url).toBe(`${BASE}/${w.project.path_with_namespace}/-/releases/v2/downloads/linux/amd64`);
    const id = created.body.id;
    expect((await api('GET', `${base}/${id}`, { token: w.reporter.token })).body.name).toBe('linux');
    expect((await api('GET', base, { token: w.reporter.token })).body).toHaveLength(1);
    expect((await api('GET', `${base}/999999999`, { token: w.reporter.token })).status).toBe(404);
    expect((await api('POST', base, { token: w.reporter.token, body: { name: 'n', url: 'https://e.test/n' } })).status).toBe(403);

    const updated = await api('PUT', `${base}/${id}`, { token: w.developer.token, body: { url: 'https://example.com/linux2.tgz', link_type: 'package' } });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ url: 'https://example.com/linux2.tgz', link_type: 'package' });
    const [upd] = await projectEvents(w.project.id, 'release_asset_link_updated');
    expect(upd).toMatchObject({ target_id: id, target_type: 'Releases::Link', target_details: 'linux' });
    expect(upd.details.changes).toEqual([
      { field: 'url', from: 'https://example.com/linux.tgz', to: 'https://example.com/linux2.tgz' },
      { field: 'link_type', from: 'other', to: 'package' },
    ]);

    expect((await api('DELETE', `${base}/${id}`, { token: w.developer.token })).status).toBe(403);
    const del = await api('DELETE', `${base}/${id}`, { token: w.maintainer.token });
    expect(del.status).toBe(200);
    expect(del.body.id).toBe(id);
    const [gone] = await projectEvents(w.project.id, 'release_asset_link_deleted');
    expect(gone).toMatchObject({ author_id: w.maintainer.id, target_id: id, target_details: 'linux' });
    expect(gone.details.changes).toContainEqual({ field: 'url', from: 'https://example.com/linux2.tgz', to: null });
    expect((await api('GET', `${releasesPath(w.project.id, 'nope')}/assets/links`, { token: w.reporter.token })).status).toBe(404);
  });

  it('answers each link validation error in GitLab shapes', async () => {
    const w = await releaseWorld('private');
    await createRelease(w.project.id, w.developer.token, {
      tag_name: 'v3',
      assets: { links: [{ name: 'taken', url: 'https://example.com/taken', direct_asset_path: '/taken/path' }] },
    });
    const base = `${releasesPath(w.project.id, 'v3')}/assets/links`;
    const post = (body: unknown) => api('POST', base, { token: w.developer.token, body });
    expect((await post({ name: 'x', url: 'ssh://example.com/x' })).body).toEqual({
      message: { url: ['is blocked: Only allowed schemes are http, https, ftp'] },
    });
    expect((await post({ name: 'x', url: 'not a url' })).status).toBe(400);
    expect((await post({ name: 'x', url: '' })).body).toEqual({ message: { url: ["can't be blank"] } });
    expect((await post({ name: '', url: 'https://example.com/y' })).body).toEqual({ message: { name: ["can't be blank"] } });
    expect((await post({ url: 'https://example.com/y' })).body).toEqual({ error: 'name is missing' });
    expect((await post({ name: 'taken', url: 'https://example.com/taken' })).body).toEqual({
      message: { url: ['has already been taken'], name: ['has already been taken'] },
    });
    expect((await post({ name: 'x', url: 'https://example.com/x', direct_asset_path: '/taken/path' })).body).toEqual({
      message: { filepath: ['has already been taken'] },
    });
    expect((await post({ name: 'x', url: 'https://example.com/x', direct_asset_path: `/${'a'.repeat(128)}` })).body).toEqual({
      message: { filepath: ['is too long (maximum is 128 characters)'] },
    });
    for (const bad of ['/a b', '/ends/with/', '/a/../b', '/dot.', '/a\\b']) {
      expect((await post({ name: 'x', url: 'https://example.com/x', direct_asset_path: bad })).body).toEqual({ message: { filepath: ['is invalid'] } });
    }
    expect((await post({ name: 'x', url: 'https://example.com/x', link_type: 'video' })).body).toEqual({ error: 'link_type does not have a valid value' });
    const ok = await post({ name: unique('ftp'), url: 'ftp://example.com/file', direct_asset_path: 'no/leading/slash' });
    expect(ok.status).toBe(201);
    expect(ok.body.direct_asset_url.endsWith('/-/releases/v3/downloads/no/leading/slash')).toBe(true);
    const updTaken = await api('PUT', `${base}/${ok.body.id}`, { token: w.developer.token, body: { name: 'taken' } });
    expect(updTaken.body).toEqual({ message: { name: ['has already been taken'] } });
    const none = await api('PUT', `${base}/${ok.body.id}`, { token: w.developer.token, body: {} });
    expect(none.status).toBe(400);
  });

  it('hides unreadable projects behind 404 and uses EXTERNAL_URL-independent request origins', async () => {
    const w = await releaseWorld('private');
    expect((await api('GET', releasesPath(w.project.id), { token: w.outsider.token })).body).toEqual({ message: '404 Project Not Found' });
    expect((await api('GET', releasesPath(w.project.id), { token: ADMIN })).status).toBe(200);
  });
});
