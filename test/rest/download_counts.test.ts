/**
 * Download counts (issue 15): each link's tracked downloads in REST (`download_count`) and
 * GraphQL (`downloadCount`), kept by the download flush's own transaction; the release's
 * downloads per day (`GET .../releases/:tag/downloads/stats`); the instance's monthly figures
 * (`GET /admin/audit_events/stats`).
 */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { recordBufferedAuditEvents, type BufferedAuditEvent } from '../../src/audit/record';
import { projectEntity } from '../../src/audit/record';
import type { Env } from '../../src/env';
import type { Project } from '../../src/db/projects';
import { findProject } from '../../src/db/projects';
import { ADMIN, api, call, gql } from '../support/api';
import { tracingEnv } from '../support/d1';
import { flushDownloadBuffers } from '../support/downloads';
import { createRelease, releasesPath, releaseWorld } from '../releases/support';

const HEADERS = { 'User-Agent': 'count-test', 'CF-Connecting-IP': '198.51.100.8' };

async function releaseWithTwoLinks(visibility: 'private' | 'public' = 'public') {
  const w = await releaseWorld(visibility);
  const rel = await createRelease(w.project.id, w.developer.token, {
    tag_name: 'v1.0',
    released_at: '2020-01-01T00:00:00Z',
    assets: {
      links: [
        { name: 'tarball', url: 'https://dl.example.com/app-1.0.tgz', direct_asset_path: '/pkg/app.tgz' },
        { name: 'zip', url: 'https://dl.example.com/app-1.0.zip', direct_asset_path: '/pkg/app.zip' },
      ],
    },
  });
  const byName = Object.fromEntries(rel.assets.links.map((l: { name: string; id: number }) => [l.name, l.id])) as Record<string, number>;
  const project = (await findProject(env.DB, String(w.project.id)))!;
  return { ...w, projectRow: project, links: byName, base: `/${w.project.path_with_namespace}/-/releases/v1.0` };
}

/** A tracked download event as the redirect buffers it (see downloadEvent in src/http/downloads.ts). */
function downloadOf(project: Project, linkId: number, createdAt = new Date().toISOString()): BufferedAuditEvent {
  return {
    eventType: 'release_external_artifact_download',
    author: { id: -1, name: 'An unauthenticated user' },
    entity: projectEntity(project),
    target: { id: linkId, type: 'Releases::Link', details: 'link' },
    details: { custom_message: 'Repository External Resource Download Started', tag_name: 'v1.0', link_id: linkId },
    uuid: crypto.randomUUID(),
    createdAt,
  };
}

async function restCounts(projectId: number, token: string | null): Promise<Record<string, number>> {
  const r = await api('GET', releasesPath(projectId, 'v1.0'), { token });
  expect(r.status).toBe(200);
  return Object.fromEntries(r.body.assets.links.map((l: { name: string; download_count: number }) => [l.name, l.download_count]));
}

describe('download counts', () => {
  it('N tracked clicks through the redirect and its buffer flush count N, in REST and GraphQL; HEAD and 404s count nothing', async () => {
    const w = await releaseWithTwoLinks();
    expect(await restCounts(w.project.id, null)).toEqual({ tarball: 0, zip: 0 });
    for (let i = 0; i < 5; i++) expect((await call('GET', `${w.base}/downloads/pkg/app.tgz`, { headers: HEADERS })).status).toBe(302);
    expect((await call('GET', `${w.base}/links/${w.links.zip}`, { headers: HEADERS, token: w.reporter.token })).status).toBe(302);
    expect((await call('HEAD', `${w.base}/downloads/pkg/app.tgz`, { headers: HEADERS })).status).toBe(302);
    expect((await call('GET', `${w.base}/downloads/pkg/missing.tgz`, { headers: HEADERS })).status).toBe(404);
    await flushDownloadBuffers();
    expect(await restCounts(w.project.id, null)).toEqual({ tarball: 5, zip: 1 });
    // The release links endpoints show the same counts.
    const list = await api('GET', `${releasesPath(w.project.id, 'v1.0')}/assets/links`, { token: w.reporter.token });
    expect(list.body.map((l: { download_count: number }) => l.download_count).sort()).toEqual([1, 5]);
    const one = await api('GET', `${releasesPath(w.project.id, 'v1.0')}/assets/links/${w.links.tarball}`, { token: w.reporter.token });
    expect(one.body).toMatchObject({ id: w.links.tarball, download_count: 5 });
    const q = await gql(
      `query($p: ID!) { project(fullPath: $p) { release(tagName: "v1.0") { assets { links { nodes { name downloadCount } } } } } }`,
      { p: w.project.path_with_namespace },
      null,
    );
    expect(q.body.errors).toBeUndefined();
    const nodes = q.body.data.project.release.assets.links.nodes as { name: string; downloadCount: number }[];
    expect(Object.fromEntries(nodes.map((n) => [n.name, n.downloadCount]))).toEqual({ tarball: 5, zip: 1 });
    // Counted from the counter, which agrees with the log.
    const logged = await env.DB.prepare(`SELECT COUNT(*) AS n FROM audit_events WHERE event_type = 'release_external_artifact_download' AND target_id = ?1`)
      .bind(w.links.tarball)
      .first<{ n: number }>();
    expect(logged!.n).toBe(5);
  });

  it('direct flushes count each stored event once: a repeated flush of the same events adds nothing', async () => {
    const w = await releaseWithTwoLinks();
    const batch = [...Array.from({ length: 7 }, () => downloadOf(w.projectRow, w.links.tarball)), downloadOf(w.projectRow, w.links.zip)];
    expect(await recordBufferedAuditEvents(env as Env, batch)).toHaveLength(8);
    expect(await restCounts(w.project.id, null)).toEqual({ tarball: 7, zip: 1 });
    // A crash between D1's commit and the buffer's delete repeats the flush: the same uuids.
    expect(await recordBufferedAuditEvents(env as Env, [...batch, downloadOf(w.projectRow, w.links.zip)])).toHaveLength(1);
    expect(await restCounts(w.project.id, null)).toEqual({ tarball: 7, zip: 2 });
  });

  it('budget: a flush of downloads is still ONE write transaction, with one counter UPDATE for all its links', async () => {
    const w = await releaseWithTwoLinks();
    const mixed = Array.from({ length: 60 }, (_, i) => downloadOf(w.projectRow, i % 2 ? w.links.tarball : w.links.zip));
    const traced = tracingEnv();
    expect(await recordBufferedAuditEvents(traced.env, mixed)).toHaveLength(60);
    expect(traced.trace.before).toMatchObject({ d1WriteTransactions: 1, d1Primary: 1 });
    expect(await restCounts(w.project.id, null)).toEqual({ tarball: 30, zip: 30 });
    // Twice as many events: still one transaction.
    const more = tracingEnv();
    await recordBufferedAuditEvents(more.env, Array.from({ length: 100 }, () => downloadOf(w.projectRow, w.links.zip)));
    expect(more.trace.before).toMatchObject({ d1WriteTransactions: 1, d1Primary: 1 });
    expect(await restCounts(w.project.id, null)).toEqual({ tarball: 30, zip: 130 });
  });

  it('a deleted link takes its counts with it; a flush naming it still stores its events', async () => {
    const w = await releaseWithTwoLinks();
    await recordBufferedAuditEvents(env as Env, [downloadOf(w.projectRow, w.links.zip)]);
    expect((await api('DELETE', `${releasesPath(w.project.id, 'v1.0')}/assets/links/${w.links.zip}`, { token: w.maintainer.token })).status).toBe(200);
    const days = await env.DB.prepare('SELECT COUNT(*) AS n FROM release_link_download_days WHERE link_id = ?1').bind(w.links.zip).first<{ n: number }>();
    expect(days!.n).toBe(0);
    expect(await recordBufferedAuditEvents(env as Env, [downloadOf(w.projectRow, w.links.zip), downloadOf(w.projectRow, w.links.tarball)])).toHaveLength(2);
    expect(await restCounts(w.project.id, null)).toEqual({ tarball: 1 });
  });
});

describe('GET /projects/:id/releases/:tag/downloads/stats', () => {
  const statsPath = (projectId: number, query = '') => `${releasesPath(projectId, 'v1.0')}/downloads/stats${query}`;

  it('per day and link over the window, every day present; the default window is the last 30 days', async () => {
    const w = await releaseWithTwoLinks('private');
    await recordBufferedAuditEvents(env as Env, [
      downloadOf(w.projectRow, w.links.tarball, '2026-03-01T10:00:00.000Z'),
      downloadOf(w.projectRow, w.links.tarball, '2026-03-01T23:59:59.999Z'),
      downloadOf(w.projectRow, w.links.tarball, '2026-03-03T00:00:00.000Z'),
      downloadOf(w.projectRow, w.links.zip, '2026-03-02T12:00:00.000Z'),
      downloadOf(w.projectRow, w.links.zip, '2026-02-27T12:00:00.000Z'),
    ]);
    const r = await api('GET', statsPath(w.project.id, '?interval=day&from=2026-02-28&to=2026-03-03'), { token: w.reporter.token });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ interval: 'day', from: '2026-02-28', to: '2026-03-03' });
    const byName = Object.fromEntries(r.body.links.map((l: any) => [l.name, l]));
    expect(byName.tarball).toMatchObject({ id: w.links.tarball, download_count: 3 });
    expect(byName.tarball.downloads).toEqual([
      { date: '2026-02-28', count: 0 },
      { date: '2026-03-01', count: 2 },
      { date: '2026-03-02', count: 0 },
      { date: '2026-03-03', count: 1 },
    ]);
    expect(byName.zip.downloads.map((d: { count: number }) => d.count)).toEqual([0, 0, 1, 0]);
    // ISO datetimes name their UTC day.
    const iso = await api('GET', statsPath(w.project.id, '?from=2026-03-01T05:00:00Z&to=2026-03-01T06:00:00Z'), { token: w.reporter.token });
    expect(iso.body.links.find((l: any) => l.name === 'tarball').downloads).toEqual([{ date: '2026-03-01', count: 2 }]);
    const dflt = await api('GET', statsPath(w.project.id), { token: w.reporter.token });
    expect(dflt.status).toBe(200);
    expect(dflt.body.to).toBe(new Date().toISOString().slice(0, 10));
    expect(dflt.body.links[0].downloads).toHaveLength(30);
  });

  it('bad input: 400 with a message; unknown release 404; who may read releases only', async () => {
    const w = await releaseWithTwoLinks('private');
    const bad = async (query: string, message: RegExp) => {
      const r = await api('GET', statsPath(w.project.id, query), { token: w.reporter.token });
      expect(r.status, query).toBe(400);
      expect(r.body.message, query).toMatch(message);
    };
    await bad('?interval=week', /interval does not have a valid value/);
    await bad('?from=yesterday', /from is invalid/);
    await bad('?to=2026-02-30', /to is invalid/);
    await bad('?to=2026-02-30T10:00:00Z', /to is invalid/);
    await bad('?from=2026-03-02&to=2026-03-01', /from must not be after to/);
    await bad('?from=2026-01-01&to=2026-04-01', /at most 90 days/);
    expect((await api('GET', statsPath(w.project.id, '?from=2026-01-01&to=2026-03-31'), { token: w.reporter.token })).status).toBe(200);
    expect((await api('GET', `${releasesPath(w.project.id, 'nope')}/downloads/stats`, { token: w.reporter.token })).status).toBe(404);
    expect((await api('GET', statsPath(w.project.id), { token: w.guest.token })).status).toBe(403);
    expect((await api('GET', statsPath(w.project.id), { token: null })).status).toBe(404);
  });
});

describe('GET /admin/audit_events/stats', () => {
  const thisMonth = () => new Date().toISOString().slice(0, 7);
  const current = async () => {
    const r = await api('GET', '/api/v4/admin/audit_events/stats', { token: ADMIN });
    expect(r.status).toBe(200);
    return r.body.months[r.body.months.length - 1] as { month: string; audit_csv_exports: number; tracked_downloads: number };
  };

  it('per month, oldest first, the current month last: CSV exports of the audit log and tracked downloads', async () => {
    const before = await current();
    expect(before.month).toBe(thisMonth());
    const w = await releaseWithTwoLinks();
    await recordBufferedAuditEvents(env as Env, [downloadOf(w.projectRow, w.links.zip), downloadOf(w.projectRow, w.links.tarball)]);
    const csv = await call('GET', `/api/v4/projects/${w.project.id}/audit_events.csv`, { token: w.maintainer.token });
    expect(csv.status).toBe(200);
    await csv.text();
    const after = await current();
    expect(after.tracked_downloads - before.tracked_downloads).toBe(2);
    expect(after.audit_csv_exports - before.audit_csv_exports).toBe(1);
    // A download clicked in an earlier month (three months ago) counts there.
    const now = new Date();
    const earlier = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 3, 15)).toISOString();
    const monthOf = async (month: string) => {
      const r = await api('GET', '/api/v4/admin/audit_events/stats?months=24', { token: ADMIN });
      expect(r.body.months).toHaveLength(24);
      const months = r.body.months.map((m: { month: string }) => m.month);
      expect([...months].sort()).toEqual(months);
      expect(new Set(months).size).toBe(24);
      return r.body.months.find((m: { month: string }) => m.month === month) as { tracked_downloads: number };
    };
    const earlierBefore = (await monthOf(earlier.slice(0, 7))).tracked_downloads;
    await recordBufferedAuditEvents(env as Env, [downloadOf(w.projectRow, w.links.zip, earlier)]);
    expect((await monthOf(earlier.slice(0, 7))).tracked_downloads).toBe(earlierBefore + 1);
    expect((await api('GET', '/api/v4/admin/audit_events/stats?months=1', { token: ADMIN })).body.months).toEqual([after]);
  });

  it('administrators only; months from 1 to 24, else 400 with a message', async () => {
    const w = await releaseWithTwoLinks();
    expect((await api('GET', '/api/v4/admin/audit_events/stats', { token: w.maintainer.token })).status).toBe(403);
    expect((await api('GET', '/api/v4/admin/audit_events/stats', { token: null })).status).toBe(401);
    for (const m of ['0', '25', 'abc', '-1', '1.5']) {
      const r = await api('GET', `/api/v4/admin/audit_events/stats?months=${m}`, { token: ADMIN });
      expect(r.status, m).toBe(400);
      expect(r.body.message, m).toMatch(/months must be an integer from 1 to 24/);
    }
  });
});
