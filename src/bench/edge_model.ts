/**
 * The edge latency model (bench only): `wrangler dev` runs D1 and Queues in-process, so a
 * benchmark measures CPU and none of Cloudflare's network waits. With BENCH_ROUTES="true" and
 * EDGE_MODEL="near" or "far", the Worker's own bindings wait what they would at the edge, per
 * call, whatever the route does (figures and sources: bench/README.md):
 *   - D1 primary: a round trip of 15 ms (near) / 150 ms (far), log-normal jitter; a round trip
 *     holding a write also takes a 3 ms slot of the ONE writer (EdgeModelPrimary, shared by
 *     every isolate and Worker bound to it): half the round trip, the wait for the slot, the
 *     call, the other half;
 *   - D1 reads through a `withSession(...)` session: 5 ms (a read replica);
 *   - Queue send/sendBatch: 60 ms median;
 *   - Durable Object call: 10 ms with a locationHint or under near, 100 ms otherwise;
 *   - outbound fetch (`outboundFetch(env)`): at most 6 waiting for headers per invocation.
 */
import { DurableObject } from 'cloudflare:workers';
import { addCounts, BindingTrace, traceEnv, zeroCounts, type Around, type TraceCounts } from './trace';

/** The profiles EDGE_MODEL names. */
export type EdgeProfileName = 'off' | 'near' | 'far';

/** What the model charges, in milliseconds (medians where jittered). */
export interface EdgeProfile {
  /** Round trip to the D1 primary (log-normal). */
  primaryRttMs: number;
  /** Slot of the one writer per write transaction, on top of the round trip (serialized). */
  writeMs: number;
  /** Read through a Sessions API session (a nearby replica; log-normal). */
  replicaMs: number;
  /** Queue send or sendBatch (log-normal). */
  queueMs: number;
  /** Durable Object call, commit included, to an object in the caller's region (log-normal). */
  durableObjectLocatedMs: number;
  /** Durable Object call to an object got without a locationHint (log-normal). */
  durableObjectRemoteMs: number;
  /** Outbound fetches waiting for headers at once per invocation; the rest wait. */
  maxOpenFetches: number;
}

/** The defaults (sources in bench/README.md). */
export const EDGE_PROFILES: Record<Exclude<EdgeProfileName, 'off'>, EdgeProfile> = {
  near: { primaryRttMs: 15, writeMs: 3, replicaMs: 5, queueMs: 60, durableObjectLocatedMs: 10, durableObjectRemoteMs: 10, maxOpenFetches: 6 },
  far: { primaryRttMs: 150, writeMs: 3, replicaMs: 5, queueMs: 60, durableObjectLocatedMs: 10, durableObjectRemoteMs: 100, maxOpenFetches: 6 },
};

/** Sigma of the log-normal jitter (median × e^(σ·N(0,1)): p99 ≈ 1.8 × median). */
export const JITTER_SIGMA = 0.25;

/** What the model reads from an env. */
export interface EdgeModelEnv {
  BENCH_ROUTES?: string;
  EDGE_MODEL?: string;
  EDGE_MODEL_PRIMARY?: DurableObjectNamespace<EdgeModelPrimary>;
}

const reported = new Set<string>();
function logOnce(key: string, message: string): void {
  if (reported.has(key)) return;
  reported.add(key);
  console.warn(message);
}

/** The profile in force: 'off' unless BENCH_ROUTES is "true"; an unknown EDGE_MODEL is logged once and off. */
export function edgeModelProfile(env: EdgeModelEnv): EdgeProfileName {
  if (env.BENCH_ROUTES !== 'true') return 'off';
  const v = env.EDGE_MODEL ?? 'off';
  if (v === 'off' || v === 'near' || v === 'far') return v;
  logOnce(`profile:${v}`, `EDGE_MODEL=${JSON.stringify(v)} is not off, near or far: the edge model is off`);
  return 'off';
}

/** Test and bench knobs of withEdgeModel. */
export interface EdgeModelOptions {
  /** Figures replacing the profile's. */
  profile?: Partial<EdgeProfile>;
  /** Sigma of the jitter (default JITTER_SIGMA; 0: every wait exactly its median). */
  jitter?: number;
  /** The fetch outboundFetch limits (default: the global fetch). */
  fetch?: typeof fetch;
}

/** Take the writer's next `ms` after `nextFree`: [its new nextFree, milliseconds until the slot ends]. */
function takeSlot(nextFree: number, ms: number): [number, number] {
  const now = Date.now();
  const end = Math.max(now, nextFree) + Math.max(0, ms);
  return [end, end - now];
}

/** The one writer: every write transaction of every isolate and Worker bound to it takes a slot here. */
export class EdgeModelPrimary extends DurableObject {
  private nextFree = 0;

  /** Take the next `ms` of the writer; returns the milliseconds until that slot ends. */
  reserve(ms: number): number {
    let wait: number;
    [this.nextFree, wait] = takeSlot(this.nextFree, ms);
    return wait;
  }

  /**
   * Add one invocation's counts under `label`: the totals of Workers whose own edge-stats page
   * is not served (the consumer Worker has no fetch handler; src/bench/stats.ts). Kept in the
   * object's storage, so an eviction between runs loses nothing.
   */
  async addStats(label: string, before: TraceCounts, after: TraceCounts): Promise<void> {
    const all = await this.stats();
    const t = (all[label] ??= { requests: 0, before: zeroCounts(), after: zeroCounts() });
    t.requests++;
    addCounts(t.before, before);
    addCounts(t.after, after);
    await this.ctx.storage.put('stats', all);
  }

  /** The counts added by addStats since the last reset, by label. */
  async stats(): Promise<Record<string, ReportedTotals>> {
    return (await this.ctx.storage.get<Record<string, ReportedTotals>>('stats')) ?? {};
  }

  async resetStats(): Promise<void> {
    await this.ctx.storage.delete('stats');
  }
}

/** One label's totals as EdgeModelPrimary keeps them. */
export interface ReportedTotals {
  requests: number;
  before: TraceCounts;
  after: TraceCounts;
}

/** The writer's next free time in this isolate's memory, when EDGE_MODEL_PRIMARY is not bound. */
let isolateNextFree = 0;

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

/** A log-normal draw around `median`. */
function jittered(median: number, sigma: number): number {
  if (sigma <= 0 || median <= 0) return median;
  const u = 1 - Math.random();
  const v = Math.random();
  const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  return median * Math.exp(sigma * z);
}

/** Half of `ms` on the way there, the call, the other half on the way back. */
function roundTrip(ms: number, before: () => Promise<void> = async () => {}): Around {
  return async (call) => {
    await sleep(ms / 2);
    await before();
    try {
      return await call();
    } finally {
      await sleep(ms / 2);
    }
  };
}

/** How a write waits for its slot of the one writer. */
function writerOf(env: EdgeModelEnv): (ms: number) => Promise<number> {
  const ns = env.EDGE_MODEL_PRIMARY;
  if (ns) {
    let stub: DurableObjectStub<EdgeModelPrimary> | undefined;
    // One stub per wrapped env (per invocation): stubs may not outlive their invocation.
    return async (ms) => Number(await (stub ??= ns.get(ns.idFromName('primary'))).reserve(ms));
  }
  logOnce('no-primary', 'EDGE_MODEL_PRIMARY is not bound: D1 writes are serialized in this isolate only, not across isolates and Workers');
  return async (ms) => {
    let wait: number;
    [isolateNextFree, wait] = takeSlot(isolateNextFree, ms);
    return wait;
  };
}

/** Per wrapped env: its outbound fetch. */
const fetchers = new WeakMap<object, typeof fetch>();

/** `base` counted into `trace`, at most `max` waiting for headers at once (the rest queue in order). */
function limitedFetch(trace: BindingTrace, base: typeof fetch, max: number): typeof fetch {
  let open = 0;
  const waiting: (() => void)[] = [];
  return async (input, init) => {
    trace.count('fetches');
    if (open < max) open++;
    else await new Promise<void>((resolve) => waiting.push(resolve)); // the slot is handed over
    try {
      return await base(input, init);
    } finally {
      const next = waiting.shift();
      if (next) next();
      else open--;
    }
  };
}

/**
 * `env` as the edge would serve it. Off (BENCH_ROUTES not "true", or EDGE_MODEL off): `env`
 * itself, or with a `trace` the traced env without any wait. near/far: the traced env whose
 * bindings wait per the profile. Wrap once per invocation (a request, a queue batch, a cron
 * run, a Durable Object's RPC call or alarm: `withEdgeModel(this.env)`), so that the outbound
 * fetch limit holds per invocation.
 */
export function withEdgeModel<E extends EdgeModelEnv>(env: E, trace?: BindingTrace, options: EdgeModelOptions = {}): E {
  const name = edgeModelProfile(env);
  const base = options.fetch ?? ((input, init) => fetch(input, init));
  if (name === 'off') {
    if (!trace) return env;
    const traced = traceEnv(env, trace);
    fetchers.set(traced, limitedFetch(trace, base, Infinity));
    return traced;
  }
  const p: EdgeProfile = { ...EDGE_PROFILES[name], ...options.profile };
  const sigma = options.jitter ?? JITTER_SIGMA;
  const t = trace ?? new BindingTrace();
  const reserve = writerOf(env);
  const traced = traceEnv(env, t, {
    d1: (kind) => {
      if (kind === 'replica-read') return roundTrip(jittered(p.replicaMs, sigma));
      const rtt = jittered(p.primaryRttMs, sigma);
      return kind === 'primary-write' ? roundTrip(rtt, async () => sleep(await reserve(p.writeMs))) : roundTrip(rtt);
    },
    queue: () => roundTrip(jittered(p.queueMs, sigma)),
    durableObject: (located) => roundTrip(jittered(located ? p.durableObjectLocatedMs : p.durableObjectRemoteMs, sigma)),
  });
  fetchers.set(traced, limitedFetch(t, base, p.maxOpenFetches));
  return traced;
}

/**
 * The fetch to use for outbound requests: for an env from withEdgeModel, its own (counted, and
 * under near/far at most 6 waiting for headers at once); otherwise the global fetch.
 */
export function outboundFetch(env: object): typeof fetch {
  return fetchers.get(env) ?? fetch;
}
