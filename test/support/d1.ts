/** D1 helpers for tests that count what a request costs. */
import { env } from 'cloudflare:workers';
import type { Env } from '../../src/env';

/** env.DB wrapped so that every D1 round trip (a statement's first/all/run/raw, or a batch) is counted. */
export function countingEnv(): { env: Env; roundTrips: () => number } {
  let n = 0;
  const real = new WeakMap<object, D1PreparedStatement>();
  const wrap = (s: D1PreparedStatement): D1PreparedStatement => {
    const p = new Proxy(s, {
      get(t, k) {
        if (k === 'bind') return (...args: unknown[]) => wrap(t.bind(...args));
        if (k === 'first' || k === 'all' || k === 'run' || k === 'raw') n++;
        const v = Reflect.get(t, k, t);
        return typeof v === 'function' ? v.bind(t) : v;
      },
    });
    real.set(p, s);
    return p;
  };
  const db = new Proxy(env.DB, {
    get(t, k) {
      if (k === 'prepare') return (sql: string) => wrap(t.prepare(sql));
      if (k === 'batch') return (stmts: D1PreparedStatement[]) => (n++, t.batch(stmts.map((s) => real.get(s) ?? s)));
      const v = Reflect.get(t, k, t);
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
  return { env: { ...env, DB: db } as Env, roundTrips: () => n };
}
