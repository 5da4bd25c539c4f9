/**
 * The API Worker: REST v4 under /api/v4, GraphQL at /api/graphql, the release download redirect,
 * pages, and the Cron Trigger's sweeps. It produces delivery messages; the consumer Worker
 * (src/consumer.ts, consumer/wrangler.toml) delivers them.
 */
import type { Env } from './env';
import { handleRest } from './http/router';
import { handleGraphql } from './graphql/handler';
import { handleScheduled } from './scheduled';
import { handleDownload } from './http/downloads';
import { handlePage } from './pages';
import { errorResponse, json } from './http/errors';

async function fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const { pathname } = new URL(request.url);
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
  scheduled: handleScheduled,
} satisfies ExportedHandler<Env>;
