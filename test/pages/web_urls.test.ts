/**
 * Every `web_url` and `_links` URL the API returns answers 200 with a page about that resource;
 * the same URLs naming what does not exist answer an HTML 404 (no single-page fallback).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, api, call, createGroup, createProject, createUser, unique, type TestUser } from '../support/api';

/** Every string value under a key named web_url, self or edit_url, anywhere in an API body. */
function urlsIn(body: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(body)) for (const v of body) urlsIn(v, found);
  else if (body && typeof body === 'object') {
    for (const [k, v] of Object.entries(body)) {
      if ((k === 'web_url' || k === 'self' || k === 'edit_url') && typeof v === 'string') found.add(v);
      else urlsIn(v, found);
    }
  }
  return found;
}

async function page(url: string): Promise<{ status: number; html: string; type: string | null }> {
  const u = new URL(url);
  const res = await call('GET', u.pathname);
  return { status: res.status, html: await res.text(), type: res.headers.get('Content-Type') };
}

describe('the URLs the API returns lead to pages', () => {
  let owner: TestUser;
  let group: { id: number; full_path: string };
  let sub: { id: number; full_path: string };
  let project: { id: number; path_with_namespace: string };
  let personal: { id: number; path_with_namespace: string };
  const urls = new Set<string>();
  const tag = `release/${unique('v')}`;

  beforeAll(async () => {
    owner = await createUser();
    group = await createGroup({ token: owner.token, visibility: 'public' });
    sub = await createGroup({ token: owner.token, parentId: group.id });
    project = await createProject(sub.id, { token: owner.token });
    const me = await api('GET', '/api/v4/user', { token: owner.token });
    personal = await createProject(me.body.namespace_id, { token: owner.token, visibility: 'public' });
    const release = await api('POST', `/api/v4/projects/${project.id}/releases`, {
      token: owner.token,
      body: { tag_name: tag, name: 'First', assets: { links: [{ name: 'bin', url: 'https://example.com/bin', direct_asset_path: '/bin' }] } },
    });
    expect(release.status).toBe(201);
    for (const path of [
      '/api/v4/user',
      `/api/v4/users/${owner.id}`,
      `/api/v4/groups/${group.id}`,
      `/api/v4/groups/${group.id}/subgroups`,
      `/api/v4/groups/${sub.id}/projects`,
      `/api/v4/projects/${project.id}`,
      `/api/v4/projects/${personal.id}`,
      `/api/v4/projects/${project.id}/releases`,
      `/api/v4/projects/${project.id}/releases/${encodeURIComponent(tag)}`,
      `/api/v4/groups/${group.id}/members`,
    ]) {
      const r = await api('GET', path, { token: owner.token });
      expect(r.status, path).toBe(200);
      urlsIn(r.body, urls);
    }
  });

  it('collects the user, group, subgroup, project, namespace and release URLs', () => {
    const paths = [...urls].map((u) => new URL(u).pathname);
    const encodedTag = encodeURIComponent(tag);
    expect(paths).toEqual(
      expect.arrayContaining([
        `/${owner.username}`,
        `/groups/${group.full_path}`,
        `/groups/${sub.full_path}`,
        `/${project.path_with_namespace}`,
        `/${personal.path_with_namespace}`,
        `/${project.path_with_namespace}/-/releases/${encodedTag}`,
        `/${project.path_with_namespace}/-/releases/${encodedTag}/edit`,
      ]),
    );
  });

  it('every one answers 200 with the page of that resource', async () => {
    expect(urls.size).toBeGreaterThanOrEqual(7);
    for (const url of urls) {
      const { status, html, type } = await page(url);
      expect(status, url).toBe(200);
      expect(type).toBe('text/html; charset=utf-8');
      expect(html, url).toMatch(/data-page="(user|group|project|release|release_edit)"/);
    }
    const release = await page(`${[...urls].find((u) => u.endsWith('/edit'))!.slice(0, -5)}`);
    expect(release.html).toContain(`data-tag="${tag}"`);
    expect(release.html).toContain(`data-full-path="${project.path_with_namespace}"`);
    expect(release.html).toContain('data-namespace-kind="group"');
  });

  it('the same URLs naming nothing answer an HTML 404 page', async () => {
    const missing = [
      `/${unique('nouser')}`,
      `/groups/${unique('nogroup')}`,
      `/groups/${group.full_path}/${unique('nosub')}`,
      `/groups/${unique('nogroup')}/-/audit_events`,
      `/${sub.full_path}/${unique('noproject')}`,
      `/${project.path_with_namespace}/-/releases/${unique('notag')}`,
      `/${project.path_with_namespace}/-/releases/${unique('notag')}/edit`,
      `/${project.path_with_namespace}/-/releases/${encodeURIComponent(tag)}/nope`,
      `/${unique('ns')}/${unique('noproject')}/-/releases`,
    ];
    for (const path of missing) {
      const res = await call('GET', path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('Content-Type')).toBe('text/html; charset=utf-8');
      expect(await res.text()).toContain('404 Page Not Found');
    }
  });

  it('a private project page answers 200 to a navigation without a token (the client says "Sign in to see this")', async () => {
    const hidden = await createProject(sub.id, { token: owner.token, visibility: 'private' });
    expect((await api('GET', `/api/v4/projects/${hidden.id}`)).status).toBe(404);
    const res = await call('GET', `/${hidden.path_with_namespace}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('data-page="project"');
  });
});
