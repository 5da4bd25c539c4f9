/** D1 helpers for tests that count what a request costs (on the binding tracer of src/bench/trace.ts). */
import { env } from 'cloudflare:workers';
import type { Env } from '../../src/env';
import { BindingTrace, traceEnv } from '../../src/bench/trace';

/** What countingEnv has seen since it was made (or last reset). */
export interface D1Counts {
  /** D1 round trips: a statement's first/all/run/raw, a batch, or an exec. */
  roundTrips: number;
  /** Statements prepared. */
  prepared: number;
  /** The SQL of those statements, in order. */
  statements: string[];
  /** The results of every batch, in order. */
  batches: D1Result[][];
}

/**
 * The test env with every binding traced (D1, queues, Durable Objects): `trace` holds the full
 * counts (primary/replica round trips, write transactions, rows written, queue sends, Durable
 * Object calls), `counts` the prepared statements and batch results.
 */
export function tracingEnv(): { env: Env; trace: BindingTrace; counts: D1Counts; reset: () => void } {
  const trace = new BindingTrace();
  const counts: D1Counts = { roundTrips: 0, prepared: 0, statements: [], batches: [] };
  const traced = traceEnv(env as Env, trace, {
    prepared: (sql) => {
      counts.prepared++;
      counts.statements.push(sql);
    },
    batchResults: (results) => void counts.batches.push(results),
  });
  // roundTrips is read from the trace, so it is always current.
  Object.defineProperty(counts, 'roundTrips', { get: () => trace.before.d1Primary + trace.before.d1Replica + trace.after.d1Primary + trace.after.d1Replica });
  const reset = () => {
    trace.reset();
    counts.prepared = 0;
    counts.statements.length = 0;
    counts.batches = [];
  };
  return { env: traced, trace, counts, reset };
}

/** env with every D1 round trip, prepared statement and batch result counted. */
export function countingEnv(): { env: Env; roundTrips: () => number; counts: D1Counts; reset: () => void } {
  const { env: traced, counts, reset } = tracingEnv();
  return { env: traced, roundTrips: () => counts.roundTrips, counts, reset };
}
