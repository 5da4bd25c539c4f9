/**
 * The web pages: the Worker renders each page's HTML shell (after checking that what the page is
 * about exists), and the client, built from web/ by scripts/build-web.mjs, is served by Workers
 * Static Assets (`env.ASSETS`, public/) with the headers of public/_headers. The pages read and
 * write only through the public REST and GraphQL APIs, with the personal access token the user
 * keeps in sessionStorage. Every other path (not the API's) answers an HTML 404 page.
 */
import type { Env } from '../env';
import { pageHeaders } from './headers';
import { resolvePage } from './resolve';
import { matchPageRoute, type PageRoute } from './routes';
import { renderNotFound, renderShell } from './shell';
import { safeReturnPath } from './return_path';
import { publicOrigin } from '../web/origin';

/** Paths of the built client (public/): served by the assets binding, also when the Worker runs first. */
function isAssetPath(pathname: string): boolean {
  return pathname.startsWith('/-/ui/') || pathname === '/favicon.ico';
}

/**
 * Answers every request that is not the API's nor a download: the client's assets, a page, or
 * an HTML 404. Only GET and HEAD read pages; other methods on a page get 405.
 */
export async function handlePage(request: Request, env: Env, _ctx: ExecutionContext): Promise<Response> {
  const { pathname } = new URL(request.url);
  if (isAssetPath(pathname)) {
    const asset = await env.ASSETS.fetch(request);
    if (asset.status !== 404) return asset;
    return htmlNotFound(request);
  }
  const route = matchPageRoute(pathname);
  if (!route) return htmlNotFound(request);
  const resolved = await resolvePage(env, route);
  if (!resolved) return htmlNotFound(request);
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    const headers = pageHeaders('text/plain; charset=utf-8');
    headers.set('Allow', 'GET, HEAD');
    return new Response('405 Method Not Allowed\n', { status: 405, headers });
  }
  const body = request.method === 'HEAD' ? null : renderShell(route, { ...resolved, ...signInReturn(request, env, route) });
  return new Response(body, { status: 200, headers: pageHeaders('text/html; charset=utf-8') });
}

/**
 * The sign-in page's `data-return`: where the client goes once signed in, decided here (only a
 * path of this origin, else `/`) and checked again by the client before it navigates. Absent when
 * the URL names no `return` (the client then stays on the page).
 */
function signInReturn(request: Request, env: Env, route: PageRoute): Record<string, string> {
  const value = route.kind === 'sign_in' ? new URL(request.url).searchParams.get('return') : null;
  return value === null ? {} : { return: safeReturnPath(value, publicOrigin(request, env)) };
}

/** The HTML 404 page (any method: nothing lives at this path). */
function htmlNotFound(request: Request): Response {
  const body = request.method === 'HEAD' ? null : renderNotFound();
  return new Response(body, { status: 404, headers: pageHeaders('text/html; charset=utf-8') });
}
