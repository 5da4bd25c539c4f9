/** D1 helpers for tests that count what a request costs. */
import { env } from 'cloudflare:workers';
import type { Env } from '../../src/env';

/** What countingEnv has seen since it was made (or last reset). */
export interface D1Counts {
  /** D1 round trips: a statement's first/all/run/raw, or a batch. */
  roundTrips: number;
  /** Statements prepared. */
  prepared: number;
  /** The results of every batch, in order. */
  batches: D1Result[][];
}

/** env.DB wrapped so that every D1 round trip, prepared statement and batch result is counted. */
export function countingEnv(): { env: Env; roundTrips: () => number; counts: D1Counts; reset: () => void } {
  const counts: D1Counts = { roundTrips: 0, prepared: 0, batches: [] };
  const real = new WeakMap<object, D1PreparedStatement>();
  const wrap = (s: D1PreparedStatement): D1PreparedStatement => {
    const p = new Proxy(s, {
      get(t, k) {
        if (k === 'bind') return (...args: unknown[]) => wrap(t.bind(...args));
        if (k === 'first' || k === 'all' || k === 'run' || k === 'raw') counts.roundTrips++;
        const v = Reflect.get(t, k, t);
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
    real.set(p, s);
    return p;
  };
  const db = new Proxy(env.DB, {
    get(t, k) {
      if (k === 'prepare') return (sql: string) => (counts.prepared++, wrap(t.prepare(sql)));
      if (k === 'batch') {
        return async (stmts: D1PreparedStatement[]) => {
          counts.roundTrips++;
          const results = await t.batch(stmts.map((s) => real.get(s) ?? s));
          counts.batches.push(results);
          return results;
        };
      }
      const v = Reflect.get(t, k, t);
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
  const reset = () => Object.assign(counts, { roundTrips: 0, prepared: 0, batches: [] });
  return { env: { ...env, DB: db } as Env, roundTrips: () => counts.roundTrips, counts, reset };
}
