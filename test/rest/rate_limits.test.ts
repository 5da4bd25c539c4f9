/**
 * Rate limits (issue 17): the real Rate Limiting bindings of wrangler.toml, which the vitest
 * plugin runs locally as `wrangler dev` does. The test configuration turns the limits off
 * (RATE_LIMITS "off"); these tests call the Worker's fetch handler with RATE_LIMITS "on".
 *
 * The local binding counts in windows aligned to the wall clock (miniflare's RateLimiterObject),
 * so a burst starts early in a window and runs again with fresh keys if it straddles a window's
 * end (`inOneWindow`). The floods of thousands spend most of their budget through the binding
 * and send their last requests through the Worker: the refusal at exactly the limit proves the
 * Worker counts under that key and that wrangler.toml's number is RATE_LIMIT_TABLE's.
 */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import worker from '../../src/index';
import type { Env } from '../../src/env';
import { RATE_LIMIT_TABLE } from '../../src/http/rate_limit';
import { sha256Hex } from '../../src/auth/crypto';
import { BASE, unique } from '../support/api';
import { createRelease, projectEvents, releaseWorld } from '../releases/support';

const limitsOn = { ...(env as unknown as Env), RATE_LIMITS: 'on' } as Env;
const limitsOff = { ...(env as unknown as Env), RATE_LIMITS: 'off' } as Env;

const runTag = Math.floor(Math.random() * 0xffff).toString(16);
let ipCounter = 0;
/** A client address of its own in IPv6's documentation range (only a header value, never dialled). */
function freshIp(): string {
  ipCounter++;
  return `2001:db8:${runTag}::${ipCounter.toString(16)}`;
}

/** Call the Worker's fetch handler with `e` (limits on by default). */
async function send(path: string, headers: Record<string, string>, init: RequestInit = {}, e: Env = limitsOn): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`${BASE}${path}`, { redirect: 'manual', ...init, headers }), e, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** `count` requests, `parallel` at a time; their statuses, counted. */
async function burst(count: number, request: (i: number) => Promise<Response>, parallel = 50): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  for (let start = 0; start < count; start += parallel) {
    const n = Math.min(parallel, count - start);
    const answers = await Promise.all(Array.from({ length: n }, (_, j) => request(start + j)));
    for (const r of answers) {
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      await r.body?.cancel();
    }
  }
  return statuses;
}

/**
 * Run `attempt` inside one counting window of `period` seconds: it starts in a window with at
 * least `needs` seconds left (else waits for the next one), and runs again (fresh keys) if a
 * window ended during it all the same.
 */
async function inOneWindow<T>(period: number, needs: number, attempt: () => Promise<T>): Promise<T> {
  const ms = period * 1000;
  for (let tries = 0; ; tries++) {
    const left = ms - (Date.now() % ms);
    if (left < needs * 1000) await new Promise((r) => setTimeout(r, left + 50));
    const window = Math.floor(Date.now() / ms);
    const result = await attempt();
    if (Math.floor(Date.now() / ms) === window || tries === 3) return result;
  }
}

/**
 * Spend `count` of a key's budget through the binding itself (a flood's cheaper stand-in for
 * the thousands of requests before the last few, which go through the Worker).
 */
async function spend(name: keyof typeof RATE_LIMIT_TABLE, key: string, count: number): Promise<void> {
  const limiter = (env as unknown as Env)[name];
  for (let start = 0; start < count; start += 200) {
    const outcomes = await Promise.all(Array.from({ length: Math.min(200, count - start) }, () => limiter.limit({ key })));
    expect(outcomes.every((o) => o.success)).toBe(true);
  }
}

/** Floods of thousands of requests: slower than the default test timeout on a busy machine. */
const FLOOD_TIMEOUT_MS = 240_000;

const graphqlInit = (): RequestInit => ({ method: 'POST', body: JSON.stringify({ query: '{ __typename }' }) });
const JSON_TYPE = { 'Content-Type': 'application/json' };

describe('rate limits', () => {
  it('are the real Rate Limiting bindings of wrangler.toml', () => {
    for (const name of Object.keys(RATE_LIMIT_TABLE) as (keyof typeof RATE_LIMIT_TABLE)[]) {
      expect(typeof (env as unknown as Env)[name]?.limit, name).toBe('function');
    }
  });

  it('fail open when the binding fails: the limiter going down does not take the API with it', async () => {
    const failing = { limit: () => Promise.reject(new Error('limiter unavailable')) } as unknown as RateLimit;
    const res = await send('/api/v4/version', { 'CF-Connecting-IP': freshIp() }, {}, { ...limitsOn, API_IP_LIMITER: failing });
    expect(res.status).toBe(200);
  });

  it('refuse an anonymous flood from one address (REST and GraphQL share the budget) with 429, Retry-After and RateLimit-Limit', async () => {
    const { limit, period } = RATE_LIMIT_TABLE.API_ANONYMOUS_LIMITER;
    const { ip, statuses, refused } = await inOneWindow(period, 20, async () => {
      const ip = freshIp();
      const statuses = await burst(limit, () => send('/api/v4/version', { 'CF-Connecting-IP': ip }));
      return { ip, statuses, refused: await send('/api/v4/version', { 'CF-Connecting-IP': ip }) };
    });
    expect(statuses).toEqual(new Map([[200, limit]]));
    expect(refused.status).toBe(429);
    expect(await refused.json()).toEqual({ message: '429 Too Many Requests' });
    expect(refused.headers.get('Retry-After')).toBe(String(period));
    expect(refused.headers.get('RateLimit-Limit')).toBe(String(limit));
    // GraphQL from the same address: the same budget, refused in GraphQL's error shape.
    const gql = await send('/api/graphql', { 'CF-Connecting-IP': ip, ...JSON_TYPE }, graphqlInit());
    expect(gql.status).toBe(429);
    expect(await gql.json()).toEqual({ errors: [{ message: 'This endpoint has been requested too many times. Try again later.' }] });
    expect(gql.headers.get('Retry-After')).toBe(String(period));
    expect(gql.headers.get('RateLimit-Limit')).toBe(String(limit));
    // Another address is not affected; RATE_LIMITS "off" lets the limited one through.
    expect((await send('/api/v4/version', { 'CF-Connecting-IP': freshIp() })).status).toBe(200);
    expect((await send('/api/v4/version', { 'CF-Connecting-IP': ip }, {}, limitsOff)).status).toBe(200);
  }, FLOOD_TIMEOUT_MS);

  it('refuse a flood with one token, from any number of addresses, and leave other tokens alone', async () => {
    const { limit, period } = RATE_LIMIT_TABLE.API_TOKEN_LIMITER;
    const last = 5;
    const { token, statuses, refused, viaQuery } = await inOneWindow(period, 20, async () => {
      const token = unique('flood-token-');
      // The flood's first requests through the binding, under the key the Worker uses (the token's digest).
      await spend('API_TOKEN_LIMITER', await sha256Hex(token), limit - last);
      // Its last ones through the Worker, from as many addresses: the per-address limits stay far away.
      const statuses = await burst(last, (i) => send('/api/v4/version', { 'CF-Connecting-IP': `2001:db8:${runTag}:1::${i.toString(16)}`, 'PRIVATE-TOKEN': token }));
      const refused = await send('/api/v4/version', { 'CF-Connecting-IP': freshIp(), Authorization: `Bearer ${token}` });
      const viaQuery = await send(`/api/v4/version?private_token=${encodeURIComponent(token)}`, { 'CF-Connecting-IP': freshIp() });
      return { token, statuses, refused, viaQuery };
    });
    expect(statuses).toEqual(new Map([[200, last]]));
    expect(refused.status).toBe(429);
    expect(await refused.json()).toEqual({ message: '429 Too Many Requests' });
    expect(refused.headers.get('RateLimit-Limit')).toBe(String(limit));
    expect(refused.headers.get('Retry-After')).toBe(String(period));
    expect(viaQuery.status).toBe(429);
    const gql = await send('/api/graphql', { 'CF-Connecting-IP': freshIp(), 'PRIVATE-TOKEN': token, ...JSON_TYPE }, graphqlInit());
    expect(gql.status).toBe(429);
    expect(((await gql.json()) as { errors: { message: string }[] }).errors[0].message).toMatch(/too many times/);
    expect((await send('/api/v4/version', { 'CF-Connecting-IP': freshIp(), 'PRIVATE-TOKEN': unique('other-token-') })).status).toBe(200);
  }, FLOOD_TIMEOUT_MS);

  it('refuse a flood of made-up tokens from one address', async () => {
    const { limit, period } = RATE_LIMIT_TABLE.API_IP_LIMITER;
    const last = 5;
    const { ip, statuses, refused } = await inOneWindow(period, 30, async () => {
      const ip = freshIp();
      await spend('API_IP_LIMITER', ip, limit - last);
      // A new token each time: every token's own budget stays almost untouched.
      const statuses = await burst(last, (i) => send('/api/v4/version', { 'CF-Connecting-IP': ip, 'PRIVATE-TOKEN': `made-up-${i}-${ip}` }));
      return { ip, statuses, refused: await send('/api/v4/version', { 'CF-Connecting-IP': ip, 'PRIVATE-TOKEN': `made-up-last-${ip}` }) };
    });
    expect(statuses).toEqual(new Map([[200, last]]));
    expect(refused.status).toBe(429);
    expect(refused.headers.get('RateLimit-Limit')).toBe(String(limit));
    expect((await send('/api/v4/version', { 'CF-Connecting-IP': freshIp(), 'PRIVATE-TOKEN': `made-up-last-${ip}` })).status).toBe(200);
  }, FLOOD_TIMEOUT_MS);

  it('refuse a download flood per address and link before its audit event is written', async () => {
    const { limit, period } = RATE_LIMIT_TABLE.DOWNLOAD_LIMITER;
    const w = await releaseWorld('public');
    const rel = await createRelease(w.project.id, w.developer.token, {
      tag_name: 'v1.0',
      assets: {
        links: [
          { name: 'flooded', url: 'https://dl.example.com/flooded.tgz', direct_asset_path: '/pkg/flooded.tgz' },
          { name: 'other', url: 'https://dl.example.com/other.tgz', direct_asset_path: '/pkg/other.tgz' },
        ],
      },
    });
    const base = `/${w.project.path_with_namespace}/-/releases/v1.0`;
    const { ip, statuses, refused, respelled } = await inOneWindow(period, 15, async () => {
      const ip = freshIp();
      const statuses = await burst(limit, () => send(`${base}/downloads/pkg/flooded.tgz`, { 'CF-Connecting-IP': ip }), 10);
      const refused = await send(`${base}/downloads/pkg/flooded.tgz`, { 'CF-Connecting-IP': ip });
      // The same link spelled in other case: the same budget.
      const respelled = await send(`/${w.project.path_with_namespace.toUpperCase()}/-/releases/v1.0/downloads/pkg/flooded.tgz`, { 'CF-Connecting-IP': ip });
      return { ip, statuses, refused, respelled };
    });
    expect(statuses).toEqual(new Map([[302, limit]]));
    expect(refused.status).toBe(429);
    expect(refused.headers.get('Location')).toBeNull();
    expect(refused.headers.get('Cache-Control')).toBe('no-store');
    expect(refused.headers.get('Retry-After')).toBe(String(period));
    expect(refused.headers.get('RateLimit-Limit')).toBe(String(limit));
    expect(await refused.json()).toEqual({ message: '429 Too Many Requests' });
    expect(respelled.status).toBe(429);
    // Only the answered clicks were recorded: the refused ones appended nothing to the log.
    const flooded = rel.assets.links.find((l: { name: string }) => l.name === 'flooded');
    const events = await projectEvents(w.project.id, 'release_external_artifact_download');
    expect(events.filter((e) => e.target_id === flooded.id && e.ip_address === ip)).toHaveLength(limit);
    // Another link, or the same link from another address, still answers.
    expect((await send(`${base}/downloads/pkg/other.tgz`, { 'CF-Connecting-IP': ip })).status).toBe(302);
    expect((await send(`${base}/downloads/pkg/flooded.tgz`, { 'CF-Connecting-IP': freshIp() })).status).toBe(302);
  }, FLOOD_TIMEOUT_MS);
});
