/** Test helpers: call the Worker as a client would, and build users, tokens, groups, projects. */
import { exports } from 'cloudflare:workers';

export const ADMIN = 'test-admin-token';
export const BASE = 'http://127.0.0.1:8787';

let counter = 0;
/** A name unique within this test run (tests share one database). */
export function unique(prefix = 'x'): string {
  counter++;
  return `${prefix}${Date.now().toString(36)}${counter}${Math.floor(Math.random() * 1e6).toString(36)}`;
}

export interface CallOptions {
  token?: string | null;
  body?: unknown;
  headers?: Record<string, string>;
  /** How the token is sent: PRIVATE-TOKEN (default), Bearer, or ?private_token=. */
  tokenVia?: 'header' | 'bearer' | 'query';
}

/** Call the Worker's fetch handler. */
export async function call(method: string, path: string, opts: CallOptions = {}): Promise<Response> {
  const headers = new Headers(opts.headers ?? {});
  let url = `${BASE}${path}`;
  if (opts.token) {
    if (opts.tokenVia === 'bearer') headers.set('Authorization', `Bearer ${opts.token}`);
    else if (opts.tokenVia === 'query') url += `${url.includes('?') ? '&' : '?'}private_token=${encodeURIComponent(opts.token)}`;
    else headers.set('PRIVATE-TOKEN', opts.token);
  }
  let body: BodyInit | undefined;
  if (opts.body !== undefined) {
    if (typeof opts.body === 'string') body = opts.body;
    else {
      body = JSON.stringify(opts.body);
      if (!headers.has('Content-Type')) headers.set('Content-Type', 'application/json');
    }
  }
  return exports.default.fetch(new Request(url, { method, headers, body, redirect: 'manual' }));
}

/** Call and parse JSON; returns status, headers and body. */
export async function api<T = any>(method: string, path: string, opts: CallOptions = {}): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await call(method, path, opts);
  const text = await res.text();
  let body: any = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, headers: res.headers };
}

/** POST /api/graphql. */
export async function gql<T = any>(query: string, variables?: Record<string, unknown>, token: string | null = ADMIN) {
  // `errors` is typed as present so tests can index it; it is undefined when the response has none.
  return api<{ data?: T; errors: { message: string; path?: unknown; extensions?: any }[] }>('POST', '/api/graphql', { token, body: { query, variables } });
}

export interface TestUser {
  id: number;
  username: string;
  name: string;
  token: string;
}

/** A new user with a personal access token (scopes default to api). */
export async function createUser(opts: { scopes?: string[]; admin?: boolean; expiresAt?: string } = {}): Promise<TestUser> {
  const username = unique('u');
  const u = await api('POST', '/api/v4/users', {
    token: ADMIN,
    body: { username, name: `User ${username}`, email: `${username}@example.com`, password: 'secret-password', admin: opts.admin ?? false },
  });
  if (u.status !== 201) throw new Error(`createUser: ${u.status} ${JSON.stringify(u.body)}`);
  const t = await api('POST', `/api/v4/users/${u.body.id}/personal_access_tokens`, {
    token: ADMIN,
    body: { name: 'test', scopes: opts.scopes ?? ['api'], ...(opts.expiresAt ? { expires_at: opts.expiresAt } : {}) },
  });
  if (t.status !== 201) throw new Error(`createToken: ${t.status} ${JSON.stringify(t.body)}`);
  return { id: u.body.id, username, name: u.body.name, token: t.body.token };
}

/** A new group (top-level unless parentId), created by `token` (default root). */
export async function createGroup(opts: { token?: string; parentId?: number; visibility?: string; path?: string } = {}) {
  const path = opts.path ?? unique('g');
  const g = await api('POST', '/api/v4/groups', {
    token: opts.token ?? ADMIN,
    body: { name: path, path, ...(opts.parentId ? { parent_id: opts.parentId } : {}), visibility: opts.visibility ?? 'private' },
  });
  if (g.status !== 201) throw new Error(`createGroup: ${g.status} ${JSON.stringify(g.body)}`);
  return g.body as { id: number; full_path: string; path: string; name: string };
}

/** A new project in a namespace. */
export async function createProject(namespaceId: number, opts: { token?: string; visibility?: string; path?: string } = {}) {
  const path = opts.path ?? unique('p');
  const p = await api('POST', '/api/v4/projects', {
    token: opts.token ?? ADMIN,
    body: { name: path, path, namespace_id: namespaceId, visibility: opts.visibility ?? 'private' },
  });
  if (p.status !== 201) throw new Error(`createProject: ${p.status} ${JSON.stringify(p.body)}`);
  return p.body as { id: number; path_with_namespace: string; path: string; name: string };
}

/** Add a member to a group or project (as root). */
export async function addMember(kind: 'groups' | 'projects', id: number, userId: number, accessLevel: number) {
  const m = await api('POST', `/api/v4/${kind}/${id}/members`, { token: ADMIN, body: { user_id: userId, access_level: accessLevel } });
  if (m.status !== 201) throw new Error(`addMember: ${m.status} ${JSON.stringify(m.body)}`);
  return m.body;
}
