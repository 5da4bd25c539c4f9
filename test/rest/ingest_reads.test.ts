/**
 * What ingest (POST /api/v4/audit_events) reads before it writes (issue 13: under EDGE_MODEL=far
 * each primary round trip waits ~150 ms, and ingest is the delivery benchmarks' load). The entity
 * and another author's name are read together from a replica; only a replica's answer that a lag
 * could explain (none such, a path that no longer agrees) is asked of the primary again, and in the
 * read-your-writes window after this isolate's own writes everything reads the primary. Ingest
 * itself writes nothing the download cache keeps, so it does not open that window.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import worker from '../../src/index';
import type { Env } from '../../src/env';
import { handleRest } from '../../src/http/router';
import { downloadWriteSeen, recentlyWritten, writeGeneration } from '../../src/downloads/cache';
import { ADMIN, BASE, createGroup, createProject, createUser, unique, type TestUser } from '../support/api';
import { tracingEnv } from '../support/d1';
import { outsideReadYourWritesWindow } from '../support/downloads';

let group: { id: number; full_path: string };
let project: { id: number; path_with_namespace: string };
let author: TestUser;

beforeAll(async () => {
  group = await createGroup();
  project = await createProject(group.id);
  author = await createUser();
});

const ingestRequest = (body: Record<string, unknown>) =>
  new Request(`${BASE}/api/v4/audit_events`, { method: 'POST', headers: { 'PRIVATE-TOKEN': ADMIN, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

/** Ingest `body` through the REST router on a traced env; the D1 round trips until the answer. */
async function ingest(body: Record<string, unknown>): Promise<{ status: number; body: any; primary: number; replica: number; writes: number }> {
  const traced = tracingEnv();
  const ctx = createExecutionContext();
  const res = await handleRest(ingestRequest(body), traced.env, ctx);
  const { d1Primary, d1Replica, d1WriteTransactions } = traced.trace.before;
  const answer = { status: res.status, body: await res.json(), primary: d1Primary, replica: d1Replica, writes: d1WriteTransactions };
  await waitOnExecutionContext(ctx);
  return answer;
}

describe('ingest: what it reads before it writes', () => {
  it('reads the entity and another author from a replica and makes two primary round trips: the token and the write', async () => {
    outsideReadYourWritesWindow();
    const r = await ingest({ event_type: 'ci_custom_event', entity_type: 'Project', entity_id: project.id, entity_path: project.path_with_namespace, author_id: author.id });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ entity_id: project.id, entity_path: project.path_with_namespace, author_id: author.id, author_name: author.name });
    expect(r).toMatchObject({ replica: 2, primary: 2, writes: 1 });
    // By path, a group: one replica read (the author is the caller, read with the token).
    const g = await ingest({ event_type: 'ci_custom_event', entity_type: 'Group', entity_path: group.full_path });
    expect(g.status).toBe(201);
    expect(g.body.entity_id).toBe(group.id);
    expect(g).toMatchObject({ replica: 1, primary: 2, writes: 1 });
  });

  it("asks the primary before a replica's 'none such' becomes a 404, and before a path that does not agree becomes a 400", async () => {
    outsideReadYourWritesWindow();
    const missing = await ingest({ event_type: 'ci_custom_event', entity_type: 'Project', entity_id: 987_654_321 });
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ message: '404 Project Not Found' });
    expect(missing).toMatchObject({ replica: 1, primary: 2, writes: 0 });
    const renamed = await ingest({ event_type: 'ci_custom_event', entity_type: 'Project', entity_id: project.id, entity_path: `${group.full_path}/${unique('other')}` });
    expect(renamed.status).toBe(400);
    expect(renamed.body).toEqual({ error: 'entity_path does not match entity_id' });
    expect(renamed).toMatchObject({ replica: 1, primary: 2, writes: 0 });
    const noAuthor = await ingest({ event_type: 'ci_custom_event', entity_type: 'Project', entity_id: project.id, author_id: 987_654_321 });
    expect(noAuthor.status).toBe(400);
    expect(noAuthor).toMatchObject({ replica: 2, primary: 2, writes: 0 });
  });

  it("reads the primary in the read-your-writes window after this isolate's own writes", async () => {
    downloadWriteSeen();
    const r = await ingest({ event_type: 'ci_custom_event', entity_type: 'Project', entity_id: project.id, author_id: author.id });
    expect(r.status).toBe(201);
    expect(r).toMatchObject({ replica: 0, primary: 4, writes: 1 });
  });

  it('does not clear the download cache or open the read-your-writes window; another API write does', async () => {
    const through = async (request: Request) => {
      const ctx = createExecutionContext();
      const res = await worker.fetch(request, env as unknown as Env, ctx);
      await waitOnExecutionContext(ctx);
      return res.status;
    };
    outsideReadYourWritesWindow();
    const generation = writeGeneration();
    expect(await through(ingestRequest({ event_type: 'ci_custom_event', entity_type: 'Project', entity_id: project.id }))).toBe(201);
    expect(recentlyWritten()).toBe(false);
    expect(writeGeneration()).toBe(generation);
    const created = new Request(`${BASE}/api/v4/groups`, { method: 'POST', headers: { 'PRIVATE-TOKEN': ADMIN, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: unique('g'), path: unique('g') }) });
    expect(await through(created)).toBe(201);
    expect(recentlyWritten()).toBe(true);
    expect(writeGeneration()).toBeGreaterThan(generation);
  });
});
