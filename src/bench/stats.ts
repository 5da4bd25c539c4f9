/**
 * Per-isolate totals of what invocations asked of their bindings (bench only), and the routes
 * that read and reset them. Nothing here runs unless BENCH_ROUTES is "true": in production no
 * env is wrapped and nothing is counted.
 *   GET  /-/bench/edge-stats        {profile, requests: {label: n}, before: {label: counts}, after: {label: counts}}
 *   POST /-/bench/edge-stats/reset
 */
import { benchRoutesEnabled, type Env } from '../env';
import { edgeModelProfile, withEdgeModel } from './edge_model';
import { BindingTrace } from './trace';

/** Which kind of invocation counts are kept under. */
export type EdgeLabel = 'download' | 'api' | 'queue' | 'scheduled' | 'durable-object';

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
 * not "true", `run(env)` and nothing else.
 */
export async function runTraced<E extends Env, R>(env: E, label: EdgeLabel, run: (env: E) => Promise<R>): Promise<R> {
  if (!benchRoutesEnabled(env)) return run(env);
  const total = totalFor(label);
  total.requests++;
  const trace = new BindingTrace(total.trace);
  try {
    return await run(withEdgeModel(env, trace));
  } finally {
    trace.responded = true;
  }
}

/** The label of a request: the release downloads and the bench's bare 302 are 'download'. */
export function requestLabel(pathname: string): EdgeLabel {
  return pathname.includes('/-/releases/') || pathname === '/-/bench/redirect' ? 'download' : 'api';
}

/** Answer the edge-stats routes (BENCH_ROUTES="true" only); null for anything else. */
export function handleEdgeStats(request: Request, env: Env, pathname: string): Response | null {
  if (!benchRoutesEnabled(env)) return null;
  if (pathname === EDGE_STATS_PATH && request.method === 'GET') {
    const pick = (f: (t: { requests: number; trace: BindingTrace }) => unknown) => Object.fromEntries([...totals].map(([k, t]) => [k, f(t)]));
    const body = { profile: edgeModelProfile(env), requests: pick((t) => t.requests), before: pick((t) => t.trace.before), after: pick((t) => t.trace.after) };
    return Response.json(body, { headers: { 'Cache-Control': 'no-store' } });
  }
  if (pathname === `${EDGE_STATS_PATH}/reset` && request.method === 'POST') {
    totals.clear();
    return new Response(null, { status: 204 });
  }
  return null;
}
