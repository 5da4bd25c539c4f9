/**
 * The web pages: the audit log and streams tabs of a group and of the instance, a project's
 * audit log, a project's releases, and sign-in. The HTML shell, one stylesheet and one script
 * are bundled into the Worker as string modules (no Workers Static Assets binding, no build
 * step beyond wrangler's esbuild), served with a strict Content-Security-Policy. The pages read
 * and write only through the public REST and GraphQL APIs, with the personal access token the
 * user keeps in sessionStorage.
 */
import type { Env } from '../env';
import { APP_CSS } from './assets/app_css';
import { APP_JS } from './assets/app_js';
import { matchPageRoute } from './routes';
import { renderShell } from './shell';

/**
 * Content-Security-Policy of every page and asset: only same-origin scripts, styles and API
 * calls; no inline code, no framing, no external requests.
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** FNV-1a, 32 bits: a short content hash used as the assets' ETag and cache-busting query. */
function contentHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

interface Asset {
  body: string;
  type: string;
  etag: string;
}

const ASSETS: Record<string, Asset> = {
  '/-/ui/app.css': { body: APP_CSS, type: 'text/css; charset=utf-8', etag: `"${contentHash(APP_CSS)}"` },
  '/-/ui/app.js': { body: APP_JS, type: 'text/javascript; charset=utf-8', etag: `"${contentHash(APP_JS)}"` },
};

const ASSET_URLS = {
  css: `/-/ui/app.css?v=${ASSETS['/-/ui/app.css']!.etag.slice(1, -1)}`,
  js: `/-/ui/app.js?v=${ASSETS['/-/ui/app.js']!.etag.slice(1, -1)}`,
};

function securityHeaders(type: string): Headers {
  return new Headers({
    'Content-Type': type,
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'X-Frame-Options': 'DENY',
  });
}

/**
 * Answers the request when the path is a page or one of its assets, otherwise null (the
 * caller then answers 404). Only GET and HEAD are pages; other methods get 405 on page paths.
 */
export async function handlePage(request: Request, _env: Env, _ctx: ExecutionContext): Promise<Response | null> {
  const { pathname } = new URL(request.url);
  const asset = ASSETS[pathname];
  const route = asset ? null : matchPageRoute(pathname);
  if (!asset && !route) return null;
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    const headers = securityHeaders('text/plain; charset=utf-8');
    headers.set('Allow', 'GET, HEAD');
    return new Response('405 Method Not Allowed\n', { status: 405, headers });
  }
  const head = request.method === 'HEAD';
  if (asset) {
    const headers = securityHeaders(asset.type);
    headers.set('ETag', asset.etag);
    // Revalidate each time (cheap 304): the page references the asset with its hash anyway.
    headers.set('Cache-Control', 'no-cache');
    if (request.headers.get('If-None-Match') === asset.etag) return new Response(null, { status: 304, headers });
    return new Response(head ? null : asset.body, { status: 200, headers });
  }
  const headers = securityHeaders('text/html; charset=utf-8');
  // Pages carry no data (the script fetches it with the user's token), but never cache them.
  headers.set('Cache-Control', 'no-store');
  return new Response(head ? null : renderShell(route!, ASSET_URLS), { status: 200, headers });
}
