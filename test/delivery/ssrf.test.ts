import { describe, expect, it } from 'vitest';
import { destinationUrlError, isInternalHost } from '../src/delivery/ssrf';

describe('destination URL guard', () => {
  it.each([
    'http://127.0.0.1/x', 'https://127.0.0.1/x', 'https://localhost/x', 'https://10.1.2.3/', 'https://172.16.0.1/',
    'https://192.168.1.1/', 'https://169.254.169.254/latest/meta-data', 'https://[::1]/', 'https://[fd00::1]/',
    'https://[::ffff:127.0.0.1]/', 'https://0.0.0.0/', 'https://2130706433/', 'https://0x7f000001/', 'https://intranet/',
    'https://metadata.google.internal/', 'https://100.64.0.1/', 'https://foo.localhost/',
  ])('blocks %s without ALLOW_LOCAL_DESTINATIONS', (u) => {
    expect(destinationUrlError(u, false)).toMatch(/blocked/);
  });
  it('blocks non-https schemes and credentials', () => {
    expect(destinationUrlError('http://example.com/', false)).toBe('Destination url is blocked: Only allowed schemes are https');
    expect(destinationUrlError('ftp://example.com/', true)).toMatch(/Only allowed schemes are https, http/);
    expect(destinationUrlError('https://user:pw@example.com/', false)).toMatch(/Credentials/);
    expect(destinationUrlError('not a url', false)).toMatch(/blocked|invalid/);
  });
  it('accepts public https and, when allowed, local http', () => {
    expect(destinationUrlError('https://mydomain.io/endpoint/ingest', false)).toBeNull();
    expect(destinationUrlError('http://127.0.0.1:9999/hook', true)).toBeNull();
    expect(isInternalHost('example.com')).toBe(false);
  });
});

describe('DELIVERY_LOOPBACK_ONLY (tests, soaks, benchmarks)', () => {
  it('lets only loopback destinations through', async () => {
    const { deliveryUrlError, isLoopbackUrl } = await import('../src/delivery/ssrf');
    for (const u of ['http://127.0.0.1:9/x', 'http://127.8.9.10/', 'http://localhost:1234/', 'http://[::1]:80/']) expect(isLoopbackUrl(u), u).toBe(true);
    for (const u of ['https://mydomain.io/ingest', 'http://10.0.0.1/', 'http://1.2.3.4/', 'http://0/', 'http://a/', 'not a url', 'http://127.0.0.1.nip.io/']) {
      expect(isLoopbackUrl(u), u).toBe(false);
      expect(deliveryUrlError(u, { allowLocal: true, loopbackOnly: true }), u).toMatch(/loopback addresses only/);
    }
    expect(deliveryUrlError('http://127.0.0.1:9/x', { allowLocal: true, loopbackOnly: true })).toBeNull();
    // Without ALLOW_LOCAL_DESTINATIONS the SSRF guard still refuses loopback.
    expect(deliveryUrlError('http://127.0.0.1:9/x', { allowLocal: false, loopbackOnly: true })).toMatch(/blocked/);
    expect(deliveryUrlError('https://mydomain.io/ingest', { allowLocal: false, loopbackOnly: false })).toBeNull();
  });
});
