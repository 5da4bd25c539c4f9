/**
 * Rate limits, with Cloudflare's Rate Limiting binding (`[[ratelimits]]` in wrangler.toml): one
 * binding per limit, since the binding fixes its limit and period and answers only "allowed or
 * not". The numbers below repeat wrangler.toml's (the binding cannot report them) for the
 * `RateLimit-Limit` and `Retry-After` headers; test/rest/rate_limits.test.ts proves they agree.
 *
 * - The API (REST /api/v4 and GraphQL /api/graphql, one budget for both surfaces):
 *   per token 2,000 requests a minute and per client IP 500 a minute for requests without a token
 *   (GitLab.com's authenticated and unauthenticated API limits), and per client IP 4,000 a minute
 *   whatever the token (made-up tokens, each with a budget of its own, do not add up past it).
 * - The download redirect: per client IP and link 60 a minute, checked before the link is looked
 *   up, so a flood neither reads D1 nor appends to the audit log.
 *
 * RATE_LIMITS="off" turns all of them off (benchmarks, soak, tests other than the limiter's own).
 * The binding counts per Cloudflare location and is eventually consistent: the limits stop
 * floods, they are not exact accounting.
 */
import type { Env } from '../env';
import { presentedToken } from '../auth/authenticate';
import { sha256Hex } from '../auth/crypto';
import { parseDownloadPath } from './downloads';

/** The bindings of the limits (wrangler.toml), their limits and periods in seconds. */
export const RATE_LIMIT_TABLE = {
  API_TOKEN_LIMITER: { limit: 2000, period: 60 },
  API_ANONYMOUS_LIMITER: { limit: 500, period: 60 },
  API_IP_LIMITER: { limit: 4000, period: 60 },
  DOWNLOAD_LIMITER: { limit: 60, period: 60 },
} as const;

export type LimiterName = keyof typeof RATE_LIMIT_TABLE;

/** Which surface a limited request belongs to (each answers 429 in its own error shape). */
export type LimitedSurface = 'rest' | 'graphql' | 'download';

/** True unless RATE_LIMITS is "off". */
export function rateLimitsEnabled(env: Pick<Env, 'RATE_LIMITS'>): boolean {
  return env.RATE_LIMITS !== 'off';
}

/**
 * The client's address: CF-Connecting-IP, which Cloudflare sets on every request (and
 * `wrangler dev` sets to the socket's peer). Without it (a self-hosted workerd, a test calling the
 * handler) every client shares one key: unidentified callers share one budget.
 */
export function clientKey(request: Request): string {
  return request.headers.get('CF-Connecting-IP')?.trim() || 'unidentified-client';
}

/** The surface a path belongs to, or null for paths without limits (pages, assets). */
function surfaceOf(pathname: string): LimitedSurface | null {
  if (pathname === '/api/v4' || pathname.startsWith('/api/v4/')) return 'rest';
  if (pathname === '/api/graphql') return 'graphql';
  return null;
}

/** The limits a request counts against, as [binding, key] pairs. */
async function limitsOf(request: Request, surface: LimitedSurface, pathname: string): Promise<[LimiterName, string][] | null> {
  const ip = clientKey(request);
  if (surface === 'download') {
    const route = parseDownloadPath(pathname, '');
    if (route === null || typeof route !== 'object') return null;
    // The link as the URL names it, case-folded: spelling it differently does not buy a new budget.
    const s = route.selector;
    const link = s.kind === 'latest' ? ['latest', s.filepath] : [s.kind, s.tagName, s.kind === 'link' ? s.linkId : s.filepath];
    return [['DOWNLOAD_LIMITER', await sha256Hex(JSON.stringify([ip, route.projectPath, ...link]).toLowerCase())]];
  }
  // The REST API also takes ?private_token=; GraphQL only the headers (as it authenticates).
  const token = presentedToken(request, { queryParam: surface === 'rest' });
  if (token === null) return [['API_IP_LIMITER', ip], ['API_ANONYMOUS_LIMITER', ip]];
  // A digest: the limiter never sees a token.
  return [['API_IP_LIMITER', ip], ['API_TOKEN_LIMITER', await sha256Hex(token)]];
}

/**
 * The 429 for a request over one of its limits, or null when it may go on (always null when
 * RATE_LIMITS is "off" or the path has no limits, and when the binding fails: fail open).
 * Every limit of the request is counted.
 */
export async function rateLimited(request: Request, env: Env, pathname: string): Promise<Response | null> {
  if (!rateLimitsEnabled(env)) return null;
  const surface = surfaceOf(pathname) ?? (pathname.includes('/-/releases/') ? 'download' : null);
  if (surface === null) return null;
  const limits = await limitsOf(request, surface, pathname);
  if (limits === null) return null;
  let outcomes: RateLimitOutcome[];
  try {
    outcomes = await Promise.all(limits.map(([name, key]) => env[name].limit({ key })));
  } catch (err) {
    // The limiter failing must not take the service down with it: the request goes on, logged.
    console.error('rate limit: the binding failed; not limiting', err instanceof Error ? err.message : err);
    return null;
  }
  const refused = limits.find((_, i) => !outcomes[i].success);
  return refused ? tooManyRequests(surface, RATE_LIMIT_TABLE[refused[0]]) : null;
}

/** 429 in the surface's error shape, with `Retry-After` (the period) and `RateLimit-Limit`. */
export function tooManyRequests(surface: LimitedSurface, { limit, period }: { limit: number; period: number }): Response {
  const headers = new Headers({
    'Content-Type': 'application/json',
    'Retry-After': String(period),
    'RateLimit-Limit': String(limit),
    'Cache-Control': 'no-store',
  });
  // GraphQL: errors as GraphQL over HTTP has them, with GitLab's rate-limit text.
  const body =
    surface === 'graphql'
      ? { errors: [{ message: 'This endpoint has been requested too many times. Try again later.' }] }
      : { message: '429 Too Many Requests' };
  return new Response(JSON.stringify(body), { status: 429, headers });
}
