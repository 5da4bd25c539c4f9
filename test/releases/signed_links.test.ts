/**
 * Signed download links (issue 17: no token in a URL). The releases page asks
 * GET /projects/:id/releases/:tag/assets/links/:link_id/signed_url for a link's tracked URL signed
 * for the signed-in user (`?expires=&user=&signature=`, HMAC-SHA256 with DOWNLOAD_LINK_SECRET,
 * valid 5 minutes); the download route takes it instead of a token, audits the download as that
 * user, and refuses an expired or tampered link with 401 and the reason.
 */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { addMember, api, BASE, call, createUser, type TestUser } from '../support/api';
import { createRelease, projectEvents, releaseWorld, type ReleaseWorld } from './support';
import { downloadLinkSecret, signDownloadLink, verifyDownloadLink, DOWNLOAD_LINK_TTL_SECONDS } from '../../src/auth/download_links';
import { handleRest } from '../../src/http/router';
import { handleDownload } from '../../src/http/downloads';
import type { Env } from '../../src/env';

const EXTERNAL = 'https://downloads.example.com/tool-2.0.zip';
const EXPIRED = { message: '401 Unauthorized - the signed download link has expired' };
const INVALID = { message: '401 Unauthorized - the signed download link is invalid' };
const now = () => Math.floor(Date.now() / 1000);

interface World extends ReleaseWorld {
  file: { id: number; direct_asset_url: string };
  docs: { id: number; direct_asset_url: string };
}

/** A private project's release v2 with a link at /bin/tool.zip and one without a filepath. */
async function world(): Promise<World> {
  const w = await releaseWorld('private');
  const rel = await createRelease(w.project.id, w.developer.token, {
    tag_name: 'v2',
    assets: { links: [{ name: 'tool', url: EXTERNAL, direct_asset_path: '/bin/tool.zip' }, { name: 'docs', url: 'https://docs.example.com/v2' }] },
  });
  const file = rel.assets.links.find((l: { name: string }) => l.name === 'tool');
  const docs = rel.assets.links.find((l: { name: string }) => l.name === 'docs');
  return { ...w, file, docs };
}

function signedUrlPath(w: World, linkId: number, tag = 'v2'): string {
  return `/api/v4/projects/${w.project.id}/releases/${tag}/assets/links/${linkId}/signed_url`;
}

/** The signed URL of a link for `user` (must succeed). */
async function signedUrl(w: World, linkId: number, user: TestUser): Promise<URL> {
  const r = await api('GET', signedUrlPath(w, linkId), { token: user.token });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return new URL(r.body.url);
}

/** GET a download URL (path and query, no token). */
async function download(url: URL, headers: Record<string, string> = {}, method = 'GET'): Promise<Response> {
  return call(method, `${url.pathname}${url.search}`, { headers });
}

/** `url` with query parameter `name` set to `value`. */
function withParam(url: URL, name: string, value: string): URL {
  const u = new URL(url);
  u.searchParams.set(name, value);
  return u;
}

describe('the signed_url endpoint', () => {
  it('answers the tracked URL signed for the caller, valid 5 minutes, never cached', async () => {
    const w = await world();
    const reader = await createUser({ scopes: ['read_api'] });
    await addMember('projects', w.project.id, reader.id, 20);
    const before = now();
    const r = await api('GET', signedUrlPath(w, w.file.id), { token: reader.token });
    expect(r.status).toBe(200);
    expect(r.headers.get('Cache-Control')).toBe('no-store');
    const url = new URL(r.body.url);
    expect(`${url.origin}${url.pathname}`).toBe(w.file.direct_asset_url);
    expect([...url.searchParams.keys()]).toEqual(['expires', 'user', 'signature']);
    expect(url.searchParams.get('user')).toBe(String(reader.id));
    const expires = Number(url.searchParams.get('expires'));
    expect(expires - before).toBeGreaterThanOrEqual(DOWNLOAD_LINK_TTL_SECONDS);
    expect(expires - now()).toBeLessThanOrEqual(DOWNLOAD_LINK_TTL_SECONDS);
    expect(r.body.expires_at).toBe(new Date(expires * 1000).toISOString());
    expect(url.searchParams.get('signature')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.search).not.toMatch(/token/i);
  });

  it('answers as the release links API does: 401 anonymous, 404 outsider or unknown link, 403 without read access to releases', async () => {
    const w = await world();
    expect(await api('GET', signedUrlPath(w, w.file.id), { token: null })).toMatchObject({ status: 401, body: { message: '401 Unauthorized' } });
    expect((await api('GET', signedUrlPath(w, w.file.id), { token: w.outsider.token })).status).toBe(404);
    expect((await api('GET', signedUrlPath(w, w.file.id), { token: w.guest.token })).status).toBe(403);
    expect((await api('GET', signedUrlPath(w, 999_999_999), { token: w.reporter.token })).status).toBe(404);
    expect((await api('GET', signedUrlPath(w, w.file.id, 'v404'), { token: w.reporter.token })).status).toBe(404);
    expect((await api('POST', signedUrlPath(w, w.file.id), { token: w.reporter.token })).status).toBe(404);
  });
});

describe('downloads through a signed link', () => {
  it('redirects and audits the download as the link user, exactly like a download with their token', async () => {
    const w = await world();
    const headers = { 'User-Agent': 'browser/1.0', 'CF-Connecting-IP': '198.51.100.21' };
    const viaToken = await call('GET', new URL(w.file.direct_asset_url).pathname, { token: w.reporter.token, tokenVia: 'header', headers });
    expect(viaToken.status).toBe(302);
    const res = await download(await signedUrl(w, w.file.id, w.reporter), headers);
    expect(res.status).toBe(302);
    expect(res.headers.get('Location')).toBe(EXTERNAL);
    expect(res.headers.get('Cache-Control')).toBe('no-store');
    const [byToken, bySignedLink] = await projectEvents(w.project.id, 'release_external_artifact_download');
    // The same row but for what every event has of its own (id, uuid, time).
    const comparable = (e: object) => ({ ...e, id: 0, uuid: '', created_at: '' });
    expect(comparable(bySignedLink!)).toEqual(comparable(byToken!));
    expect(bySignedLink).toMatchObject({ author_id: w.reporter.id, author_name: w.reporter.name, target_id: w.file.id, ip_address: '198.51.100.21' });
  });

  it('serves links without a filepath, and HEAD answers without recording', async () => {
    const w = await world();
    const url = await signedUrl(w, w.docs.id, w.maintainer);
    expect(url.pathname.endsWith(`/-/releases/v2/links/${w.docs.id}`)).toBe(true);
    const head = await download(url, {}, 'HEAD');
    expect(head.status).toBe(302);
    expect(await projectEvents(w.project.id, 'release_external_artifact_download')).toHaveLength(0);
    const res = await download(url);
    expect(res.status).toBe(302);
    expect(res.headers.get('Location')).toBe('https://docs.example.com/v2');
    const [ev] = await projectEvents(w.project.id, 'release_external_artifact_download');
    expect(ev).toMatchObject({ author_id: w.maintainer.id, target_id: w.docs.id });
  });

  it('refuses a tampered link with 401: another signature, user, expiry, link or path', async () => {
    const w = await world();
    const url = await signedUrl(w, w.file.id, w.reporter);
    const sig = url.searchParams.get('signature')!;
    const flipped = `${sig.slice(0, 10)}${sig[10] === 'A' ? 'B' : 'A'}${sig.slice(11)}`;
    const lastFlipped = `${sig.slice(0, -1)}${sig.endsWith('A') ? 'B' : 'A'}`;
    const expires = Number(url.searchParams.get('expires'));
    const docsPath = new URL(w.docs.direct_asset_url).pathname;
    const tampered: URL[] = [
      withParam(url, 'signature', flipped),
      withParam(url, 'signature', lastFlipped),
      withParam(url, 'user', String(w.maintainer.id)),
      withParam(url, 'expires', String(expires - 1)),
      // The reporter's signature for the file, on the docs link's path.
      new URL(`${docsPath}${url.search}`, BASE),
      // A path that names no link answers the same 401 (not 404): nothing about the project leaks.
      new URL(`${url.pathname.replace('/tool.zip', '/other.zip')}${url.search}`, BASE),
      new URL(`/no-such/project/-/releases/v2/downloads/bin/tool.zip${url.search}`, BASE),
    ];
    for (const t of tampered) {
      const res = await download(t);
      expect(res.status, t.href).toBe(401);
      expect(await res.json()).toEqual(INVALID);
      expect(res.headers.get('Location')).toBe(null);
    }
    // Malformed or incomplete: also 401 invalid.
    for (const q of [`?signature=${sig}`, `?signature=${sig}&expires=${expires}`, `?signature=short&expires=${expires}&user=${w.reporter.id}`, `?signature=${sig}&expires=soon&user=${w.reporter.id}`]) {
      const res = await call('GET', `${url.pathname}${q}`);
      expect(res.status, q).toBe(401);
      expect(await res.json()).toEqual(INVALID);
    }
    expect(await projectEvents(w.project.id, 'release_external_artifact_download')).toHaveLength(0);
    // The untouched link still works.
    expect((await download(url)).status).toBe(302);
  });

  it('refuses an expired link with 401 (and one claiming a longer life than 5 minutes as invalid)', async () => {
    const w = await world();
    const secret = downloadLinkSecret(env)!;
    const base = new URL(w.file.direct_asset_url);
    const at = async (signedAt: number) => {
      const q = await signDownloadLink(secret, w.file.id, w.reporter.id, signedAt);
      return new URL(`${base.pathname}?expires=${q.expires}&user=${q.userId}&signature=${q.signature}`, BASE);
    };
    const expired = await download(await at(now() - DOWNLOAD_LINK_TTL_SECONDS - 5));
    expect(expired.status).toBe(401);
    expect(await expired.json()).toEqual(EXPIRED);
    const tooLong = await download(await at(now() + 3600));
    expect(tooLong.status).toBe(401);
    expect(await tooLong.json()).toEqual(INVALID);
    expect((await download(await at(now() - 10))).status).toBe(302);
  });

  it('is checked against the user at download time: removed from the project or blocked, 404 like a token', async () => {
    const w = await world();
    const [leaving, blocked] = await Promise.all([createUser(), createUser()]);
    await addMember('projects', w.project.id, leaving.id, 20);
    await addMember('projects', w.project.id, blocked.id, 20);
    const [leavingUrl, blockedUrl] = [await signedUrl(w, w.file.id, leaving), await signedUrl(w, w.file.id, blocked)];
    expect((await api('DELETE', `/api/v4/projects/${w.project.id}/members/${leaving.id}`, { token: w.maintainer.token })).status).toBe(204);
    await env.DB.prepare(`UPDATE users SET state = 'blocked' WHERE id = ?1`).bind(blocked.id).run();
    for (const url of [leavingUrl, blockedUrl]) {
      const res = await download(url);
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ message: '404 Not Found' });
    }
  });

  it('takes no token besides the signature (400); ?private_token= alone still works', async () => {
    const w = await world();
    const url = await signedUrl(w, w.file.id, w.reporter);
    const both = await call('GET', `${url.pathname}${url.search}`, { token: w.reporter.token });
    expect(both.status).toBe(400);
    expect(await both.json()).toEqual({ message: '400 Bad request - a signed download link takes no token' });
    expect((await call('GET', url.pathname, { token: w.reporter.token, tokenVia: 'query' })).status).toBe(302);
  });
});

describe('without DOWNLOAD_LINK_SECRET', () => {
  const unset = { ...env, DOWNLOAD_LINK_SECRET: undefined } as unknown as Env;
  const short = { ...env, DOWNLOAD_LINK_SECRET: 'too-short' } as unknown as Env;

  async function run(handler: (r: Request, e: Env, c: ExecutionContext) => Promise<Response | null>, e: Env, path: string, token?: string) {
    const ctx = createExecutionContext();
    const res = (await handler(new Request(`${BASE}${path}`, { headers: token ? { 'PRIVATE-TOKEN': token } : {} }), e, ctx))!;
    const body = await res.json().catch(() => null);
    await waitOnExecutionContext(ctx);
    return { status: res.status, body };
  }

  it('the endpoint answers 503 with the reason, signed links are refused, tokens still work', async () => {
    const w = await world();
    const url = await signedUrl(w, w.file.id, w.reporter);
    for (const e of [unset, short]) {
      expect(await run(handleRest, e, signedUrlPath(w, w.file.id), w.reporter.token)).toEqual({
        status: 503,
        body: { message: '503 Service Unavailable - signed download links are off: DOWNLOAD_LINK_SECRET is not set' },
      });
      expect(await run(handleDownload, e, `${url.pathname}${url.search}`)).toEqual({ status: 401, body: INVALID });
      expect((await run(handleDownload, e, url.pathname, w.reporter.token)).status).toBe(302);
    }
    expect(await verifyDownloadLink(null, w.file.id, { expires: now() + 60, userId: w.reporter.id, signature: 'A'.repeat(43) }, now())).toBe('invalid');
  });
});
