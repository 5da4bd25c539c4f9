/**
 * The destination URL guard (src/delivery/ssrf.ts) as a function: the policies the vars make
 * (ALLOW_LOCAL_DESTINATIONS: loopback only; ALLOW_PRIVATE_DESTINATIONS: private ranges and names;
 * DESTINATION_ALLOWED_PORTS) and DELIVERY_LOOPBACK_ONLY. The API's answers to every form are in
 * test/sweeps/ssrf_forms.test.ts; the resolution-time check in ./ssrf_resolution.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { PRODUCTION_POLICY, deliveryUrlError, destinationUrlError, extraAllowedPorts, guardPolicy, isInternalHost, isLoopbackUrl } from '../../src/delivery/ssrf';

const LOCAL = guardPolicy({ ALLOW_LOCAL_DESTINATIONS: 'true' });
const PRIVATE = guardPolicy({ ALLOW_PRIVATE_DESTINATIONS: 'true' });

describe('destination URL guard', () => {
  it.each([
    'http://127.0.0.1/x', 'https://127.0.0.1/x', 'https://localhost/x', 'https://10.1.2.3/', 'https://172.16.0.1/',
    'https://192.168.1.1/', 'https://169.254.169.254/latest/meta-data', 'https://[::1]/', 'https://[fd00::1]/',
    'https://[::ffff:127.0.0.1]/', 'https://0.0.0.0/', 'https://2130706433/', 'https://0x7f000001/', 'https://intranet/',
    'https://metadata.google.internal/', 'https://100.64.0.1/', 'https://foo.localhost/',
  ])('blocks %s without ALLOW_LOCAL_DESTINATIONS', (u) => {
    expect(destinationUrlError(u, PRODUCTION_POLICY)).toMatch(/blocked/);
  });
  it('blocks non-https schemes and credentials', () => {
    expect(destinationUrlError('http://example.com/', PRODUCTION_POLICY)).toBe('Destination url is blocked: Only allowed schemes are https');
    expect(destinationUrlError('ftp://example.com/', LOCAL)).toMatch(/Only allowed schemes are https, http/);
    expect(destinationUrlError('https://user:pw@example.com/', PRODUCTION_POLICY)).toMatch(/Credentials/);
    expect(destinationUrlError('not a url', PRODUCTION_POLICY)).toMatch(/blocked|invalid/);
  });
  it('accepts public https and, when allowed, local http', () => {
    expect(destinationUrlError('https://mydomain.io/endpoint/ingest', PRODUCTION_POLICY)).toBeNull();
    expect(destinationUrlError('http://127.0.0.1:9999/hook', LOCAL)).toBeNull();
    expect(isInternalHost('example.com')).toBe(false);
    // Names that merely start like a number are names.
    expect(destinationUrlError('https://0xproject.example/hook', PRODUCTION_POLICY)).toBeNull();
    expect(destinationUrlError('https://1password.example:8443/hook', PRODUCTION_POLICY)).toBeNull();
  });
});

describe('ALLOW_LOCAL_DESTINATIONS means loopback only; private ranges need ALLOW_PRIVATE_DESTINATIONS', () => {
  it('ALLOW_LOCAL_DESTINATIONS allows loopback in every spelling, on any port, and nothing private', () => {
    for (const u of ['http://127.0.0.1:9/x', 'http://127.8.9.10:65535/', 'http://localhost:1234/', 'http://[::1]:80/', 'http://2130706433:81/', 'http://0x7f.1:8080/']) {
      expect(destinationUrlError(u, LOCAL), u).toBeNull();
    }
    for (const u of ['http://10.0.0.1/', 'http://192.168.1.1/', 'http://[fd00::1]/', 'http://intranet/', 'http://db.internal/', 'http://printer.local/']) {
      expect(destinationUrlError(u, LOCAL), u).toBe('Destination url is blocked: Requests to the local network are not allowed');
    }
  });
  it('ALLOW_PRIVATE_DESTINATIONS allows private ranges and names (on the allowed ports), never loopback, metadata or IPv4-carrying IPv6', () => {
    for (const u of ['http://10.0.0.1/', 'https://172.16.0.1:8443/', 'http://192.168.1.1/', 'https://[fd00::1]/', 'https://intranet/', 'https://siem.internal/']) {
      expect(destinationUrlError(u, PRIVATE), u).toBeNull();
    }
    expect(destinationUrlError('http://10.0.0.1:6379/', PRIVATE)).toMatch(/Only allowed ports are 443, 8443$/);
    expect(destinationUrlError('https://127.0.0.1/', PRIVATE)).toMatch(/Requests to localhost are not allowed/);
    expect(destinationUrlError('https://169.254.169.254/', PRIVATE)).toMatch(/local network/);
    expect(destinationUrlError('https://100.64.0.1/', PRIVATE)).toMatch(/local network/);
    expect(destinationUrlError('https://metadata.google.internal/', PRIVATE)).toMatch(/local network/);
    expect(destinationUrlError('https://[::ffff:10.0.0.1]/', PRIVATE)).toMatch(/embed, map or translate/);
  });
  it('ports: 443, 8443 and the scheme default; DESTINATION_ALLOWED_PORTS adds some (bad entries ignored)', () => {
    expect(destinationUrlError('https://example.com:443/', PRODUCTION_POLICY)).toBeNull();
    expect(destinationUrlError('https://example.com:8443/', PRODUCTION_POLICY)).toBeNull();
    expect(destinationUrlError('https://example.com:8080/', PRODUCTION_POLICY)).toBe('Destination url is blocked: Only allowed ports are 443, 8443');
    expect(extraAllowedPorts(' 9443,x, 0,70000,10443 ,')).toEqual([9443, 10443]);
    const ports = guardPolicy({ DESTINATION_ALLOWED_PORTS: '9443' });
    expect(destinationUrlError('https://example.com:9443/', ports)).toBeNull();
    expect(destinationUrlError('https://example.com:9444/', ports)).toBe('Destination url is blocked: Only allowed ports are 443, 8443, 9443');
  });
});

describe('DELIVERY_LOOPBACK_ONLY (tests, soaks, benchmarks)', () => {
  it('lets only loopback destinations through', async () => {
    for (const u of ['http://127.0.0.1:9/x', 'http://127.8.9.10/', 'http://localhost:1234/', 'http://[::1]:80/']) expect(isLoopbackUrl(u), u).toBe(true);
    for (const u of ['https://mydomain.io/ingest', 'http://10.0.0.1/', 'http://1.2.3.4/', 'http://0/', 'http://a/', 'not a url', 'http://127.0.0.1.nip.io/', 'http://[::ffff:127.0.0.1]/']) {
      expect(isLoopbackUrl(u), u).toBe(false);
      expect(deliveryUrlError(u, { policy: LOCAL, loopbackOnly: true }), u).toMatch(/loopback addresses only/);
    }
    expect(deliveryUrlError('http://127.0.0.1:9/x', { policy: LOCAL, loopbackOnly: true })).toBeNull();
    // Without ALLOW_LOCAL_DESTINATIONS the SSRF guard still refuses loopback.
    expect(deliveryUrlError('http://127.0.0.1:9/x', { policy: PRODUCTION_POLICY, loopbackOnly: true })).toMatch(/blocked/);
    expect(deliveryUrlError('https://mydomain.io/ingest', { policy: PRODUCTION_POLICY, loopbackOnly: false })).toBeNull();
  });
});
