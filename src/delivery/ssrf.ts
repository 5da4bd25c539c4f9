/**
 * The destination URL guard, used when a destination is saved and again before every delivery
 * attempt (configuration changes between the two). By default a destination must be `https://`
 * on a public host, on port 443 or 8443 (or one DESTINATION_ALLOWED_PORTS lists), with no
 * credentials in the URL. Addresses are classified by ./ssrf_address.ts: loopback, private,
 * link-local, CGNAT, multicast, reserved, cloud metadata and every IPv6 form that embeds or
 * translates an IPv4 address are refused. ALLOW_LOCAL_DESTINATIONS=true (local development and
 * tests) allows `http://` and loopback on any port; ALLOW_PRIVATE_DESTINATIONS=true allows
 * private ranges and names. Host names are checked again at attempt time by ./ssrf_doh.ts.
 */
import type { SharedEnv } from '../env';
import { hostClass, type HostClass } from './ssrf_address';

/** Ports a destination may use without DESTINATION_ALLOWED_PORTS (and its scheme's default). */
export const DEFAULT_ALLOWED_PORTS: readonly number[] = [443, 8443];

/** What the guard allows, from the Workers' vars. */
export interface GuardPolicy {
  /** ALLOW_LOCAL_DESTINATIONS: `http://`, and loopback addresses on any port. */
  allowLocal: boolean;
  /** ALLOW_PRIVATE_DESTINATIONS: `http://`, and private ranges and names (on the allowed ports). */
  allowPrivate: boolean;
  /** 443, 8443 and those of DESTINATION_ALLOWED_PORTS. */
  allowedPorts: readonly number[];
}

/** The vars the guard reads. */
export type GuardEnv = Pick<SharedEnv, 'ALLOW_LOCAL_DESTINATIONS' | 'ALLOW_PRIVATE_DESTINATIONS' | 'DESTINATION_ALLOWED_PORTS'>;

/** The ports of DESTINATION_ALLOWED_PORTS (comma-separated; entries that are not ports 1 to 65535 are ignored). */
export function extraAllowedPorts(raw: string | undefined): number[] {
  return (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => /^\d{1,5}$/.test(s))
    .map(Number)
    .filter((n) => n >= 1 && n <= 65535);
}

/** The guard's policy from the vars (both switches exactly "true" to be on). */
export function guardPolicy(env: GuardEnv): GuardPolicy {
  return {
    allowLocal: env.ALLOW_LOCAL_DESTINATIONS === 'true',
    allowPrivate: env.ALLOW_PRIVATE_DESTINATIONS === 'true',
    allowedPorts: [...DEFAULT_ALLOWED_PORTS, ...extraAllowedPorts(env.DESTINATION_ALLOWED_PORTS)],
  };
}

/** The strictest policy: public https hosts on 443 and 8443 only. */
export const PRODUCTION_POLICY: GuardPolicy = { allowLocal: false, allowPrivate: false, allowedPorts: DEFAULT_ALLOWED_PORTS };

const BLOCKED = 'Destination url is blocked';

/** Why a host of this class may not be a destination under the policy, or null when it may. */
export function hostClassError(cls: HostClass, policy: GuardPolicy): string | null {
  if (cls === 'embedded') return `${BLOCKED}: IPv6 addresses that embed, map or translate an IPv4 address are not allowed`;
  if (cls === 'internal') return `${BLOCKED}: Requests to the local network are not allowed`;
  if (cls === 'loopback' && !policy.allowLocal) return `${BLOCKED}: Requests to localhost are not allowed`;
  if (cls === 'private' && !policy.allowPrivate) return `${BLOCKED}: Requests to the local network are not allowed`;
  return null;
}

/** Whether a host is not a public one (by literal or well-known name). */
export function isInternalHost(hostname: string): boolean {
  return hostClass(hostname) !== 'public';
}

/**
 * Why a destination URL is not acceptable, or null when it is. Messages follow GitLab's
 * "is blocked" wording (Gitlab::UrlBlocker).
 */
export function destinationUrlError(raw: string, policy: GuardPolicy): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `${BLOCKED}: Only allowed schemes are https`;
  }
  if (/[\s\u0000-\u001f]/.test(raw)) return 'Destination url is invalid';
  const schemes = policy.allowLocal || policy.allowPrivate ? ['https:', 'http:'] : ['https:'];
  if (!schemes.includes(url.protocol)) {
    return `${BLOCKED}: Only allowed schemes are ${schemes.map((s) => s.slice(0, -1)).join(', ')}`;
  }
  if (url.username || url.password) return `${BLOCKED}: Credentials are not allowed in the URL`;
  if (!url.hostname) return 'Destination url is invalid';
  const cls = hostClass(url.hostname);
  const refused = hostClassError(cls, policy);
  if (refused) return refused;
  // URL parsing drops the scheme's default port (url.port is then ''). Local receivers of
  // tests and development listen on random ports: loopback (allowed above) may use any.
  if (url.port !== '' && cls !== 'loopback' && !policy.allowedPorts.includes(Number(url.port))) {
    return `${BLOCKED}: Only allowed ports are ${policy.allowedPorts.join(', ')}`;
  }
  return null;
}

/** Whether a URL's host is this machine's loopback (127.0.0.0/8, localhost, [::1]). */
export function isLoopbackUrl(raw: string): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  return hostClass(url.hostname) === 'loopback';
}

/** When DELIVERY_LOOPBACK_ONLY is set (tests, soaks, benchmarks): why a URL that is not loopback may not be reached, else null. */
export function loopbackOnlyError(raw: string, loopbackOnly: boolean): string | null {
  return loopbackOnly && !isLoopbackUrl(raw) ? `${BLOCKED}: DELIVERY_LOOPBACK_ONLY allows loopback addresses only` : null;
}

/**
 * Why a delivery may not be attempted, or null: anything but loopback when DELIVERY_LOOPBACK_ONLY
 * is set, and the SSRF guard under the policy.
 */
export function deliveryUrlError(raw: string, opts: { policy: GuardPolicy; loopbackOnly: boolean }): string | null {
  return loopbackOnlyError(raw, opts.loopbackOnly) ?? destinationUrlError(raw, opts.policy);
}
