/** The web pages: every page route answers HTML with the strict CSP; assets; unknown paths 404. */
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, api, call, createGroup, createProject } from '../support/api';
import { matchPageRoute } from '../../src/pages/routes';

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

function expectHardened(res: Response) {
  expect(res.headers.get('Content-Security-Policy')).toBe(CSP);
  expect(res.headers.get('X-Content-Type-Options')).toBe('nosniff');
  expect(res.headers.get('Referrer-Policy')).toBe('no-referrer');
}

/** The group at this full path, created (with its parents) when missing: the page routes below name them. */
async function ensureGroup(fullPath: string): Promise<number> {
  const found = await api('GET', `/api/v4/groups/${encodeURIComponent(fullPath)}`, { token: ADMIN });
  if (found.status === 200) return found.body.id;
  const at = fullPath.lastIndexOf('/');
  const parentId = at < 0 ? undefined : await ensureGroup(fullPath.slice(0, at));
  return (await createGroup({ path: fullPath.slice(at + 1), parentId })).id;
}

async function ensureProject(fullPath: string): Promise<void> {
  const found = await api('GET', `/api/v4/projects/${encodeURIComponent(fullPath)}`, { token: ADMIN });
  if (found.status === 200) return;
  const at = fullPath.lastIndexOf('/');
  await createProject(await ensureGroup(fullPath.slice(0, at)), { path: fullPath.slice(at + 1) });
}

describe('page routes', () => {
  // Each page of a group or project answers 200 only when the group or project exists.
  beforeAll(async () => {
    for (const g of ['acme/sub/team', 'a.b_c-d']) await ensureGroup(g);
    for (const p of ['acme/widget', 'acme/sub/widget']) await ensureProject(p);
  });

  const pages: Array<[string, string]> = [
    ['/-/sign_in', 'sign_in'],
    ['/', 'sign_in'],
    ['/groups/acme/-/audit_events', 'group_audit_events'],
    ['/groups/acme/sub/team/-/audit_events', 'group_audit_events'],
    ['/acme/widget/-/audit_events', 'project_audit_events'],
    ['/acme/sub/widget/-/audit_events', 'project_audit_events'],
    ['/admin/audit_events', 'admin_audit_events'],
    ['/acme/widget/-/releases', 'project_releases'],
    ['/acme/sub/widget/-/releases/', 'project_releases'],
  ];
  for (const [path, kind] of pages) {
    it(`${path} answers 200 text/html with the CSP`, async () => {
      const res = await call('GET', path);
      expect(res.status).toBe(200);
      expect(res.headers.get('Content-Type')).toBe('text/html; charset=utf-8');
      expectHardened(res);
      const html = await res.text();
      expect(html).toContain(`data-page="${kind}"`);
      // No inline script or style: the only script is the same-origin asset.
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)/);
      expect(html).not.toMatch(/<style|\sstyle=/);
      expect(html).not.toMatch(/https?:\/\//);
    });
  }

  it('escapes the path it echoes into the shell', async () => {
    expect(matchPageRoute('/groups/a"b/-/audit_events')).toBeNull();
    const res = await call('GET', '/groups/a.b_c-d/-/audit_events');
    expect(await res.text()).toContain('data-full-path="a.b_c-d"');
  });

  it('serves the script and the stylesheet with their types, an ETag and 304 on revalidation', async () => {
    for (const [path, type] of [
      ['/-/ui/app.js', 'text/javascript; charset=utf-8'],
      ['/-/ui/app.css', 'text/css; charset=utf-8'],
    ] as const) {
      const res = await call('GET', path);
      expect(res.status).toBe(200);
      expect(res.headers.get('Content-Type')).toBe(type);
      expectHardened(res);
      const etag = res.headers.get('ETag')!;
      // Workers Static Assets' ETag: the file's content hash (32 hex digits; our own 8-digit hash before).
      expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
      expect(res.headers.get('Cache-Control')).toBe('no-cache');
      expect((await res.text()).length).toBeGreaterThan(1000);
      const again = await call('GET', path, { headers: { 'If-None-Match': etag } });
      expect(again.status).toBe(304);
    }
  });

  it('the client script parses and never assigns innerHTML', async () => {
    // The script as served (built from web/src by scripts/build-web.mjs into the Static Assets).
    const APP_JS = await (await call('GET', '/-/ui/app.js')).text();
    expect(() => new Function(APP_JS)).not.toThrow();
    expect(APP_JS).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });

  it('unknown paths, the download route and non-GET methods are not pages', async () => {
    // '/groups/no-such-group' was '/groups/acme' (no page then; now the group page, 200 when the group exists).
    for (const path of ['/nope', '/groups/no-such-group', '/acme/-/audit_events', '/acme/widget/-/issues', '/-/ui/other.js', '/groups/-/audit_events']) {
      const res = await call('GET', path);
      expect(res.status, path).toBe(404);
    }
    expect(matchPageRoute('/acme/widget/-/releases/v1.0/downloads/bin/app')).toBeNull();
    expect(matchPageRoute('/acme/widget/-/releases/permalink/latest/downloads/app')).toBeNull();
    const post = await call('POST', '/admin/audit_events');
    expect(post.status).toBe(405);
    expect(post.headers.get('Allow')).toBe('GET, HEAD');
  });

  it('HEAD answers headers without a body', async () => {
    const res = await call('HEAD', '/admin/audit_events');
    expect(res.status).toBe(200);
    expectHardened(res);
    expect(await res.text()).toBe('');
  });
});

describe('assets and 404s', () => {
  it('serves the favicon', async () => {
    const res = await call('GET', '/favicon.ico');
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toMatch(/^image\/(x-icon|vnd\.microsoft\.icon)/);
    const bytes = new Uint8Array(await res.arrayBuffer());
    // An ICO file: reserved 0, type 1 (icon), one image.
    expect([...bytes.slice(0, 6)]).toEqual([0, 0, 1, 0, 1, 0]);
  });

  it('answers an unknown page path with an HTML 404 page (any method), and an unknown API path with JSON', async () => {
    for (const [method, path] of [['GET', '/nope'], ['GET', '/-/ui/nope.js'], ['POST', '/nope/deeper']] as const) {
      const res = await call(method, path);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('Content-Type')).toBe('text/html; charset=utf-8');
      expectHardened(res);
      expect(await res.text()).toContain('<h1 id="page-title">404 Page Not Found</h1>');
    }
    for (const path of ['/api', '/api/v3/projects', '/api/other']) {
      const res = await call('GET', path);
      expect(res.status, path).toBe(404);
      expect(await res.json()).toEqual({ message: '404 Not Found' });
    }
  });
});
