import { badRequest } from '../web/errors';

/** Offset pagination as GitLab's API does it: `page` (from 1), `per_page` (default 20, at most 100). */
export interface Page {
  page: number;
  perPage: number;
  limit: number;
  offset: number;
}

const MAX_PAGE = 100_000;

/** Read `page` and `per_page` from the query; bad values are 400, out-of-range ones are clamped as GitLab does. */
export function readPage(url: URL): Page {
  const page = readPositive(url, 'page', 1);
  const perPage = Math.min(Math.max(readPositive(url, 'per_page', 20), 1), 100);
  const p = Math.min(Math.max(page, 1), MAX_PAGE);
  return { page: p, perPage, limit: perPage, offset: (p - 1) * perPage };
}

function readPositive(url: URL, key: string, fallback: number): number {
  const raw = url.searchParams.get(key);
  if (raw === null || raw === '') return fallback;
  if (!/^-?\d{1,9}$/.test(raw)) throw badRequest(`${key} is invalid`);
  const n = Number(raw);
  return n < 1 ? fallback : n;
}

/**
 * GitLab's pagination headers: X-Total, X-Total-Pages, X-Page, X-Per-Page, X-Next-Page,
 * X-Prev-Page, and a Link header with first, last, prev and next.
 */
export function paginationHeaders(url: URL, page: Page, total: number): Headers {
  const totalPages = Math.max(1, Math.ceil(total / page.perPage));
  const h = new Headers();
  h.set('X-Total', String(total));
  h.set('X-Total-Pages', String(totalPages));
  h.set('X-Page', String(page.page));
  h.set('X-Per-Page', String(page.perPage));
  h.set('X-Next-Page', page.page < totalPages ? String(page.page + 1) : '');
  h.set('X-Prev-Page', page.page > 1 ? String(Math.min(page.page - 1, totalPages)) : '');
  const link = (p: number, rel: string) => {
    const u = new URL(url);
    u.searchParams.set('page', String(p));
    u.searchParams.set('per_page', String(page.perPage));
    return `<${u.toString()}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (page.page > 1) links.push(link(Math.min(page.page - 1, totalPages), 'prev'));
  if (page.page < totalPages) links.push(link(page.page + 1, 'next'));
  links.push(link(1, 'first'), link(totalPages, 'last'));
  h.set('Link', links.join(', '));
  return h;
}

/** A JSON list response with pagination headers. */
export function pagedJson(url: URL, page: Page, total: number, items: unknown[]): Response {
  const h = paginationHeaders(url, page, total);
  h.set('Content-Type', 'application/json');
  return new Response(JSON.stringify(items), { status: 200, headers: h });
}
