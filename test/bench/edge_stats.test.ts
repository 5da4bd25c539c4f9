/**
 * The edge-stats totals (src/bench/stats.ts): a Worker whose routes are not served (the consumer)
 * reports each invocation to EdgeModelPrimary, and GET /-/bench/edge-stats adds those counts to
 * the isolate's own. EDGE_MODEL_PRIMARY is not bound under vitest: a stand-in object keeps the
 * reports.
 */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import type { Env } from '../../src/env';
import type { ReportedTotals } from '../../src/bench/edge_model';
import { EDGE_STATS_PATH, handleEdgeStats, runTraced } from '../../src/bench/stats';

/** A stand-in EdgeModelPrimary namespace: one object whose reports are kept in memory. */
function standInPrimary() {
  let kept: Record<string, ReportedTotals> = {};
  const object = {
    async addStats(label: string, before: ReportedTotals['before'], after: ReportedTotals['after']) {
      if (kept[label]) throw new Error('one report per label in this test');
      kept[label] = { requests: 1, before, after };
    },
    async stats() {
      return structuredClone(kept);
    },
    async resetStats() {
      kept = {};
    },
  };
  return { idFromName: (name: string) => name, get: () => object } as unknown as NonNullable<Env['EDGE_MODEL_PRIMARY']>;
}

describe('edge-stats', () => {
  it("adds the reported invocations (the consumer Worker's) to the isolate's totals; reset clears both", async () => {
    const e: Env = { ...(env as Env), BENCH_ROUTES: 'true', EDGE_MODEL: 'off', EDGE_MODEL_PRIMARY: standInPrimary() };
    const route = async (path: string, method = 'GET') => (await handleEdgeStats(new Request(`http://x${path}`, { method }), e, path))!;
    const stats = async () => (await route(EDGE_STATS_PATH)).json<{ requests: Record<string, number>; before: Record<string, { d1Primary: number }> }>();
    expect((await route(`${EDGE_STATS_PATH}/reset`, 'POST')).status).toBe(204);

    await runTraced(e, 'queue', (traced) => traced.DB.prepare('SELECT 1').all(), { report: true });
    await runTraced(e, 'api', (traced) => traced.DB.prepare('SELECT 1').all());
    const body = await stats();
    expect(body.requests).toEqual({ api: 1, queue: 1 });
    expect(body.before.queue.d1Primary).toBe(1);
    expect(body.before.api.d1Primary).toBe(1);

    await route(`${EDGE_STATS_PATH}/reset`, 'POST');
    expect((await stats()).requests).toEqual({});
  });

  it('counts a reporting invocation in the isolate when EdgeModelPrimary is not bound', async () => {
    const e: Env = { ...(env as Env), BENCH_ROUTES: 'true', EDGE_MODEL: 'off', EDGE_MODEL_PRIMARY: undefined };
    await handleEdgeStats(new Request(`http://x${EDGE_STATS_PATH}/reset`, { method: 'POST' }), e, `${EDGE_STATS_PATH}/reset`);
    await runTraced(e, 'queue', (traced) => traced.DB.prepare('SELECT 1').all(), { report: true });
    const body = await (await handleEdgeStats(new Request(`http://x${EDGE_STATS_PATH}`), e, EDGE_STATS_PATH))!.json<{ requests: Record<string, number> }>();
    expect(body.requests).toEqual({ queue: 1 });
  });
});
