/**
 * The anonymous download redirect checks and records in one statement (one D1 round trip):
 * it must write exactly the event the token path writes, refuse what can() refuses, and never
 * give an unrelated event an outbox row.
 */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { handleDownload } from '../../src/http/downloads';
import { auditEventFromLookupStatements, auditEventStatements, recordAuditEventFromLookup, SqlValue } from '../../src/audit/record';
import { ACTIONS, anonymousCanSql, can } from '../../src/auth/policy';
import { downloadLookup } from '../../src/db/releases';
import { findProjectById } from '../../src/db/projects';
import { BASE, call } from '../support/api';
import { countingEnv } from '../support/d1';
import { insertDestination, groupEntityOf } from '../delivery/support';
import { createRelease, projectEvents, releaseWorld } from './support';

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

const HEADERS = { 'User-Agent': 'one-statement-test', 'CF-Connecting-IP': '198.51.100.7' };

describe('anonymous downloads: one statement', () => {
  it('writes the same event as the token path, for every kind of download URL', async () => {
    const w = await publicRelease();
    for (const path of Object.values(w.paths)) {
      expect((await call('GET', path, { headers: HEADERS })).status).toBe(302);
      expect((await call('GET', path, { headers: HEADERS, token: w.reporter.token })).status).toBe(302);
    }
    const events = await projectEvents(w.project.id, 'release_external_artifact_download');
    expect(events).toHaveLength(6);
    for (let i = 0; i < 6; i += 2) {
      const [anon, member] = [events[i], events[i + 1]];
      expect(anon.author_id).toBe(-1);
      expect(member.author_id).toBe(w.reporter.id);
      const strip = (e: typeof anon) => {
        const { id, author_id, author_name, created_at, ...rest } = e as any;
        return { ...rest, details: { ...rest.details, author_name: undefined } };
      };
      expect(strip(anon)).toEqual(strip(member));
      // Same keys in the same order (GitLab's), same JSON types.
      expect(Object.keys(anon.details)).toEqual(Object.keys(member.details));
      expect(JSON.stringify({ ...anon.details, author_name: 0 })).toBe(JSON.stringify({ ...member.details, author_name: 0 }));
    }
    const rows = await env.DB.prepare('SELECT root_namespace_id, scope_path, project_id FROM audit_events WHERE id IN (?1, ?2)').bind(events[0].id, events[1].id).all();
    expect(rows.results[0]).toEqual(rows.results[1]);
    expect(rows.results[0]).toMatchObject({ root_namespace_id: w.group.id, scope_path: `${w.group.id}/p${w.project.id}/`, project_id: w.project.id });
  });

  it('costs one D1 round trip', async () => {
    const w = await publicRelease();
    const counting = countingEnv();
    const ctx = createExecutionContext();
    const res = await handleDownload(new Request(`${BASE}${w.paths.filepath}`, { headers: HEADERS, redirect: 'manual' }), counting.env, ctx);
    await waitOnExecutionContext(ctx);
    expect(res?.status).toBe(302);
    expect(counting.roundTrips()).toBe(1);
    expect(await projectEvents(w.project.id, 'release_external_artifact_download')).toHaveLength(1);
  });

  it('answers 404 and records nothing where an anonymous caller may not read releases', async () => {
    for (const visibility of ['internal', 'private'] as const) {
      const w = await publicRelease(visibility);
      for (const path of Object.values(w.paths)) expect((await call('GET', path, { headers: HEADERS })).status).toBe(404);
      expect(await projectEvents(w.project.id, 'release_external_artifact_download')).toHaveLength(0);
      // A member's token still works.
      expect((await call('GET', w.paths.filepath, { headers: HEADERS, token: w.reporter.token })).status).toBe(302);
    }
  });

  it('anonymousCanSql agrees with can() for an anonymous caller, for every action and visibility', async () => {
    const w = await publicRelease();
    const project = (await findProjectById(env.DB, w.project.id))!;
    for (const action of ACTIONS) {
      for (const visibility of ['private', 'internal', 'public'] as const) {
        const expected = await can(env.DB, null, action, { kind: 'project', project: { ...project, visibility } });
        const row = await env.DB.prepare(`SELECT (${anonymousCanSql(action, 't.v')}) AS ok FROM (SELECT ?1 AS v) t`).bind(visibility).first<{ ok: number }>();
        expect(row!.ok === 1, `${action} on ${visibility}`).toBe(expected);
      }
    }
  });

  it('stores constant details exactly as the plain writer does (types, nesting, key order, undefined left out)', async () => {
    const w = await publicRelease();
    const details = { a: 5, b: true, c: null, d: { x: [1, 'y', false] }, e: 1.5, f: undefined, g: 'str', h: -0 };
    const entity = groupEntityOf(w.group);
    const plain = await env.DB.batch(auditEventStatements(env.DB, { eventType: 'constants_probe', author: { id: 1, name: 'Administrator' }, entity, details }));
    const lookup = downloadLookup(w.project.path_with_namespace, { kind: 'link', tagName: 'v2.0', linkId: w.link.id });
    const viaLookup = await env.DB.batch(auditEventFromLookupStatements(env.DB, { eventType: 'constants_probe', author: { id: 1, name: 'Administrator' }, entity, details }, lookup, '1'));
    const a = (plain[0].results[0] as { details: string }).details;
    const b = (viaLookup[0].results[0] as { details: string }).details;
    expect(JSON.parse(b)).toEqual(JSON.parse(a));
    expect(Object.keys(JSON.parse(b))).toEqual(Object.keys(JSON.parse(a)));
    expect(JSON.stringify(JSON.parse(b))).toBe(JSON.stringify(JSON.parse(a)));
  });

  it('writes an outbox row only for its own event, and dispatches it to a destination of the group', async () => {
    const w = await publicRelease();
    const dest = await insertDestination({ namespaceId: w.group.id, url: 'http://127.0.0.1:9/one-statement' });
    // A routable event, then a lookup that matches nothing, in one transaction: last_insert_rowid()
    // still names the first event, but the failed lookup must not give it a second outbox row.
    const lookup = downloadLookup(w.project.path_with_namespace, { kind: 'filepath', tagName: 'no-such-tag', filepath: '/pkg/app.tgz' });
    const template = { eventType: 'release_external_artifact_download', author: { id: -1, name: 'x' }, entity: groupEntityOf(w.group), details: { n: new SqlValue('t.link_id') } };
    const results = await env.DB.batch([
      ...auditEventStatements(env.DB, { eventType: 'one_statement_probe', author: { id: 1, name: 'Administrator' }, entity: groupEntityOf(w.group) }),
      ...auditEventFromLookupStatements(env.DB, template, lookup, '1'),
    ]);
    expect(results[1].meta.changes).toBe(1); // the probe is routable: its outbox row
    expect(results[2].results).toHaveLength(0); // no event from the failed lookup
    expect(results[3].meta.changes).toBe(0); // and no outbox row
    const probeId = (results[0].results[0] as { id: number }).id;
    await env.DB.prepare('DELETE FROM audit_event_outbox WHERE event_id = ?1').bind(probeId).run();
    // The redirect's own event goes out to the group's destination.
    const ctx = createExecutionContext();
    const event = await recordAuditEventFromLookup(env, ctx, { ...template, entity: { type: 'Project', id: w.project.id, path: null, rootNamespaceId: w.group.id, scopePath: null, projectId: w.project.id } },
      downloadLookup(w.project.path_with_namespace, { kind: 'filepath', tagName: 'v2.0', filepath: '/pkg/app.tgz' }), '1');
    await waitOnExecutionContext(ctx);
    expect(event).not.toBeNull();
    expect(event!.details.n).toBe(w.link.id);
    const delivery = await env.DB.prepare('SELECT status FROM deliveries WHERE event_id = ?1 AND destination_id = ?2').bind(event!.id, dest.id).first();
    expect(delivery).not.toBeNull();
    await env.DB.prepare('UPDATE streaming_destinations SET active = 0 WHERE id = ?1').bind(dest.id).run();
  });
});
