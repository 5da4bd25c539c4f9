/** Walking a REST listing page by page, for comparing its answers before and after the log moved (reads.test.ts, seal.test.ts). */
import { expect } from 'vitest';
import { api } from '../support/api';

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
