/**
 * The archive benchmark's bulk route (src/http/bench_archive.ts): only with BENCH_ROUTES "true";
 * bad input answers 400 in the REST error shape; a fill records the asked number of events,
 * oldest first and spread evenly over the asked range, in the stated mix, as the one writer stores
 * them (download events of ~1 KB), and leafs them all. The move route is exercised only for its
 * input checks here: moving belongs to test/archive/ (this suite never moves events).
 */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import type { Env } from '../../src/env';
import { BENCH_BULK_PATH, BENCH_MOVE_PATH, BENCH_SEAL_PATH, handleBenchArchive } from '../../src/http/bench_archive';
import { ADMIN, api, createGroup, createProject } from '../support/api';

const benchEnv = { ...(env as unknown as Env), BENCH_ROUTES: 'true' } as Env;

function post(path: string, body: unknown, e: Env = benchEnv): Promise<Response | null> {
  const request = new Request(`http://127.0.0.1${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  return handleBenchArchive(request, e, path);
}

async function releaseLink(): Promise<{ projectPath: string }> {
  const g = await createGroup({ visibility: 'public' });
  const p = await createProject(g.id, { visibility: 'public' });
  const r = await api('POST', `/api/v4/projects/${p.id}/releases`, {
    token: ADMIN,
    body: { tag_name: 'v1.0.0', assets: { links: [{ name: 'app.tar.gz', url: 'https://example.com/app.tar.gz', direct_asset_path: '/bin/app.tar.gz' }] } },
  });
  expect(r.status).toBe(201);
  return { projectPath: p.path_with_namespace };
}

interface Row {
  id: number;
  event_type: string;
  created_at: string;
  details: string;
  uuid: string | null;
}

describe('the bench-only bulk route', () => {
  it('is an unknown path unless BENCH_ROUTES is "true"', async () => {
    expect(await post(BENCH_BULK_PATH, { count: 1 }, { ...benchEnv, BENCH_ROUTES: 'false' })).toBeNull();
    expect(await post(BENCH_MOVE_PATH, { older_than: '2020-01-01T00:00:00Z' }, { ...benchEnv, BENCH_ROUTES: undefined })).toBeNull();
    expect(await post(BENCH_SEAL_PATH, {}, { ...benchEnv, BENCH_ROUTES: 'false' })).toBeNull();
    expect(await post('/-/bench/audit_events/other', { count: 1 })).toBeNull();
  });

  it('refuses bad input with a 400 message', async () => {
    const { projectPath } = await releaseLink();
    const good = { count: 10, project_path: projectPath, tag_name: 'v1.0.0', filepath: '/bin/app.tar.gz', from: '2020-01-01T00:00:00Z', to: '2020-01-02T00:00:00Z' };
    const cases: [unknown, string][] = [
      ['not an object', 'the body must be a JSON object'],
      [{ ...good, count: 0 }, 'count must be an integer from 1 to 20000'],
      [{ ...good, count: 20_001 }, 'count must be an integer from 1 to 20000'],
      [{ ...good, from: '2020-01-01' }, 'from must be an ISO 8601 UTC time (2026-01-31T12:00:00Z)'],
      [{ ...good, to: '2019-12-31T00:00:00Z' }, 'to must not be before from'],
      [{ ...good, tag_name: '' }, 'tag_name must be a non-empty string'],
    ];
    for (const [body, message] of cases) {
      const r = (await post(BENCH_BULK_PATH, body))!;
      expect(r.status).toBe(400);
      expect(await r.json()).toEqual({ message: `400 Bad request - ${message}` });
    }
    const missing = (await post(BENCH_BULK_PATH, { ...good, tag_name: 'v9' }))!;
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ message: '404 Release link Not Found' });
    const move = (await post(BENCH_MOVE_PATH, { older_than: 'yesterday' }))!;
    expect(move.status).toBe(400);
    expect(await move.json()).toEqual({ message: '400 Bad request - older_than must be an ISO 8601 UTC time (2026-01-31T12:00:00Z)' });
    const chunks = (await post(BENCH_MOVE_PATH, { older_than: '2020-01-01T00:00:00Z', max_chunks: 0 }))!;
    expect(chunks.status).toBe(400);
    for (const [body, message] of [
      ['not an object', 'the body must be a JSON object'],
      [{ max_segments: 0 }, 'max_segments must be an integer from 1 to 1000'],
      [{ max_segments: 1001 }, 'max_segments must be an integer from 1 to 1000'],
      [{ max_segments: '2' }, 'max_segments must be an integer from 1 to 1000'],
    ] as [unknown, string][]) {
      const seal = (await post(BENCH_SEAL_PATH, body))!;
      expect(seal.status).toBe(400);
      expect(await seal.json()).toEqual({ message: `400 Bad request - ${message}` });
    }
  });

  it('records the events oldest first over the range, in the stated mix, and leafs them', async () => {
    const { projectPath } = await releaseLink();
    const from = '1995-03-01T00:00:00.000Z';
    const to = '1995-03-02T00:00:00.000Z';
    const r = (await post(BENCH_BULK_PATH, { count: 700, project_path: projectPath, tag_name: 'v1.0.0', filepath: '/bin/app.tar.gz', from, to }))!;
    expect(r.status).toBe(201);
    const answer = (await r.json()) as { first_id: number; last_id: number; leaves: number };
    const { results } = await env.DB.prepare('SELECT id, event_type, created_at, details, uuid FROM audit_events WHERE id BETWEEN ?1 AND ?2 ORDER BY id')
      .bind(answer.first_id, answer.last_id)
      .all<Row>();
    expect(results).toHaveLength(700);
    expect(results[0].created_at).toBe(from);
    expect(results[699].created_at).toBe(to);
    // Evenly spread and increasing with the id (ids follow time, as in production).
    const times = results.map((e) => Date.parse(e.created_at));
    const step = (Date.parse(to) - Date.parse(from)) / 699;
    times.forEach((t, i) => expect(Math.abs(t - (Date.parse(from) + i * step))).toBeLessThanOrEqual(1));
    const types = new Map<string, number>();
    for (const e of results) types.set(e.event_type, (types.get(e.event_type) ?? 0) + 1);
    expect(Object.fromEntries(types)).toEqual({ release_external_artifact_download: 679, release_updated: 14, instance_bench_setting_updated: 7 });
    // Download events as the redirect records them: a uuid, the link, the user agent; ~1 KB rows.
    const download = results.find((e) => e.event_type === 'release_external_artifact_download')!;
    expect(download.uuid).toMatch(/^[0-9a-f-]{36}$/);
    const details = JSON.parse(download.details) as Record<string, unknown>;
    expect(details).toMatchObject({ custom_message: 'Repository External Resource Download Started', tag_name: 'v1.0.0', filepath: '/bin/app.tar.gz' });
    expect(String(details.user_agent)).toContain('Mozilla/5.0');
    expect(download.details.length).toBeGreaterThan(500);
    // Every one has its leaf.
    const leaves = await env.DB.prepare('SELECT COUNT(*) AS n FROM audit_log_leaves WHERE event_id BETWEEN ?1 AND ?2')
      .bind(answer.first_id, answer.last_id)
      .first<{ n: number }>();
    expect(leaves!.n).toBe(700);
    expect(answer.leaves).toBeGreaterThanOrEqual(700);
  });
});
