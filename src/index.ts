/**
 * The Worker: REST v4 under /api/v4, GraphQL at /api/graphql, the release download redirect,
 * and the queue consumer that delivers audit events to streaming destinations.
 */
import type { DeliveryJob, Env } from './env';
import { handleRest } from './http/router';
import { handleGraphql } from './graphql/handler';
import { handleDeliveryBatch } from './delivery/consumer';
import { handleScheduled } from './scheduled';
import { handleDownload } from './http/downloads';
import { handlePage } from './pages';
import { errorResponse, json } from './http/errors';
import { downloadWriteSeen } from './downloads/cache';

export { DownloadBuffer } from './downloads/buffer';

/** A request that may change what the download redirect sees (an API write; GraphQL's POST included). */
function mayWrite(request: Request, pathname: string): boolean {
  return !['GET', 'HEAD', 'OPTIONS'].includes(request.method) && (pathname.startsWith('/api/v4/') || pathname === '/api/graphql');
}

async function fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const { pathname } = new URL(request.url);
  // The download cache of this isolate must not outlive a write made here (src/downloads/cache.ts).
  if (mayWrite(request, pathname)) {
    try {
      return await route(request, env, ctx, pathname);
    } finally {
      downloadWriteSeen();
    }
  }
  return route(request, env, ctx, pathname);
}

async function route(request: Request, env: Env, ctx: ExecutionContext, pathname: string): Promise<Response> {
  try {
    if (pathname === '/api/v4' || pathname.startsWith('/api/v4/')) return await handleRest(request, env, ctx);
    if (pathname === '/api/graphql') return await handleGraphql(request, env, ctx);
    const download = await handleDownload(request, env, ctx);
    if (download) return download;
    const page = await handlePage(request, env, ctx);
    if (page) return page;
    return json({ error: '404 Not Found' }, 404);
  } catch (err) {
    return errorResponse(err);
  }
}

export default {
  fetch,
  queue: handleDeliveryBatch,
  scheduled: handleScheduled,
} satisfies ExportedHandler<Env, DeliveryJob>;
