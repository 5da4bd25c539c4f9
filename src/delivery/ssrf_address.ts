/**
 * What kind of address a destination host is, for the SSRF guard (./ssrf.ts) and the
 * resolution-time check (./ssrf_doh.ts). IP literals are classified by ipaddr.js, a maintained
 * parser with the IANA special-purpose ranges; host names by the names that resolve on this
 * machine or a private network only.
 */
import ipaddr from 'ipaddr.js';

/**
 * - `public`: a global unicast address or an ordinary host name;
 * - `loopback`: 127.0.0.0/8, ::1 or `localhost` (allowed with ALLOW_LOCAL_DESTINATIONS);
 * - `private`: RFC 1918, IPv6 unique local fc00::/7, or a private-network name such as
 *   `*.internal`, `*.local`, `*.home.arpa` or a single label (allowed with ALLOW_PRIVATE_DESTINATIONS);
 * - `embedded`: an IPv6 form that embeds, maps or translates an IPv4 address (always refused);
 * - `internal`: any other special-purpose address, and cloud metadata names (always refused).
 */
export type HostClass = 'public' | 'loopback' | 'private' | 'embedded' | 'internal';

const cidr = (text: string, bits: number): [ipaddr.IPv6, number] => [ipaddr.IPv6.parse(text), bits];

/** IPv6 prefixes whose addresses carry an IPv4 address (mapped, translated, tunnelled). */
const IPV4_CARRYING: [ipaddr.IPv6, number][] = [
  cidr('::', 96), // IPv4-compatible (RFC 4291, deprecated); :: and ::1 are classified before
  cidr('::ffff:0:0', 96), // IPv4-mapped
  cidr('::ffff:0:0:0', 96), // IPv4-translated (RFC 6145)
  cidr('64:ff9b::', 96), // NAT64 well-known prefix (RFC 6052)
  cidr('64:ff9b:1::', 48), // NAT64 local-use prefix (RFC 8215)
  cidr('2002::', 16), // 6to4 (RFC 3056)
  cidr('2001::', 32), // Teredo (RFC 4380)
];

/** Whether an IPv6 interface identifier is ISATAP's (RFC 5214: 0000:5efe or 0200:5efe, u/g bits free). */
function isIsatap(parts: number[]): boolean {
  return (parts[4] & 0xfcff) === 0 && parts[5] === 0x5efe;
}

/** The class of an IPv6 address. */
function ipv6Class(addr: ipaddr.IPv6): HostClass {
  const range = addr.range();
  if (range === 'loopback') return 'loopback';
  if (range === 'unspecified') return 'internal';
  if (IPV4_CARRYING.some((net) => addr.match(net)) || isIsatap(addr.parts)) return 'embedded';
  if (range === 'uniqueLocal') return 'private';
  // Only global unicast 2000::/3, and none of its special-purpose blocks (documentation,
  // benchmarking, ORCHID, AMT, AS112, ...): site-local fec0::/10, link-local and multicast are
  // outside 2000::/3.
  if (range !== 'unicast' || (addr.parts[0] & 0xe000) !== 0x2000) return 'internal';
  return 'public';
}

/** The class of an IPv4 address: every range of ipaddr.js other than unicast is special. */
function ipv4Class(addr: ipaddr.IPv4): HostClass {
  const range = addr.range();
  if (range === 'loopback') return 'loopback';
  if (range === 'private') return 'private';
  // unspecified 0.0.0.0/8, broadcast, multicast, linkLocal (cloud metadata), carrierGradeNat,
  // reserved (192.0.0.0/24, documentation, 198.18.0.0/15 benchmarking, 240.0.0.0/4), as112, amt.
  return range === 'unicast' ? 'public' : 'internal';
}

/**
 * The class of an IP address written as text (dotted-quad IPv4 or IPv6 without brackets), or
 * null when the text is not one (a host name). Other IPv4 spellings (decimal, octal, hex) are
 * normalised to dotted-quad by URL parsing before they get here, and are not IP text here.
 */
export function ipClass(text: string): HostClass | null {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return ipv4Class(ipaddr.IPv4.parse(text));
  if (text.includes(':') && ipaddr.IPv6.isValid(text)) {
    const addr = ipaddr.IPv6.parse(text);
    return addr.zoneId === undefined ? ipv6Class(addr) : 'internal';
  }
  return null;
}

/** Names that resolve on this machine or a private network only (RFC 6761, RFC 6762, RFC 8375, ICANN's .internal). */
const PRIVATE_NAMES = /(^|\.)(localhost|local|internal|localdomain|lan|intranet|home\.arpa)$/;
/** Cloud metadata services, never a destination. */
const METADATA_NAMES = new Set(['metadata.google.internal', 'metadata', 'instance-data', 'metadata.azure.internal']);

/**
 * The class of a URL's host as WHATWG URL parsing gives it (`url.hostname`: IPv6 in brackets,
 * IPv4 normalised to dotted-quad, names lower-cased and punycoded).
 */
export function hostClass(hostname: string): HostClass {
  const host = hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '').toLowerCase();
  if (host === '' || METADATA_NAMES.has(host)) return 'internal';
  const ip = ipClass(host);
  if (ip) return ip;
  if (host === 'localhost') return 'loopback';
  // Digits and dots that are no IPv4 address (URL parsing refuses them; callers may not parse).
  if (/^[\d.]+$/.test(host)) return 'internal';
  // Single-label names resolve on internal networks only.
  if (PRIVATE_NAMES.test(host) || !host.includes('.')) return 'private';
  return 'public';
}
