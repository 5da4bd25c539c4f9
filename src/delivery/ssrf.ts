/**
 * The destination URL guard, used when a destination is saved and again before every delivery
 * (DNS and configuration change between the two). Without ALLOW_LOCAL_DESTINATIONS a
 * destination must be https:// on a public host: no loopback, private, link-local, CGNAT,
 * multicast or cloud metadata addresses, no credentials in the URL, no odd ports of
 * internal services. With it (local development and tests), http:// and loopback are allowed.
 */

/** IPv4 literal to its four octets, or null. Accepts only dotted-decimal (URL parsing normalises others). */
function ipv4Octets(host: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return null;
  const o = m.slice(1).map(Number);
  return o.every((n) => n <= 255) ? o : null;
}

/** Whether an IPv4 address is not publicly routable. */
function ipv4IsInternal([a, b]: number[]): boolean {
  return (
    a === 0 || a === 10 || a === 127 ||
    (a === 100 && b >= 64 && b <= 127) || // CGNAT
    (a === 169 && b === 254) || // link-local, cloud metadata
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0) ||
    (a === 198 && (b === 18 || b === 19)) ||
    a >= 224 // multicast and reserved
  );
}

/** Whether an IPv6 literal (without brackets) is not publicly routable. */
function ipv6IsInternal(host: string): boolean {
  const h = host.toLowerCase();
  if (h === '::' || h === '::1') return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  if (mapped) {
    const o = ipv4Octets(mapped[1]);
    return o ? ipv4IsInternal(o) : true;
  }
  if (/^::ffff:[0-9a-f]{1,4}:[0-9a-f]{1,4}$/.test(h)) return true; // mapped, hex form: refuse
  return /^(fc|fd|fe8|fe9|fea|feb|ff)/.test(h) || h.startsWith('64:ff9b:') || h.startsWith('100::');
}

const INTERNAL_NAMES = /(^|\.)(localhost|local|internal|localdomain|home\.arpa)$/i;
const METADATA_NAMES = new Set(['metadata.google.internal', 'metadata', 'instance-data']);

/** Whether a host names this machine or a private network (by literal or well-known name). */
export function isInternalHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
  if (host === '' || METADATA_NAMES.has(host) || INTERNAL_NAMES.test(host)) return true;
  const v4 = ipv4Octets(host);
  if (v4) return ipv4IsInternal(v4);
  if (host.includes(':')) return ipv6IsInternal(host);
  if (!host.includes('.')) return true; // single-label names resolve on internal networks only
  return false;
}

/** Whether a host is a loopback address or name (allowed only with ALLOW_LOCAL_DESTINATIONS). */
function isLoopbackOrPrivate(hostname: string): boolean {
  return isInternalHost(hostname);
}

/**
 * Why a destination URL is not acceptable, or null when it is. Messages follow GitLab's
 * "is blocked" wording.
 */
export function destinationUrlError(raw: string, allowLocal: boolean): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'Destination url is blocked: Only allowed schemes are https';
  }
  if (/[\s\u0000-\u001f]/.test(raw)) return 'Destination url is invalid';
  const schemes = allowLocal ? ['https:', 'http:'] : ['https:'];
  if (!schemes.includes(url.protocol)) {
    return `Destination url is blocked: Only allowed schemes are ${schemes.map((s) => s.slice(0, -1)).join(', ')}`;
  }
  if (url.username || url.password) return 'Destination url is blocked: Credentials are not allowed in the URL';
  if (!url.hostname) return 'Destination url is invalid';
  if (!allowLocal && isLoopbackOrPrivate(url.hostname)) {
    return 'Destination url is blocked: Requests to the local network are not allowed';
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
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host === '::1') return true;
  const v4 = ipv4Octets(host);
  return v4 !== null && v4[0] === 127;
}

/**
 * Why a delivery may not be attempted, or null: the SSRF guard (unless ALLOW_LOCAL_DESTINATIONS),
 * and, when DELIVERY_LOOPBACK_ONLY is set (tests, soaks, benchmarks), anything but loopback.
 */
export function deliveryUrlError(raw: string, opts: { allowLocal: boolean; loopbackOnly: boolean }): string | null {
  if (opts.loopbackOnly && !isLoopbackUrl(raw)) {
    return 'Destination url is blocked: DELIVERY_LOOPBACK_ONLY allows loopback addresses only';
  }
  return opts.allowLocal ? null : destinationUrlError(raw, false);
}
