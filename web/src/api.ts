/**
 * The client's only way to the server: the public REST v4 and GraphQL APIs, with the personal
 * access token the user keeps in this tab's sessionStorage. Errors carry the API's own words.
 */

const TOKEN_KEY = 'audit-events-edge.token';

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}
export function setToken(t: string): void {
  sessionStorage.setItem(TOKEN_KEY, t);
}
export function forgetToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** Request headers with the token, when there is one. */
export function authHeaders(extra: Record<string, string> = {}): Record<string, string> {
  const t = getToken();
  if (t) extra['PRIVATE-TOKEN'] = t;
  return extra;
}

/** A failed API call: the API's message and the HTTP status. */
export class ApiFailure extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** The API's own words from a REST error body (GitLab's message/error shapes). */
export function messageOf(body: unknown, status: number): string {
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    const m = b.message !== undefined ? b.message : b.error_description || b.error;
    if (typeof m === 'string') return m;
    if (Array.isArray(m)) return m.join('; ');
    if (m && typeof m === 'object') {
      return Object.entries(m as Record<string, unknown>)
        .map(([k, v]) => (Array.isArray(v) ? v : [v]).map((x) => `${k} ${String(x)}`).join('; '))
        .join('; ');
    }
  }
  if (typeof body === 'string' && body.trim()) return body.trim();
  return String(status);
}

/** The body as JSON when it parses, else as text (null when empty). */
export async function readBody(res: Response): Promise<unknown> {
  const text = await res.text();
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return text;
  }
}

export interface RestOptions {
  method?: string;
  body?: unknown;
}

/** A REST call; resolves the body and the response, rejects with the API's message. */
export async function rest<T = unknown>(path: string, opts: RestOptions = {}): Promise<{ body: T; response: Response }> {
  const headers = authHeaders({ Accept: 'application/json' });
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, {
    method: opts.method || 'GET',
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    credentials: 'omit',
  });
  const body = await readBody(res);
  if (!res.ok) throw new ApiFailure(messageOf(body, res.status), res.status);
  return { body: body as T, response: res };
}

/** POST /api/graphql; resolves data, rejects with the top-level errors' messages. */
export async function gql<T = Record<string, unknown>>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch('/api/graphql', {
    method: 'POST',
    headers: authHeaders({ 'Content-Type': 'application/json', Accept: 'application/json' }),
    body: JSON.stringify({ query, variables }),
    credentials: 'omit',
  });
  const body = (await readBody(res)) as { data?: T; errors?: Array<{ message: string }> } | null;
  if (body && Array.isArray(body.errors) && body.errors.length) {
    throw new ApiFailure(body.errors.map((e) => e.message).join('; '), res.status);
  }
  if (!res.ok || !body || !body.data) throw new ApiFailure(messageOf(body, res.status), res.status);
  return body.data;
}

/** A GitLab-style mutation's payload: its errors and the selected fields. */
export type Payload = { errors: string[] } & Record<string, unknown>;

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** Run a GitLab-style mutation (one input argument named <Mutation>Input); resolves its payload. */
export async function mutate(name: string, input: Record<string, unknown>, selection = ''): Promise<Payload> {
  const q = `mutation ($input: ${capitalize(name)}Input!) { ${name}(input: $input) { errors ${selection} } }`;
  const data = await gql<Record<string, Payload | null>>(q, { input });
  const payload = data[name] || { errors: [] };
  if (!Array.isArray(payload.errors)) payload.errors = [];
  return payload;
}
