/**
 * The download redirect at edge speed: lookups from the isolate's cache or a replica, the event
 * made durable in a Durable Object buffer before the 302 and flushed to D1 exactly once.
 */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from 'cloudflare:test';
import { handleDownload } from '../../src/http/downloads';
import { recordBufferedAuditEvents, type BufferedAuditEvent } from '../../src/audit/record';
import { bufferAt } from '../../src/downloads/buffer';
import { downloadWriteSeen, TtlCache, writeGeneration } from '../../src/downloads/cache';
import type { Env } from '../../src/env';
import { ADMIN, BASE, api, call } from '../support/api';
import { countingEnv, tracingEnv } from '../support/d1';
import { bufferedDownloads, flushDownloadBuffers, outsideReadYourWritesWindow } from '../support/downloads';
import { insertDestination, groupEntityOf } from '../delivery/support';
import { createRelease, projectEvents, releaseWorld } from './support';

const HEADERS = { 'User-Agent': 'edge-test', 'CF-Connecting-IP': '198.51.100.7' };

async function publicRelease(visibility: 'private' | 'internal' | 'public' = 'public') {
  const w = await releaseWorld(visibility);
  const rel = await createRelease(w.project.id, w.developer.token, {
    tag_name: 'v2.0',
    released_at: '2020-01-01T00:00:00Z',
    assets: { links: [{ name: 'tarball', url: 'https://dl.example.com/app-2.0.tgz', direct_asset_path: '/pkg/app.tgz' }] },
  });
  const link = rel.assets.links[0];
  const base = `/${w.project.path_with_namespace}/-/releases`;
  return {
    ...w,
    link,
    paths: { filepath: `${base}/v2.0/downloads/pkg/app.tgz`, link: `${base}/v2.0/links/${link.id}`, latest: `${base}/permalink/latest/downloads/pkg/app.tgz` },
  };
}

/** Call the handler directly with a (possibly altered) env. */
async function download(e: Env, path: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await handleDownload(new Request(`${BASE}${path}`, { headers: HEADERS, redirect: 'manual', ...init }), e, ctx);
  await waitOnExecutionContext(ctx);
  return res!;
}

/** A D1 session that knows nothing: a replica that has not caught up. */
function laggingReplica(): D1DatabaseSession {
  const empty = { results: [], success: true, meta: {} } as unknown as D1Result;
  const stmt: any = { bind: () => stmt, first: async () => null, all: async () => empty, run: async () => empty, raw: async () => [] };
  return { prepare: () => stmt, batch: async (s: unknown[]) => s.map(() => empty), getBookmark: () => null } as unknown as D1DatabaseSession;
}

describe('tracked downloads at edge speed', () => {
  it('buffers the event before the 302; after the flush it is stored once, as the token path stores it', async () => {
    const w = await publicRelease();
    for (const path of Object.values(w.paths)) {
      expect((await call('GET', path, { headers: HEADERS })).status).toBe(302);
      expect((await call('GET', path, { headers: HEADERS, token: w.reporter.token })).status).toBe(302);
    }
    expect(await bufferedDownloads()).toBeGreaterThanOrEqual(1);
    // Sorted by id, which is given at the flush: clicks that went to different shards may be
    // stored in another order than they came. created_at is the click's time: pair by it.
    const byId = await projectEvents(w.project.id, 'release_external_artifact_download'); // flushes
    const events = [...byId].sort((a, b) => a.created_at.localeCompare(b.created_at) || a.author_id - b.author_id);
    expect(events).toHaveLength(6);
    for (let i = 0; i < 6; i += 2) {
      const [anon, member] = [events[i], events[i + 1]];
      expect(anon.author_id).toBe(-1);
      expect(member.author_id).toBe(w.reporter.id);
      const strip = (e: typeof anon) => {
        const { id, author_id, author_name, created_at, ...rest } = e as any;
        return { ...rest, uuid: typeof rest.uuid, details: { ...rest.details, author_name: undefined } };
      };
      expect(strip(anon)).toEqual(strip(member));
      expect(Object.keys(anon.details)).toEqual(Object.keys(member.details));
    }
    // The buffer's uuid never reaches the API.
    const listed = await api('GET', `/api/v4/projects/${w.project.id}/audit_events?per_page=100`, { token: ADMIN });
    expect(listed.status).toBe(200);
    expect(listed.body.length).toBeGreaterThanOrEqual(6);
    for (const e of listed.body) expect(e).not.toHaveProperty('uuid');
  });

  it('answers 503, never 302, when the buffer cannot store the event', async () => {
    const w = await publicRelease();
    const failing = {
      ...env,
      DOWNLOAD_BUFFER: {
        idFromName: (n: string) => env.DOWNLOAD_BUFFER.idFromName(n),
        get: () => ({ append: async () => { throw new Error('storage unavailable'); } }),
      },
    } as unknown as Env;
    const res = await download(failing, w.paths.filepath);
    expect(res.status).toBe(503);
    expect(res.headers.get('Location')).toBeNull();
    expect(await res.json()).toEqual({ message: '503 Service Unavailable' });
    // HEAD records nothing, so it still answers.
    expect((await download(failing, w.paths.filepath, { method: 'HEAD' })).status).toBe(302);
    expect(await projectEvents(w.project.id, 'release_external_artifact_download')).toHaveLength(0);
  });

  it('a replica that does not have the link yet falls back to the primary, once per miss', async () => {
    const w = await publicRelease();
    outsideReadYourWritesWindow();
    const counting = countingEnv();
    const realDb = counting.env.DB;
    const db = new Proxy(realDb, { get: (t, k) => (k === 'withSession' ? () => laggingReplica() : Reflect.get(t, k, t)) });
    const e = { ...counting.env, DB: db } as Env;
    expect((await download(e, w.paths.filepath)).status).toBe(302);
    expect(counting.roundTrips()).toBe(1); // the primary's answer, after the replica's "not found"
    expect((await download(e, w.paths.filepath)).status).toBe(302);
    expect(counting.roundTrips()).toBe(1); // cached
    // Unknown links ask the primary too (and are not cached).
    const missing = w.paths.filepath.replace('app.tgz', 'nope.tgz');
    expect((await download(e, missing)).status).toBe(404);
    expect((await download(e, missing)).status).toBe(404);
    expect(counting.roundTrips()).toBe(3);
  });

  it('a write through the API clears the cache at once: removed links, memberships and tokens stop working', async () => {
    const w = await publicRelease('private');
    const asReporter = { headers: HEADERS, token: w.reporter.token };
    const asDeveloper = { headers: HEADERS, token: w.developer.token };
    for (let i = 0; i < 2; i++) expect((await call('GET', w.paths.filepath, asReporter)).status).toBe(302); // cached now
    const removed = await api('DELETE', `/api/v4/projects/${w.project.id}/members/${w.reporter.id}`, { token: ADMIN });
    expect(removed.status).toBe(204);
    expect((await call('GET', w.paths.filepath, asReporter)).status).toBe(404);
    // A revoked token.
    expect((await call('GET', w.paths.filepath, asDeveloper)).status).toBe(302);
    const tokens = await api('GET', `/api/v4/personal_access_tokens?user_id=${w.developer.id}`, { token: ADMIN });
    expect(tokens.body.length).toBeGreaterThan(0);
    for (const t of tokens.body) expect((await api('DELETE', `/api/v4/personal_access_tokens/${t.id}`, { token: ADMIN })).status).toBe(204);
    expect((await call('GET', w.paths.filepath, asDeveloper)).status).toBe(404);
    // A deleted link.
    const asMaintainer = { headers: HEADERS, token: w.maintainer.token };
    expect((await call('GET', w.paths.link, asMaintainer)).status).toBe(302);
    const del = await api('DELETE', `/api/v4/projects/${w.project.id}/releases/v2.0/assets/links/${w.link.id}`, { token: ADMIN });
    expect(del.status).toBe(200);
    expect((await call('GET', w.paths.link, asMaintainer)).status).toBe(404);
  });

  it('a flush repeated after a crash stores nothing twice and gives no event a second dispatch', async () => {
    const w = await publicRelease();
    const dest = await insertDestination({ namespaceId: w.group.id, url: 'http://127.0.0.1:9/edge-flush' });
    const entity = { ...groupEntityOf(w.group) };
    const mk = (n: number): BufferedAuditEvent => ({
      eventType: 'edge_flush_probe', author: { id: -1, name: 'An unauthenticated user' }, entity,
      details: { n }, uuid: crypto.randomUUID(), createdAt: new Date(Date.now() - 1000 + n).toISOString(),
    });
    const batch = [mk(1), mk(2), mk(3)];
    const first = await recordBufferedAuditEvents(env as Env, batch);
    expect(first.map((e) => e.details.n)).toEqual([1, 2, 3]);
    expect(first[1].id).toBe(first[0].id + 1);
    const deliveries = await env.DB.prepare('SELECT count(*) AS n FROM deliveries WHERE destination_id = ?1').bind(dest.id).first<{ n: number }>();
    expect(deliveries!.n).toBe(3);
    // The same flush again, with one new event: only the new one is stored and routed.
    const again = await recordBufferedAuditEvents(env as Env, [...batch, mk(4)]);
    expect(again.map((e) => e.details.n)).toEqual([4]);
    const stored = await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE event_type = 'edge_flush_probe' AND root_namespace_id = ?1").bind(w.group.id).first<{ n: number }>();
    expect(stored!.n).toBe(4);
    const outbox = await env.DB.prepare('SELECT count(*) AS n FROM audit_event_outbox WHERE event_id IN (?1, ?2, ?3)').bind(first[0].id, first[1].id, first[2].id).first<{ n: number }>();
    expect(outbox!.n).toBe(0);
    const after = await env.DB.prepare('SELECT count(*) AS n FROM deliveries WHERE destination_id = ?1').bind(dest.id).first<{ n: number }>();
    expect(after!.n).toBe(4);
    await env.DB.prepare('UPDATE streaming_destinations SET active = 0 WHERE id = ?1').bind(dest.id).run();
  });

  it('the buffer flushes on its own (alarm) about a second after the click', async () => {
    const w = await publicRelease();
    const clicked = Date.now();
    expect((await call('GET', w.paths.filepath, { headers: HEADERS })).status).toBe(302);
    let n = 0;
    while (Date.now() - clicked < 5000) {
      const row = await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE project_id = ?1 AND event_type = 'release_external_artifact_download'").bind(w.project.id).first<{ n: number }>();
      n = row!.n;
      if (n > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(n).toBe(1);
    expect(Date.now() - clicked).toBeLessThan(2500);
  });

  it('keeps buffered events while D1 refuses them, retries later, and then stores each once', async () => {
    const w = await publicRelease();
    const stub = bufferAt(env as Env, 'afr', 3);
    const probe = (i: number): BufferedAuditEvent => ({
      eventType: 'edge_refused_probe', author: { id: -1, name: 'An unauthenticated user' }, entity: groupEntityOf(w.group),
      details: { i }, uuid: crypto.randomUUID(), createdAt: new Date().toISOString(),
    });
    await stub.append([probe(1), probe(2)]);
    const stored = async () => (await env.DB.prepare("SELECT count(*) AS n FROM audit_events WHERE event_type = 'edge_refused_probe' AND root_namespace_id = ?1").bind(w.group.id).first<{ n: number }>())!.n;
    const refusing = { ...env, DB: { batch: async () => { throw new Error('D1_ERROR: unavailable'); }, prepare: (q: string) => env.DB.prepare(q) } };
    const inObject = runInDurableObject as unknown as (s: unknown, f: (instance: any, state: DurableObjectState) => Promise<void>) => Promise<void>;
    await inObject(stub, async (instance, state) => {
      const real = instance.env;
      instance.env = refusing;
      try {
        await instance.alarm();
      } finally {
        instance.env = real;
      }
      expect(await state.storage.getAlarm()).not.toBeNull(); // a retry is scheduled
    });
    expect(await stub.size()).toBe(2);
    expect(await stored()).toBe(0);
    await stub.flush();
    expect(await stub.size()).toBe(0);
    expect(await stored()).toBe(2);
  });

  describe('budgets (what one download may cost before its 302)', () => {
    /** One download through a traced env: the trace's before/after counts. */
    async function traced(path: string, token?: string) {
      const t = tracingEnv();
      const headers: Record<string, string> = { ...HEADERS, ...(token ? { 'PRIVATE-TOKEN': token } : {}) };
      const res = await download(t.env, path, { headers });
      t.trace.responded = true;
      return { status: res.status, before: { ...t.trace.before }, after: t.trace.after };
    }
    const none = { d1Primary: 0, d1Replica: 0, d1WriteTransactions: 0, rowsWritten: 0, rowsRead: 0, queueSends: 0, queueMessages: 0, durableObjectCalls: 0, fetches: 0 };

    it('anonymous: a miss costs one replica read and one buffer append; a hit only the append; never the primary', async () => {
      const w = await publicRelease();
      outsideReadYourWritesWindow();
      const miss = await traced(w.paths.filepath);
      expect(miss.status).toBe(302);
      expect(miss.before).toEqual({ ...none, d1Replica: 1, durableObjectCalls: 1 });
      const hit = await traced(w.paths.filepath);
      expect(hit.status).toBe(302);
      expect(hit.before).toEqual({ ...none, durableObjectCalls: 1 });
      expect(hit.after).toEqual(none);
    });

    it('with a token on a private project: a miss reads only replicas (link, token, access); a hit reads nothing', async () => {
      const w = await publicRelease('private');
      outsideReadYourWritesWindow();
      const miss = await traced(w.paths.link, w.reporter.token);
      expect(miss.status).toBe(302);
      expect(miss.before.d1Primary).toBe(0);
      expect(miss.before.d1Replica).toBeLessThanOrEqual(3);
      expect(miss.before.durableObjectCalls).toBe(1);
      const hit = await traced(w.paths.link, w.reporter.token);
      expect(hit.before).toEqual({ ...none, durableObjectCalls: 1 });
    });

    it('not found: one replica read, then the primary; nothing written, nothing buffered', async () => {
      const w = await publicRelease();
      outsideReadYourWritesWindow();
      const r = await traced(w.paths.filepath.replace('app.tgz', 'missing.tgz'));
      expect(r.status).toBe(404);
      expect(r.before).toEqual({ ...none, d1Replica: 1, d1Primary: 1 });
    });

    it('right after a write in this isolate, a miss reads the primary (read-your-writes)', async () => {
      const w = await publicRelease(); // its API writes ran in this isolate just now
      const r = await traced(w.paths.filepath);
      expect(r.status).toBe(302);
      expect(r.before).toEqual({ ...none, d1Primary: 1, durableObjectCalls: 1 });
    });

    it('a flush writes many events in one D1 write transaction; with a destination too (deliveries included), plus one queue send', async () => {
      const w = await publicRelease();
      const entity = groupEntityOf(w.group);
      const batch = (n: number): BufferedAuditEvent[] => Array.from({ length: n }, (_, i) => ({
        eventType: 'edge_budget_probe', author: { id: -1, name: 'An unauthenticated user' }, entity,
        details: { i }, uuid: crypto.randomUUID(), createdAt: new Date().toISOString(),
      }));
      // No destination could receive them: one transaction, nothing queued.
      const quiet = tracingEnv();
      expect(await recordBufferedAuditEvents(quiet.env, batch(20))).toHaveLength(20);
      expect(quiet.trace.before).toMatchObject({ d1WriteTransactions: 1, d1Primary: 1, queueSends: 0 });
      expect(quiet.trace.before.d1WriteTransactions / 20).toBeLessThanOrEqual(0.05);
      // A destination of the group: events, outbox rows and deliveries rows in the flush's one
      // transaction; the messages and the (grouped, deferred) outbox delete in waitUntil.
      const dest = await insertDestination({ namespaceId: w.group.id, url: 'http://127.0.0.1:9/edge-budget' });
      const routed = tracingEnv();
      const ctx = createExecutionContext();
      expect(await recordBufferedAuditEvents(routed.env, batch(60), ctx)).toHaveLength(60);
      expect(routed.trace.before.d1WriteTransactions).toBe(1);
      // (Deactivated first, so that the lanes skip these deliveries to a closed port.)
      await env.DB.prepare('UPDATE streaming_destinations SET active = 0 WHERE id = ?1').bind(dest.id).run();
      await waitOnExecutionContext(ctx);
      expect(routed.trace.before).toMatchObject({ queueSends: 1, queueMessages: 60 });
      expect(routed.trace.before.d1WriteTransactions).toBeLessThanOrEqual(2);
      expect(routed.trace.before.d1WriteTransactions / 60).toBeLessThanOrEqual(0.05);
    });
  });

  it('TtlCache: entries expire, stay bounded, and a value read before a write is not kept', () => {
    const c = new TtlCache<number>();
    const g = writeGeneration();
    c.set('a', 1, 1000, g, 0);
    expect(c.get('a', 999)).toBe(1);
    expect(c.get('a', 1000)).toBeUndefined();
    c.set('b', 2, 1000, g, 0);
    downloadWriteSeen(0);
    c.set('c', 3, 1000, g, 0); // read before the write: dropped
    expect(c.get('c', 1)).toBeUndefined();
    c.set('d', 4, 1000, writeGeneration(), 0);
    expect(c.get('d', 1)).toBe(4);
    for (let i = 0; i < 10_050; i++) c.set(`k${i}`, i, 1000, writeGeneration(), 0);
    expect(c.size).toBeLessThanOrEqual(10_000);
  });
});
