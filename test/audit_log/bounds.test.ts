/**
 * Bounded audit events (issue 17): the writer stores at most 512 characters of a User-Agent,
 * 1 KB of each change diff value (longer: its first 1 KB, its length and its SHA-256) and 2 KB of
 * every other text, whichever surface records the event. The attacks reproduced here stored an
 * 8,000-byte User-Agent per anonymous download and ~1 MB events through a release description's
 * before/after.
 */
import { describe, expect, it } from 'vitest';
import { ADMIN, api, call, createGroup, createProject } from '../support/api';
import { createRelease, projectEvents, releasesPath } from '../releases/support';
import { parseCsv } from './support';
import {
  boundedDetails,
  boundedDiffValue,
  boundedUserAgent,
  isTruncatedValue,
  nestingDepth,
  utf8Length,
  utf8Prefix,
  utf8Sha256,
} from '../../src/audit/bounds';
import { actionText, changesCell } from '../../src/audit/csv';

/** SHA-256 of a string's UTF-8 by WebCrypto, the reference for the writer's synchronous one. */
async function webCryptoSha256(s: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(s));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

describe('the bounds, as functions', () => {
  it('hashes like WebCrypto at every padding boundary, with multi-byte text and a megabyte', async () => {
    const inputs = ['', 'abc', ...[55, 56, 63, 64, 65, 119, 120, 128].map((n) => 'a'.repeat(n)), 'é😀x'.repeat(1000), 'z'.repeat(1_000_003)];
    for (const s of inputs) expect(utf8Sha256(s)).toBe(await webCryptoSha256(s));
    expect(utf8Sha256('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('cuts text on whole characters within the byte budget', () => {
    expect(utf8Prefix('a'.repeat(2000), 1024)).toBe('a'.repeat(1024));
    // 'é' is 2 bytes, '😀' 4 (a surrogate pair): never split.
    expect(utf8Prefix('é'.repeat(600), 1024)).toBe('é'.repeat(512));
    expect(utf8Prefix('x' + '😀'.repeat(300), 1024)).toBe('x' + '😀'.repeat(255));
    expect(utf8Length(utf8Prefix('x' + '😀'.repeat(300), 1024))).toBe(1021);
  });

  it('keeps diff values up to 1 KB and replaces longer ones by prefix, length and SHA-256', async () => {
    const exact = 'k'.repeat(1024);
    expect(boundedDiffValue(exact)).toBe(exact);
    expect(boundedDiffValue(null)).toBeNull();
    expect(boundedDiffValue(7)).toBe(7);
    const long = 'é'.repeat(3000);
    const cut = boundedDiffValue(long);
    expect(cut).toEqual({ truncated: true, length: 3000, sha256: await webCryptoSha256(long), prefix: 'é'.repeat(512) });
    // Bounding twice changes nothing (the marker is kept as it is) ...
    expect(boundedDiffValue(cut)).toBe(cut);
    // ... but a look-alike with a longer prefix (an ingest body can send one) is bounded like any object.
    const forged = { truncated: true, length: 1, sha256: 'a'.repeat(64), prefix: 'p'.repeat(5000) };
    expect(boundedDiffValue(forged)).toMatchObject({ truncated: true, json: true, length: JSON.stringify(forged).length, prefix: JSON.stringify(forged).slice(0, 1024) });
    // A structured value is measured, cut and hashed as its JSON text.
    const obj = { list: Array.from({ length: 400 }, (_, i) => i) };
    const text = JSON.stringify(obj);
    expect(boundedDiffValue(obj)).toEqual({ truncated: true, length: text.length, sha256: await webCryptoSha256(text), prefix: text.slice(0, 1024), json: true });
  });

  it('bounds details: user agent, diffs (both shapes), every other string nested or not', () => {
    const d = boundedDetails({
      user_agent: 'U'.repeat(8000),
      change: 'name',
      from: 'f'.repeat(5000),
      to: 'short',
      changes: [{ field: 'description', from: 'a'.repeat(1025), to: 'b'.repeat(1024), note: 'n'.repeat(3000) }, 'junk'],
      custom_message: 'm'.repeat(10_000),
      nested: { deeper: ['s'.repeat(4000), 5, true, null] },
      count: 3,
    });
    expect(d.user_agent).toBe('U'.repeat(512));
    expect(d.change).toBe('name');
    expect(isTruncatedValue(d.from)).toBe(true);
    expect(d.to).toBe('short');
    const [c, junk] = d.changes as [Record<string, unknown>, unknown];
    expect(isTruncatedValue(c.from)).toBe(true);
    expect(c.to).toBe('b'.repeat(1024));
    expect(c.note).toBe('n'.repeat(2048));
    expect(junk).toBe('junk');
    expect(d.custom_message).toBe('m'.repeat(2048));
    expect(d.nested).toEqual({ deeper: ['s'.repeat(2048), 5, true, null] });
    expect(d.count).toBe(3);
    expect(boundedUserAgent(null)).toBeNull();
    expect(boundedUserAgent('😀'.repeat(600))).toBe('😀'.repeat(512));
  });

  it('counts nesting only as deep as it needs to', () => {
    expect(nestingDepth('x', 3)).toBe(0);
    expect(nestingDepth({ a: { b: [1] } }, 3)).toBe(3);
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(nestingDepth(deep, 32)).toBeGreaterThan(32);
  });

  it('shows a truncated value in the CSV action and changes cells by its prefix, length and hash', () => {
    const from = boundedDiffValue('v'.repeat(5000));
    const details = { change: 'description', from, to: 'new' };
    expect(actionText({ details, eventType: 'x' })).toBe(`Changed description from ${'v'.repeat(1024)}… (5000 characters, SHA-256 ${(from as { sha256: string }).sha256}) to new`);
    expect(JSON.parse(changesCell(details))).toEqual([{ change: 'description', from, to: 'new' }]);
  });
});

describe('bounded events through the API', () => {
  it('a release description of 400 KB changed to another: the event keeps 1 KB of each with its length and SHA-256', async () => {
    const g = await createGroup();
    const p = await createProject(g.id);
    const before = 'a'.repeat(400_000);
    const after = `${'é'.repeat(200_000)}!`;
    await createRelease(p.id, ADMIN, { tag_name: 'v1', name: 'One', description: before });
    const u = await api('PUT', releasesPath(p.id, 'v1'), { token: ADMIN, body: { description: after } });
    expect(u.status).toBe(200);
    expect(u.body.description).toBe(after); // the release itself keeps the whole text
    const [ev] = await projectEvents(p.id, 'release_updated');
    const change = ev.details.changes.find((c: { field: string }) => c.field === 'description');
    expect(change).toEqual({
      field: 'description',
      from: { truncated: true, length: 400_000, sha256: await webCryptoSha256(before), prefix: 'a'.repeat(1024) },
      to: { truncated: true, length: 200_001, sha256: await webCryptoSha256(after), prefix: 'é'.repeat(512) },
    });
    expect(utf8Length(JSON.stringify(ev.details))).toBeLessThan(4096);
    // The REST audit log and the CSV show the same bounded values.
    const listed = await api('GET', `/api/v4/projects/${p.id}/audit_events?event_type=release_updated`, { token: ADMIN });
    expect(listed.body[0].details.changes).toEqual(ev.details.changes);
    const csv = await call('GET', `/api/v4/audit_events.csv?entity_type=Project&entity_id=${p.id}&event_type=release_updated`, { token: ADMIN });
    expect(csv.status).toBe(200);
    const rows = parseCsv(await csv.text());
    expect(rows).toHaveLength(2);
    expect(JSON.parse(rows[1][7])).toEqual([{ change: 'description', from: change.from, to: change.to }]);
  });

  it('an anonymous download with an 8,000-byte User-Agent stores its first 512 characters', async () => {
    const g = await createGroup({ visibility: 'public' });
    const p = await createProject(g.id, { visibility: 'public' });
    await createRelease(p.id, ADMIN, {
      tag_name: 'v1',
      assets: { links: [{ name: 'file', url: 'https://downloads.example.com/f.tgz', direct_asset_path: '/f.tgz' }] },
    });
    const ua = `Mozilla/5.0 ${'X'.repeat(7988)}`;
    const res = await call('GET', `/${p.path_with_namespace}/-/releases/v1/downloads/f.tgz`, { headers: { 'User-Agent': ua } });
    expect(res.status).toBe(302);
    const [ev] = await projectEvents(p.id, 'release_external_artifact_download');
    expect(ev.details.user_agent).toBe(ua.slice(0, 512));
    expect(utf8Length(JSON.stringify(ev.details))).toBeLessThan(2048);
  });

  it('a link URL over 1 KB is a bounded diff value in the link event, whole in the link', async () => {
    const g = await createGroup();
    const p = await createProject(g.id);
    const url = `https://downloads.example.com/${'p'.repeat(1500)}`;
    const rel = await createRelease(p.id, ADMIN, { tag_name: 'v2', assets: { links: [{ name: 'long', url }] } });
    expect(rel.assets.links[0].url).toBe(url);
    const [ev] = await projectEvents(p.id, 'release_asset_link_created');
    const change = ev.details.changes.find((c: { field: string }) => c.field === 'url');
    expect(change.from).toBeNull();
    expect(change.to).toEqual({ truncated: true, length: url.length, sha256: await webCryptoSha256(url), prefix: url.slice(0, 1024) });
  });

  it('ingested text over 2 KB is stored as its first 2 KB: target details, custom message, nested strings', async () => {
    const g = await createGroup();
    const r = await api('POST', '/api/v4/audit_events', {
      token: ADMIN,
      body: {
        event_type: 'bounded_text',
        entity_type: 'Group',
        entity_id: g.id,
        target_details: 't'.repeat(5000),
        details: { custom_message: 'ü'.repeat(5000), extra: { list: ['l'.repeat(3000)] } },
      },
    });
    expect(r.status).toBe(201);
    expect(r.body.target_details).toBe('t'.repeat(2048));
    expect(r.body.details.target_details).toBe('t'.repeat(2048));
    expect(r.body.details.custom_message).toBe('ü'.repeat(1024));
    expect(r.body.details.extra).toEqual({ list: ['l'.repeat(2048)] });
  });
});
