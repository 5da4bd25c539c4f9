// The edge latency model's counters (GET /-/bench/edge-stats, POST …/reset; bench/README.md)
// and starting a Worker under a profile, for the benchmarks.
import { startWorker } from './worker.mjs';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Responses autocannon received (any status). */
export const answered = (r) => r['1xx'] + r['2xx'] + r['3xx'] + r['4xx'] + r['5xx'];

/** GET /-/bench/edge-stats: {profile, requests, before, after} (the consumer Worker's queue label included). */
export async function edgeStats(worker) {
  const r = await fetch(`${worker.base}/-/bench/edge-stats`);
  if (!r.ok) throw new Error(`edge-stats GET answered ${r.status}`);
  return r.json();
}

/** POST /-/bench/edge-stats/reset. */
export async function resetEdgeStats(worker) {
  const r = await fetch(`${worker.base}/-/bench/edge-stats/reset`, { method: 'POST' });
  if (!r.ok) throw new Error(`edge-stats reset answered ${r.status}`);
}

/** Sum of count `key` (e.g. d1WriteTransactions) over `halves` and `labels` (default: every label). */
export function countTotal(stats, key, { halves = ['before', 'after'], labels } = {}) {
  let n = 0;
  for (const half of halves) for (const [label, c] of Object.entries(stats[half] ?? {})) if (!labels || labels.includes(label)) n += c[key];
  return n;
}

/**
 * The stats once the write transactions have not risen for `quietMs` (work after responses, the
 * consumer's reports), up to `maxMs`. A destination lane reports its counts when its alarm ends,
 * which is up to its attempt log's interval (1 s, LOG_FLUSH_INTERVAL_MS) after its last delivery:
 * a shorter quiet time read some runs before any lane had reported ("consumer 0.00").
 */
export async function settledEdgeStats(worker, { maxMs = 10_000, stepMs = 500, quietMs = 2500 } = {}) {
  let last = await edgeStats(worker);
  let quietSince = Date.now();
  for (const end = Date.now() + maxMs; Date.now() < end; ) {
    await sleep(stepMs);
    const now = await edgeStats(worker);
    if (countTotal(now, 'd1WriteTransactions') !== countTotal(last, 'd1WriteTransactions')) quietSince = Date.now();
    else if (Date.now() - quietSince >= quietMs) return now;
    last = now;
  }
  return last;
}

/** startWorker with EDGE_MODEL=`profile` (and `vars`), checked against what the Worker reports. */
export async function startWorkerUnder(profile, options = {}) {
  const worker = await startWorker({ ...options, vars: { ...options.vars, EDGE_MODEL: profile } });
  const stats = await edgeStats(worker);
  if (stats.profile !== profile) {
    await worker.stop();
    worker.removeState();
    throw new Error(`the Worker reports profile ${stats.profile}, expected ${profile}`);
  }
  return worker;
}
