/** Walking a REST listing page by page, for comparing its answers before and after the log moved (reads.test.ts, seal.test.ts, pages.test.ts). */
import { expect } from 'vitest';
import { env } from 'cloudflare:workers';
import { api, createGroup, createProject, createUser } from '../support/api';
import { createRelease, releasesPath } from '../releases/support';

/** A release (`tag`) with a link, edited once, in a project of its own: its 3 events (created, link, updated) and who may read them. */
export async function releaseWithThreeEvents(tag: string): Promise<{ projectId: number; token: string; eventIds: number[] }> {
  const releaser = await createUser();
  const rg = await createGroup({ token: releaser.token });
  const rp = await createProject(rg.id, { token: releaser.token });
  await createRelease(rp.id, releaser.token, { tag_name: tag, name: tag, assets: { links: [{ name: 'a.tar.gz', url: 'https://downloads.example.com/a.tar.gz' }] } });
  expect((await api('PUT', releasesPath(rp.id, tag), { token: releaser.token, body: { description: `${tag} soon` } })).status).toBe(200);
  const rows = await env.DB.prepare("SELECT id FROM audit_events WHERE project_id = ?1 AND event_type != 'project_created' ORDER BY id").bind(rp.id).all<{ id: number }>();
  const eventIds = rows.results.map((r) => r.id);
  expect(eventIds).toHaveLength(3);
  return { projectId: rp.id, token: releaser.token, eventIds };
}

/** The pagination headers compared page by page. */
export const PAGE_HEADERS = ['x-total', 'x-total-pages', 'x-page', 'x-per-page', 'x-next-page', 'x-prev-page', 'link'];

/** Every offset page of a listing: status, pagination headers and body. */
export async function offsetPages(path: string, token: string): Promise<unknown[]> {
  const pages: unknown[] = [];
  for (let page = 1; ; page++) {
    const r = await api('GET', `${path}${path.includes('?') ? '&' : '?'}page=${page}`, { token });
    expect(r.status).toBe(200);
    pages.push({ headers: PAGE_HEADERS.map((h) => r.headers.get(h)), body: r.body });
    if (page >= Number(r.headers.get('x-total-pages'))) return pages;
  }
}

/** Every keyset page of a listing, following rel="next" (at most `maxPages`): the events in order and the page sizes. */
export async function keysetWalk(path: string, token: string, maxPages = 200): Promise<{ events: unknown[]; sizes: number[] }> {
  const events: unknown[] = [];
  const sizes: number[] = [];
  let url: string | null = `${path}${path.includes('?') ? '&' : '?'}pagination=keyset`;
  while (url !== null) {
    const r = await api<unknown[]>('GET', url, { token });
    expect(r.status).toBe(200);
    events.push(...r.body);
    sizes.push(r.body.length);
    const next = /<http:\/\/[^/]+([^>]+)>; rel="next"/.exec(r.headers.get('link') ?? '');
    url = next ? next[1] : null;
    expect(sizes.length).toBeLessThan(maxPages);
  }
  return { events, sizes };
}
