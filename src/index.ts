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
import { handleEvidenceFile } from './http/release_evidence';
import { handleVerifierKey } from './http/audit_log_proofs';
import { handleBenchTlog } from './http/bench_tlog';
import { handleBenchArchive } from './http/bench_archive';
import { handlePage } from './pages';
import { errorResponse, json } from './web/errors';
import { downloadWriteSeen } from './downloads/cache';
import { handleEdgeStats, requestLabel, runTraced } from './bench/stats';
import { rateLimited } from './http/rate_limit';

export { DownloadBuffer } from './downloads/buffer';
export { EdgeModelPrimary } from './bench/edge_model';

/**
 * A request that may change what the download redirect sees (an API write; GraphQL's POST
 * included). Ingest (POST /api/v4/audit_events) writes an event and its deliveries only, which
 * nothing cached reads: under an ingest load the isolate's download cache and replica reads stay.
 */
function mayWrite(request: Request, pathname: string): boolean {
  if (request.method === 'POST' && pathname.replace(/\/+$/, '') === '/api/v4/audit_events') return false;
  return !['GET', 'HEAD', 'OPTIONS'].includes(request.method) && (pathname.startsWith('/api/v4/') || pathname === '/api/graphql');
}

async function route(request: Request, env: Env, ctx: ExecutionContext, pathname: string): Promise<Response> {
  try {
    if (pathname === '/api/v4' || pathname.startsWith('/api/v4/')) return await handleRest(request, env, ctx);
    if (pathname === '/api/graphql') return await handleGraphql(request, env, ctx);
    const verifierKey = await handleVerifierKey(request, env, pathname);
    if (verifierKey) return verifierKey;
    const benchFill = await handleBenchTlog(request, env, pathname);
    if (benchFill) return benchFill;
    const benchArchive = await handleBenchArchive(request, env, pathname);
    if (benchArchive) return benchArchive;
    const evidence = await handleEvidenceFile(request, env, pathname);
    if (evidence) return evidence;
    const download = await handleDownload(request, env, ctx);
    if (download) return download;
    // The API's other paths answer in the API's shape; every other path is a page or an HTML 404.
    if (pathname === '/api' || pathname.startsWith('/api/')) return json({ message: '404 Not Found' }, 404);
    return await handlePage(request, env, ctx);
  } catch (err) {
    return errorResponse(err);
  }
}

async function fetch(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const { pathname } = new URL(request.url);
  // Bench only (BENCH_ROUTES="true"): the edge model's counters; otherwise null at no cost.
  const stats = await handleEdgeStats(request, env, pathname);
  if (stats) return stats;
  // Before any other work: a refused request reads nothing and records nothing.
  const limited = await rateLimited(request, env, pathname);
  if (limited) return limited;
  const answer = () => runTraced(env, requestLabel(pathname), (traced) => route(request, traced, ctx, pathname));
  if (!mayWrite(request, pathname)) return answer();
  // The download cache of this isolate must not outlive a write made here (src/downloads/cache.ts).
  try {
    return await answer();
  } finally {
    downloadWriteSeen();
  }
}

export default {
  fetch,
  scheduled: (controller, env, ctx) => runTraced(env, 'scheduled', (traced) => handleScheduled(controller, traced, ctx)),
} satisfies ExportedHandler<Env>;
