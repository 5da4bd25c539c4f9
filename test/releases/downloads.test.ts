import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { ADMIN, addMember, call, createGroup, createProject, createUser, unique } from '../support/api';
import { createRelease, projectEvents, releaseWorld } from './support';

const EXTERNAL = 'https://downloads.example.com/app-1.0.tar.gz';

/** A release v0.3 with one link at /bin/app.tar.gz and one without a filepath. */
async function withRelease(visibility: 'private' | 'internal' | 'public') {
  const w = await releaseWorld(visibility);
  const rel = await createRelease(w.project.id, w.developer.token, {
    tag_name: 'v0.3',
    name: 'New Release',
    released_at: '2019-10-16T16:26:50Z',
    assets: {
      links: [
        { name: 'an external file', url: EXTERNAL, direct_asset_path: '/bin/app.tar.gz' },
        { name: 'docs', url: 'https://docs.example.com/v0.3' },
      ],
    },
  });
  const file = rel.assets.links.find((l: any) => l.name === 'an external file');
  const docs = rel.assets.links.find((l: any) => l.name === 'docs');
  const path = `/${w.project.path_with_namespace}/-/releases/v0.3/downloads/bin/app.tar.gz`;
  return { ...w, file, docs, path };
}

describe('the audited download redirect', () => {
  it('records the download, then answers 302 to the stored URL with no-store (public, anonymous)', async () => {
    const w = await withRelease('public');
    const res = await call('GET', w.path, { headers: { 'User-Agent': 'curl/8.5', 'CF-Connecting-IP': '198.51.100.4' } });
    expect(res.status).toBe(302);
    expect(res.headers.get('Location')).toBe(EXTERNAL);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const [ev] = await projectEvents(w.project.id, 'release_external_artifact_download');
    expect(ev).toMatchObject({
      author_id: -1,
      author_name: 'An unauthenticated user',
      entity_type: 'Project',
      entity_id: w.project.id,
      entity_path: w.project.path_with_namespace,
      target_id: w.file.id,
      target_type: 'Releases::Link',
      target_details: 'an external file',
      ip_address: '198.51.100.4',
    });
    expect(ev.details).toMatchObject({
      custom_message: 'Repository External Resource Download Started',
      tag_name: 'v0.3',
      filepath: '/bin/app.tar.gz',
      url: EXTERNAL,
      user_agent: 'curl/8.5',
    });
    // The direct_asset_url given by the API is exactly this route.
    expect(w.file.direct_asset_url.endsWith(w.path)).toBe(true);
  });

  it('HEAD answers the same redirect without recording', async () => {
    const w = await withRelease('public');
    const res = await call('HEAD', w.path);
    expect(res.status).toBe(302);
    expect(res.headers.get('Location')).toBe(EXTERNAL);
    expect(await projectEvents(w.project.id, 'release_external_artifact_download')).toHaveLength(0);
    expect((await call('POST', w.path)).status).toBe(405);
  });

  it('serves links without a filepath by id, and names the authenticated user on a public project', async () => {
    const w = await withRelease('public');
    const res = await call('GET', `/${w.project.path_with_namespace}/-/releases/v0.3/links/${w.docs.id}`, { token: w.outsider.token });
    expect(res.status).toBe(302);
    expect(res.headers.get('Location')).toBe('https://docs.example.com/v0.3');
    expect(w.docs.direct_asset_url.endsWith(`/-/releases/v0.3/links/${w.docs.id}`)).toBe(true);
    const [ev] = await projectEvents(w.project.id, 'release_external_artifact_download');
    expect(ev).toMatchObject({ author_id: w.outsider.id, author_name: w.outsider.name, target_details: 'docs' });
    expect(ev.details.link_id).toBe(w.docs.id);
    // A link id of another release is not found under this tag.
    const other = await createRelease(w.project.id, w.developer.token, { tag_name: 'v9', assets: { links: [{ name: 'o', url: 'https://o.example.com/' }] } });
    expect((await call('GET', `/${w.project.path_with_namespace}/-/releases/v0.3/links/${other.assets.links[0].id}`)).status).toBe(404);
  });

  it('private projects: 404 without a token or permission; each token form of a reporter works', async () => {
    const w = await withRelease('private');
    expect((await call('GET', w.path)).status).toBe(404);
    expect((await call('GET', w.path, { token: w.outsider.token })).status).toBe(404);
    expect((await call('GET', w.path, { token: w.guest.token })).status).toBe(404);
    expect((await call('GET', w.path, { token: 'glpat-not-a-real-token' })).status).toBe(404);
    expect((await call('GET', w.path, { token: 'glpat-not-a-real-token', tokenVia: 'query' })).status).toBe(404);
    for (const tokenVia of ['header', 'bearer', 'query'] as const) {
      const res = await call('GET', w.path, { token: w.reporter.token, tokenVia });
      expect(res.status, tokenVia).toBe(302);
      expect(res.headers.get('Location')).toBe(EXTERNAL);
    }
    const events = await projectEvents(w.project.id, 'release_external_artifact_download');
    expect(events).toHaveLength(3);
    expect(events.every((e) => e.author_id === w.reporter.id)).toBe(true);
    const reader = await createUser({ scopes: ['read_api'] });
    await addMember('projects', w.project.id, reader.id, 20);
    expect((await call('GET', w.path, { token: reader.token, tokenVia: 'query' })).status).toBe(302);
    expect((await call('GET', w.path, { token: ADMIN, tokenVia: 'bearer' })).status).toBe(302);
  });

  it('internal projects: any signed-in user, never anonymous', async () => {
    const w = await withRelease('internal');
    expect((await call('GET', w.path)).status).toBe(404);
    const res = await call('GET', w.path, { token: w.outsider.token, tokenVia: 'bearer' });
    expect(res.status).toBe(302);
    const [ev] = await projectEvents(w.project.id, 'release_external_artifact_download');
    expect(ev.author_id).toBe(w.outsider.id);
  });

  it('works under nested groups', async () => {
    const a = await createGroup({ visibility: 'public' });
    const b = await createGroup({ parentId: a.id, visibility: 'public' });
    const c = await createGroup({ parentId: b.id, visibility: 'public' });
    const project = await createProject(c.id, { visibility: 'public' });
    await createRelease(project.id, ADMIN, { tag_name: 'release/1.0', assets: { links: [{ name: 'f', url: EXTERNAL, direct_asset_path: '/f.zip' }] } });
    const path = `/${project.path_with_namespace}/-/releases/${encodeURIComponent('release/1.0')}/downloads/f.zip`;
    expect(path.split('/').length).toBeGreaterThan(8);
    const res = await call('GET', path);
    expect(res.status).toBe(302);
    const [ev] = await projectEvents(project.id, 'release_external_artifact_download');
    expect(ev.details.tag_name).toBe('release/1.0');
  });

  it('permalink/latest follows the newest released release, not upcoming ones', async () => {
    const w = await releaseWorld('public');
    const mk = (tag: string, releasedAt: string) =>
      createRelease(w.project.id, w.developer.token, {
        tag_name: tag,
        released_at: releasedAt,
        assets: { links: [{ name: `bin ${tag}`, url: `https://dl.example.com/${tag}/app`, direct_asset_path: '/app' }] },
      });
    await mk('v1', '2021-01-01T00:00:00Z');
    await mk('v2', '2023-01-01T00:00:00Z');
    await mk('v1.5', '2022-01-01T00:00:00Z');
    await mk('v3', '2099-01-01T00:00:00Z'); // upcoming
    const latest = `/${w.project.path_with_namespace}/-/releases/permalink/latest/downloads/app`;
    const res = await call('GET', latest);
    expect(res.status).toBe(302);
    expect(res.headers.get('Location')).toBe('https://dl.example.com/v2/app');
    const [ev] = await projectEvents(w.project.id, 'release_external_artifact_download');
    expect(ev.details).toMatchObject({ tag_name: 'v2', filepath: '/app', permalink: 'latest' });
    expect((await call('GET', `/${w.project.path_with_namespace}/-/releases/permalink/latest/downloads/nope`)).status).toBe(404);
  });

  it('answers 404 for unknown projects, tags, filepaths and links', async () => {
    const w = await withRelease('public');
    const p = w.project.path_with_namespace;
    for (const path of [
      `/${p}x/-/releases/v0.3/downloads/bin/app.tar.gz`,
      `/nobody-${unique()}/x/-/releases/v0.3/downloads/bin/app.tar.gz`,
      `/${p}/-/releases/v0.4/downloads/bin/app.tar.gz`,
      `/${p}/-/releases/V0.3/downloads/bin/app.tar.gz`,
      `/${p}/-/releases/v0.3/downloads/bin/app.tar`,
      `/${p}/-/releases/v0.3/links/999999999`,
      `/${p}/-/releases/v0.3/links/abc`,
    ]) {
      const res = await call('GET', path);
      expect(res.status, path).toBe(404);
      expect(await res.json()).toEqual({ message: '404 Not Found' });
    }
    expect(await projectEvents(w.project.id, 'release_external_artifact_download')).toHaveLength(0);
  });

  it('is never an open redirect and rejects path traversal', async () => {
    const w = await withRelease('public');
    const p = w.project.path_with_namespace;
    for (const q of ['?url=https://evil.example/', '?redirect_to=https://evil.example/', '?location=//evil.example']) {
      const res = await call('GET', `${w.path}${q}`, { headers: { Host: 'evil.example', 'X-Forwarded-Host': 'evil.example' } });
      expect(res.status).toBe(302);
      expect(res.headers.get('Location')).toBe(EXTERNAL);
    }
    // Dot segments (also percent-encoded) are resolved by the URL parser before any route sees
    // them, so they can only name another path of the same kind, never climb out of the route.
    const climbed = await call('GET', `/${p}/-/releases/v0.3/downloads/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd`);
    expect(climbed.headers.get('Location')).toBeNull();
    for (const path of [
      `/${p}/-/releases/v0.3/downloads/bin/%2E%2E%2Fbin/app.tar.gz`,
      `/${p}/-/releases/v0.3/downloads/bin/..%5Capp.tar.gz`,
      `/${p}/-/releases/v0.3/downloads/bin%2Fapp.tar.gz`,
      `/${p}/-/releases/v0.3/downloads/bin%5Capp.tar.gz`,
      `/${p}/-/releases/v0.3/downloads/bin//app.tar.gz`,
      `/${p}/-/releases/v0.3/downloads//bin/app.tar.gz`,
      `/${p}/-/releases/v0.3/downloads/bin/app.tar.gz/`,
      `/${p}/-/releases/v0.3/downloads/bin/%00app.tar.gz`,
      `/${p}/-/releases/v0.3/downloads/%ZZ`,
    ]) {
      const res = await call('GET', path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('Location')).toBeNull();
    }
    // Only the three genuine downloads above were recorded.
    expect(await projectEvents(w.project.id, 'release_external_artifact_download')).toHaveLength(3);
  });

  it('reaches the group streaming destination that filters for downloads, and not one filtering other types', async () => {
    const w = await withRelease('public');
    const now = new Date().toISOString();
    const insert = async (eventType: string) => {
      const row = await env.DB.prepare(
        `INSERT INTO streaming_destinations (scope, namespace_id, name, destination_url, verification_token, signing_secret, created_at, updated_at)
         VALUES ('group', ?1, ?2, ?3, ?4, ?5, ?6, ?6) RETURNING id`,
      )
        .bind(w.group.id, unique('dest'), `http://127.0.0.1:9/${unique('sink')}`, unique('tok').padEnd(16, 'x').slice(0, 24), `whsec_${btoa(unique('s'))}`, now)
        .first<{ id: number }>();
      await env.DB.prepare('INSERT INTO streaming_event_type_filters (destination_id, audit_event_type, created_at) VALUES (?1, ?2, ?3)')
        .bind(row!.id, eventType, now)
        .run();
      return row!.id;
    };
    const wanted = await insert('release_external_artifact_download');
    const unwanted = await insert('release_created');
    expect((await call('GET', w.path)).status).toBe(302);
    const [ev] = await projectEvents(w.project.id, 'release_external_artifact_download');
    let rows: { destination_id: number }[] = [];
    for (let i = 0; i < 50 && rows.length === 0; i++) {
      rows = (await env.DB.prepare('SELECT destination_id FROM deliveries WHERE event_id = ?1').bind(ev.id).all<{ destination_id: number }>()).results;
      if (rows.length === 0) await new Promise((r) => setTimeout(r, 50));
    }
    expect(rows.map((r) => r.destination_id)).toEqual([wanted]);
    expect(rows.map((r) => r.destination_id)).not.toContain(unwanted);
    // Deactivate so the delivery engineer's consumer stops retrying these test destinations.
    await env.DB.prepare('UPDATE streaming_destinations SET active = 0 WHERE id IN (?1, ?2)').bind(wanted, unwanted).run();
  });

  it('leaves other paths to the pages', async () => {
    const w = await withRelease('public');
    const res = await call('GET', `/${w.project.path_with_namespace}/-/releases/v0.3/edit`);
    expect(res.headers.get('Location')).toBeNull();
    expect(await projectEvents(w.project.id, 'release_external_artifact_download')).toHaveLength(0);
  });
});
