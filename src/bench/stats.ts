/**
 * Per-isolate totals of what invocations asked of their bindings (bench only), and the routes
 * that read and reset them. Nothing here runs unless BENCH_ROUTES is "true": in production no
 * env is wrapped and nothing is counted. A Worker whose routes are not served (the consumer
 * Worker: no fetch handler, and `wrangler dev` exposes the first Worker only) reports each
 * invocation's counts to the EdgeModelPrimary object instead (`report: true`); the routes add
 * those in.
 *   GET  /-/bench/edge-stats        {profile, requests: {label: n}, before: {label: counts}, after: {label: counts}}
 *   POST /-/bench/edge-stats/reset
 */
import { benchRoutesEnabled, type Env, type SharedEnv } from '../env';
import { edgeModelProfile, withEdgeModel, type ReportedTotals } from './edge_model';
import { addCounts, BindingTrace, zeroCounts } from './trace';

/** Which kind of invocation counts are kept under. */
export type EdgeLabel = 'download' | 'api' | 'queue' | 'scheduled' | 'durable-object' | 'lane';

export const EDGE_STATS_PATH = '/-/bench/edge-stats';

const totals = new Map<EdgeLabel, { requests: number; trace: BindingTrace }>();

function totalFor(label: EdgeLabel): { requests: number; trace: BindingTrace } {
  let t = totals.get(label);
  if (!t) totals.set(label, (t = { requests: 0, trace: new BindingTrace() }));
  return t;
}

/**
 * Run one invocation with `env` wrapped once (edge model and a trace counted under `label`),
 * then mark it responded: what runs later (ctx.waitUntil) counts as after. With BENCH_ROUTES
 * not "true", `run(env)` and nothing else. `report`: count the invocation in the
 * EdgeModelPrimary object (when bound) instead of this isolate, once `run` has settled (what it
 * leaves to ctx.waitUntil is not counted then).
 */
export async function runTraced<E extends SharedEnv, R>(env: E, label: EdgeLabel, run: (env: E) => Promise<R>, { report = false } = {}): Promise<R> {
  if (!benchRoutesEnabled(env)) return run(env);
  const primary = report ? env.EDGE_MODEL_PRIMARY : undefined;
  const total = primary ? undefined : totalFor(label);
  if (total) total.requests++;
  const trace = new BindingTrace(total?.trace);
  try {
    return await run(withEdgeModel(env, trace));
  } finally {
    trace.responded = true;
    if (primary) {
      // Unwrapped: the report itself is neither charged nor counted. A failed report must not fail the invocation.
      await primary
        .get(primary.idFromName('primary'))
        .addStats(label, trace.before, trace.after)
        .catch((err: unknown) => console.warn(`edge-stats: the ${label} counts were not reported: ${String(err)}`));
    }
  }
}

/** The label of a request: the release downloads and the bench's bare 302 are 'download'. */
export function requestLabel(pathname: string): EdgeLabel {
  return pathname.includes('/-/releases/') || pathname === '/-/bench/redirect' ? 'download' : 'api';
}

/** Answer the edge-stats routes (BENCH_ROUTES="true" only); null for anything else. */
export async function handleEdgeStats(request: Request, env: Env, pathname: string): Promise<Response | null> {
  if (!benchRoutesEnabled(env)) return null;
  const primary = env.EDGE_MODEL_PRIMARY?.get(env.EDGE_MODEL_PRIMARY.idFromName('primary'));
  if (pathname === EDGE_STATS_PATH && request.method === 'GET') {
    const all: Record<string, ReportedTotals> = {};
    const add = (label: string, t: ReportedTotals) => {
      const into = (all[label] ??= { requests: 0, before: zeroCounts(), after: zeroCounts() });
      into.requests += t.requests;
      addCounts(into.before, t.before);
      addCounts(into.after, t.after);
    };
    for (const [label, t] of totals) add(label, { requests: t.requests, before: t.trace.before, after: t.trace.after });
    for (const [label, t] of Object.entries(primary ? await primary.stats() : {})) add(label, t);
    const pick = (f: (t: ReportedTotals) => unknown) => Object.fromEntries(Object.entries(all).map(([k, t]) => [k, f(t)]));
    const body = { profile: edgeModelProfile(env), requests: pick((t) => t.requests), before: pick((t) => t.before), after: pick((t) => t.after) };
    return Response.json(body, { headers: { 'Cache-Control': 'no-store' } });
  }
  if (pathname === `${EDGE_STATS_PATH}/reset` && request.method === 'POST') {
    totals.clear();
    await primary?.resetStats();
    return new Response(null, { status: 204 });
  }
  return null;
}
