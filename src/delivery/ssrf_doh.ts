/**
 * The resolution-time check of the SSRF guard (best effort). Before each delivery attempt to a
 * host NAME (IP literals are judged by ./ssrf.ts alone), when DESTINATION_DOH_URL is set, the
 * name's A and AAAA records are asked of that DNS-over-HTTPS resolver (its JSON API:
 * `?name=<host>&type=A|AAAA`, `accept: application/dns-json`, as Cloudflare's 1.1.1.1 and
 * Google's dns.google answer), and the attempt is refused, before any request to the destination,
 * when any answer is an address the guard would refuse as a literal.
 *
 * What it does not stop: `fetch` resolves the name again on its own and cannot be pinned to the
 * address checked here, so a name that answers differently a moment later (DNS rebinding, short
 * TTLs, split-horizon DNS) passes. It stops names that plainly point inside (a public name with
 * an A record of 10.0.0.1 or 127.0.0.1). In production on Cloudflare, the network the Worker's
 * `fetch` runs on is the real guard: it does not reach private networks of the host.
 */
import type { SharedEnv } from '../env';
import { outboundFetch } from '../bench/edge_model';
import { hostClass, ipClass } from './ssrf_address';
import { hostClassError, isLoopbackUrl, type GuardPolicy } from './ssrf';
import { readBounded } from './send';

/** How long one DoH lookup may take (both record types are asked at once). */
export const DOH_TIMEOUT_MS = 5000;

/** The vars the check reads. */
export type DohEnv = Pick<SharedEnv, 'DESTINATION_DOH_URL' | 'DELIVERY_LOOPBACK_ONLY'>;

/** What the check found: nothing to refuse, a refused destination, or a lookup that failed. */
export type ResolutionVerdict = { kind: 'ok' } | { kind: 'blocked'; error: string } | { kind: 'failed'; error: string };

/** Bytes of a resolver's answer read at most (an answer of a few dozen records is a few KB). */
const DOH_ANSWER_MAX_BYTES = 65536;

/** RR types of the DoH JSON API's answers: A and AAAA. */
const RR_TYPES = { A: 1, AAAA: 28 } as const;

/** The addresses of one record type, or why the lookup failed. */
async function lookup(env: DohEnv, resolver: URL, name: string, type: keyof typeof RR_TYPES): Promise<string[] | string> {
  const url = new URL(resolver);
  url.searchParams.set('name', name);
  url.searchParams.set('type', type);
  let res: Response;
  try {
    res = await outboundFetch(env)(url.toString(), { headers: { accept: 'application/dns-json' }, redirect: 'manual', signal: AbortSignal.timeout(DOH_TIMEOUT_MS) });
  } catch {
    return `the resolver could not be reached (${type})`;
  }
  if (res.status !== 200) {
    await res.body?.cancel();
    return `the resolver answered HTTP ${res.status} (${type})`;
  }
  let body: unknown;
  try {
    body = JSON.parse((await readBounded(res, DOH_ANSWER_MAX_BYTES)) ?? '');
  } catch {
    return `the resolver's answer is not JSON (${type})`;
  }
  const { Status, Answer } = (body ?? {}) as { Status?: unknown; Answer?: unknown };
  // 0 NOERROR, 3 NXDOMAIN (no address: the attempt's own fetch fails on it); others are failures.
  if (Status !== 0 && Status !== 3) return `the resolver answered status ${String(Status)} (${type})`;
  if (Answer === undefined) return [];
  if (!Array.isArray(Answer)) return `the resolver's answer is malformed (${type})`;
  return Answer.filter((a) => a?.type === RR_TYPES[type]).map((a) => String(a?.data));
}

/**
 * Resolve the URL's host through DESTINATION_DOH_URL and judge every A and AAAA answer as the
 * guard judges a literal (an answer that is no IP address is refused too). `ok` when the check is
 * off (no DESTINATION_DOH_URL), the host is an IP literal, or it is `localhost` (already judged).
 */
export async function checkResolution(env: DohEnv, raw: string, policy: GuardPolicy): Promise<ResolutionVerdict> {
  if (!env.DESTINATION_DOH_URL) return { kind: 'ok' };
  let host: string;
  try {
    host = new URL(raw).hostname.replace(/\.$/, '');
  } catch {
    return { kind: 'ok' }; // an unparsable URL is refused by the guard before this check
  }
  if (host.startsWith('[') || ipClass(host) !== null || hostClass(host) === 'loopback') return { kind: 'ok' };
  let resolver: URL;
  try {
    resolver = new URL(env.DESTINATION_DOH_URL);
  } catch {
    return { kind: 'failed', error: 'DNS check failed: DESTINATION_DOH_URL is not a URL' };
  }
  // The resolver is reached like a destination: under DELIVERY_LOOPBACK_ONLY only on loopback.
  if (env.DELIVERY_LOOPBACK_ONLY === 'true' && !isLoopbackUrl(resolver.toString())) {
    return { kind: 'failed', error: 'DNS check failed: DELIVERY_LOOPBACK_ONLY allows a loopback DESTINATION_DOH_URL only' };
  }
  const answers = await Promise.all([lookup(env, resolver, host, 'A'), lookup(env, resolver, host, 'AAAA')]);
  for (const a of answers) if (typeof a === 'string') return { kind: 'failed', error: `DNS check failed: ${a}` };
  for (const address of answers.flat() as string[]) {
    const refused = hostClassError(ipClass(address) ?? 'internal', policy);
    if (refused) return { kind: 'blocked', error: `${refused} (${host} resolves to ${address.slice(0, 64)})` };
  }
  return { kind: 'ok' };
}
