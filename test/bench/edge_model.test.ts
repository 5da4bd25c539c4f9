/**
 * The edge latency model (src/bench/edge_model.ts) and the binding tracer under it
 * (src/bench/trace.ts), on the real D1, queue and Durable Object bindings of the test Worker.
 */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import worker from '../../src/index';
import { edgeModelProfile, outboundFetch, withEdgeModel, type EdgeModelOptions } from '../../src/bench/edge_model';
import { BindingTrace, isWriteSql, traceEnv, zeroCounts, type TraceCounts } from '../../src/bench/trace';
import { call } from '../support/api';

const TABLE = 'edge_model_test';
/** The runner's env: the API Worker's bindings plus the consumer's (DELIVERIES_DLQ) bound for the tests. */
type RunnerEnv = typeof env;
const bench = (model: string, extra: Partial<RunnerEnv> = {}): RunnerEnv => ({ ...env, BENCH_ROUTES: 'true', EDGE_MODEL: model, ...extra });
const counts = (c: Partial<TraceCounts>): TraceCounts => ({ ...zeroCounts(), ...c });

/** Milliseconds `f` takes. */
async function timed(f: () => Promise<unknown>): Promise<number> {
  const started = Date.now();
  await f();
  return Date.now() - started;
}

async function scratchTable(): Promise<void> {
  await env.DB.prepare(`CREATE TABLE IF NOT EXISTS ${TABLE} (id INTEGER PRIMARY KEY, v TEXT)`).run();
}

describe('edge model: off', () => {
  it('returns env itself unless BENCH_ROUTES is "true", and reads unknown profiles as off', () => {
    const plain = { ...env, EDGE_MODEL: 'far' };
    expect(edgeModelProfile(plain)).toBe('off');
    expect(withEdgeModel(plain)).toBe(plain);
    expect(outboundFetch(plain)).toBe(fetch);
    expect(edgeModelProfile(bench('far'))).toBe('far');
    expect(edgeModelProfile(bench('near'))).toBe('near');
    expect(edgeModelProfile(bench('FAR'))).toBe('off');
    expect(edgeModelProfile(bench('off'))).toBe('off');
    const off = bench('off');
    expect(withEdgeModel(off)).toBe(off);
  });

  it('answers the edge-stats routes only with BENCH_ROUTES="true"', async () => {
    expect((await call('GET', '/-/bench/edge-stats')).status).toBe(404);
    const e = bench('off');
    const ask = async (method: string, path: string) => {
      const ctx = createExecutionContext();
      const res = await worker.fetch(new Request(`http://127.0.0.1${path}`, { method }), e, ctx);
      await waitOnExecutionContext(ctx);
      return res;
    };
    expect((await ask('POST', '/-/bench/edge-stats/reset')).status).toBe(204);
    // An anonymous download of an unknown project: a replica's "not found" is asked of the primary.
    expect((await ask('GET', '/nobody/nothing/-/releases/v1/downloads/x.tgz')).status).toBe(404);
    expect((await ask('GET', '/api/v4/version')).status).toBe(200);
    const stats = (await (await ask('GET', '/-/bench/edge-stats')).json()) as any;
    expect(stats.profile).toBe('off');
    expect(stats.requests).toEqual({ download: 1, api: 1 });
    // rows_written is D1's own figure (its statement journal counts too): not asserted here.
    expect({ ...stats.before.download, rowsWritten: 0, rowsRead: 0 }).toEqual(counts({ d1Replica: 1, d1Primary: 1 }));
    expect(stats.after.download).toEqual(counts({}));
  });
});

describe('binding tracer', () => {
  it('classifies write statements by their SQL', () => {
    for (const sql of ['INSERT INTO t VALUES (1)', '  update t set v = 1', '-- note\n/* more */ DELETE FROM t', 'REPLACE INTO t VALUES (1)', 'CREATE TABLE x (a)', 'DROP TABLE x', 'ALTER TABLE x ADD b', 'WITH s AS (SELECT 1) INSERT INTO t SELECT * FROM s']) {
      expect(isWriteSql(sql), sql).toBe(true);
    }
    for (const sql of ['SELECT 1', '-- INSERT\nSELECT 1', '/* DELETE */ SELECT 1', 'WITH s AS (SELECT 1) SELECT * FROM s', 'PRAGMA table_list']) {
      expect(isWriteSql(sql), sql).toBe(false);
    }
  });

  it('counts D1 primary, replica and write round trips, rows written, queue sends and Durable Object calls, before and after the response', async () => {
    await scratchTable();
    const trace = new BindingTrace();
    const e = traceEnv(env, trace);

    expect(await e.DB.prepare('SELECT 7 AS x').first('x')).toBe(7);
    const ins = await e.DB.prepare(`/* c */ -- x\n INSERT INTO ${TABLE} (v) VALUES (?1)`).bind('a').run();
    expect(ins.meta.changes).toBe(1);
    const [sel, upd] = await e.DB.batch([e.DB.prepare(`SELECT COUNT(*) AS n FROM ${TABLE}`), e.DB.prepare(`UPDATE ${TABLE} SET v = ?1 WHERE id = ?2`).bind('b', ins.meta.last_row_id)]);
    expect((sel.results[0] as { n: number }).n).toBeGreaterThan(0);
    expect(upd.meta.changes).toBe(1);
    const session = e.DB.withSession('first-unconstrained');
    expect((await session.prepare(`SELECT v FROM ${TABLE} WHERE id = ?1`).bind(ins.meta.last_row_id).all()).results).toEqual([{ v: 'b' }]);
    await session.prepare(`WITH s AS (SELECT 'c' AS v) INSERT INTO ${TABLE} (v) SELECT v FROM s`).run();
    expect(typeof session.getBookmark()).toBe('string');
    const before = trace.before;
    expect(before.rowsWritten).toBeGreaterThanOrEqual(3);
    // The batch's COUNT(*) visits every row of the table; `first()` carries no meta and adds nothing.
    expect(before.rowsRead).toBeGreaterThanOrEqual((sel.results[0] as { n: number }).n);
    expect({ ...before, rowsWritten: 0, rowsRead: 0 }).toEqual(counts({ d1Primary: 4, d1Replica: 1, d1WriteTransactions: 3 }));

    trace.responded = true;
    await e.DELIVERIES_DLQ!.send({ eventId: 0, destinationId: 0 });
    await e.DELIVERIES_DLQ!.sendBatch([1, 2, 3].map((n) => ({ body: { eventId: n, destinationId: 0 } })));
    const ns = e.EDGE_MODEL_PRIMARY!;
    expect(ns.idFromString(ns.newUniqueId().toString())).toBeDefined();
    const stub = ns.get(ns.idFromName(`trace-${Date.now()}`), { locationHint: 'weur' });
    expect(await stub.reserve(0)).toBe(0);
    expect(await ns.getByName(`trace-${Date.now()}`).reserve(5)).toBe(5);
    expect(trace.after).toEqual(counts({ queueSends: 2, queueMessages: 4, durableObjectCalls: 2 }));
    expect({ ...trace.before, rowsWritten: 0, rowsRead: 0 }).toEqual(counts({ d1Primary: 4, d1Replica: 1, d1WriteTransactions: 3 }));
  });

  it('forwards counts to a totals trace, in the half of the call', async () => {
    const totals = new BindingTrace();
    const trace = new BindingTrace(totals);
    const e = traceEnv(env, trace);
    await e.DB.prepare('SELECT 1').first();
    trace.responded = true;
    await e.DB.prepare('SELECT 1').first();
    expect(totals.before.d1Primary).toBe(1);
    expect(totals.after.d1Primary).toBe(1);
  });
});

describe('edge model: far', () => {
  const exact: EdgeModelOptions = { jitter: 0 };

  it('charges a primary round trip for reads outside a session, a replica read inside one', async () => {
    const m = withEdgeModel(bench('far'), undefined, exact);
    const primary = await timed(() => m.DB.prepare('SELECT 1').first());
    expect(primary).toBeGreaterThanOrEqual(140);
    const replica = await timed(() => m.DB.withSession('first-unconstrained').prepare('SELECT 1').first());
    expect(replica).toBeGreaterThanOrEqual(4);
    expect(replica).toBeLessThan(60);
    // Default jitter: log-normal around 150 ms (σ 0.25), so well above 50 ms.
    const jittered = await timed(() => withEdgeModel(bench('far')).DB.prepare('SELECT 1').first());
    expect(jittered).toBeGreaterThanOrEqual(50);
  });

  it('charges queue sends and Durable Object calls (10 ms with a locationHint, 100 ms without)', async () => {
    const m = withEdgeModel(bench('far'), undefined, exact);
    expect(await timed(() => m.DELIVERIES_DLQ!.send({ eventId: 0, destinationId: 0 }))).toBeGreaterThanOrEqual(55);
    const ns = m.EDGE_MODEL_PRIMARY!;
    const remote = await timed(() => ns.get(ns.idFromName('far-test')).reserve(0));
    const located = await timed(() => ns.get(ns.idFromName('far-test'), { locationHint: 'enam' }).reserve(0));
    expect(remote).toBeGreaterThanOrEqual(95);
    expect(located).toBeGreaterThanOrEqual(9);
    expect(located).toBeLessThan(60);
  });

  it('serializes write transactions of separate invocations through the one writer', async () => {
    await scratchTable();
    const options: EdgeModelOptions = { jitter: 0, profile: { primaryRttMs: 0, writeMs: 50 } };
    const write = (e: RunnerEnv) => e.DB.prepare(`INSERT INTO ${TABLE} (v) VALUES ('w')`).run();
    const one = await timed(() => write(withEdgeModel(bench('far'), undefined, options)));
    expect(one).toBeGreaterThanOrEqual(45);
    // Two invocations (two wrapped envs), each its own stub of EdgeModelPrimary: one after the other.
    const two = await timed(() => Promise.all([write(withEdgeModel(bench('far'), undefined, options)), write(withEdgeModel(bench('far'), undefined, options))]));
    expect(two).toBeGreaterThanOrEqual(95);
    // Reads do not take the writer.
    const reads = await timed(() => Promise.all([1, 2, 3].map(() => withEdgeModel(bench('far'), undefined, options).DB.prepare('SELECT 1').first())));
    expect(reads).toBeLessThan(45);
    // Without the binding, writes still serialize (in this isolate).
    const local = bench('far', { EDGE_MODEL_PRIMARY: undefined });
    const twoLocal = await timed(() => Promise.all([write(withEdgeModel(local, undefined, options)), write(withEdgeModel(local, undefined, options))]));
    expect(twoLocal).toBeGreaterThanOrEqual(95);
  });

  it('lets at most 6 outbound fetches of one invocation wait for headers at once', async () => {
    let open = 0;
    let most = 0;
    const fake: typeof fetch = async () => {
      open++;
      most = Math.max(most, open);
      await new Promise((r) => setTimeout(r, 20));
      open--;
      return new Response('ok');
    };
    const trace = new BindingTrace();
    const f = outboundFetch(withEdgeModel(bench('far'), trace, { fetch: fake }));
    const answers = await Promise.all(Array.from({ length: 14 }, () => f('http://127.0.0.1/x')));
    expect(answers.every((r) => r.status === 200)).toBe(true);
    expect(most).toBe(6);
    expect(trace.before.fetches).toBe(14);
    // Off (traced): counted, not limited.
    most = 0;
    const g = outboundFetch(withEdgeModel(bench('off'), new BindingTrace(), { fetch: fake }));
    await Promise.all(Array.from({ length: 14 }, () => g('http://127.0.0.1/x')));
    expect(most).toBe(14);
  });
});
