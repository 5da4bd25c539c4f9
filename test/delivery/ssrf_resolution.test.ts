/**
 * The SSRF guard's resolution-time check (src/delivery/ssrf_doh.ts): before an attempt to a host
 * name, DESTINATION_DOH_URL is asked for its A and AAAA records, and an internal answer refuses
 * the attempt (recorded as failed, no request sent). The resolver is a stand-in served by the
 * tests' receiver on 127.0.0.1 (test/support/doh-standin.mjs); its answers are data, never
 * connected to. The destinations' names are never resolved by anything else: every attempt also
 * runs under DELIVERY_LOOPBACK_ONLY, which refuses them before any request.
 */
import { describe, expect, it } from 'vitest';
import { env } from 'cloudflare:workers';
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import worker from '../../src/index';
import { checkResolution } from '../../src/delivery/ssrf_doh';
import { guardPolicy, PRODUCTION_POLICY } from '../../src/delivery/ssrf';
import { ADMIN, BASE, createGroup, unique } from '../support/api';
import { receivedRequests, receiverOrigin } from '../support/receiver';
import { insertDestination } from './support';

const SEND = `mutation($i: AuditEventsStreamingDestinationSendTestEventInput!) {
  auditEventsStreamingDestinationSendTestEvent(input: $i) {
    errors delivery { status attemptsCount lastHttpStatus lastError attempts { status httpStatus errorClass responseExcerpt durationMs } }
  } }`;

/** Set the stand-in's records of a name. */
async function setRecords(name: string, records: { A?: string[]; AAAA?: string[]; httpStatus?: number }): Promise<void> {
  const res = await fetch(`${receiverOrigin()}/_doh`, { method: 'POST', body: JSON.stringify({ name, ...records }) });
  expect(res.status).toBe(200);
}

/** A fresh stand-in endpoint (its own path, so its queries can be counted) and a fresh public-looking name. */
function fresh(): { dohPath: string; dohUrl: string; host: string } {
  const id = unique('doh');
  return { dohPath: `/doh/${id}`, dohUrl: `${receiverOrigin()}/doh/${id}`, host: `${id}.example.com` };
}

/** Send a test event to a new group destination at `url` through the API Worker with DESTINATION_DOH_URL (and `vars`) set. */
async function sendTestEvent(url: string, dohUrl: string, vars: Record<string, string | undefined> = {}): Promise<any> {
  const group = await createGroup();
  const dest = await insertDestination({ namespaceId: group.id, url });
  const ctx = createExecutionContext();
  const request = new Request(`${BASE}/api/graphql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'PRIVATE-TOKEN': ADMIN },
    body: JSON.stringify({ query: SEND, variables: { i: { destinationId: `gid://gitlab/AuditEvents::ExternalAuditEventDestination/${dest.id}` } } }),
  });
  const res = await worker.fetch(request, { ...env, DESTINATION_DOH_URL: dohUrl, ...vars }, ctx);
  const body = (await res.json()) as any;
  await waitOnExecutionContext(ctx);
  expect(body.errors, JSON.stringify(body)).toBeUndefined();
  return body.data.auditEventsStreamingDestinationSendTestEvent;
}

describe('resolution-time check (DESTINATION_DOH_URL)', () => {
  /** Production's switches: neither loopback nor private destinations (the tests' vars allow loopback). */
  const PRODUCTION = { ALLOW_LOCAL_DESTINATIONS: undefined };
  it.each([
    ['an A record in a private range', { A: ['93.184.215.14', '10.0.0.7'] }, /Requests to the local network are not allowed \(\S+ resolves to 10\.0\.0\.7\)/],
    ['an A record of loopback', { A: ['127.0.0.1'] }, /Requests to localhost are not allowed \(\S+ resolves to 127\.0\.0\.1\)/],
    ['an A record of the metadata address', { A: ['169.254.169.254'] }, /local network are not allowed \(\S+ resolves to 169\.254\.169\.254\)/],
    ['an AAAA record that maps an IPv4 address', { A: ['93.184.215.14'], AAAA: ['::ffff:127.0.0.1'] }, /embed, map or translate an IPv4 address .*resolves to ::ffff:127\.0\.0\.1/],
    ['an AAAA record in a unique local range', { AAAA: ['fd00::1'] }, /local network are not allowed \(\S+ resolves to fd00::1\)/],
    ['an answer that is no address', { A: ['not-an-address'] }, /local network are not allowed \(\S+ resolves to not-an-address\)/],
  ])('refuses a name with %s: the attempt fails, nothing is sent, and the log says why', async (_what, records, reason) => {
    const { dohPath, dohUrl, host } = fresh();
    await setRecords(host, records);
    const payload = await sendTestEvent(`https://${host}/hook`, dohUrl, PRODUCTION);
    expect(payload.errors).toHaveLength(1);
    expect(payload.delivery).toMatchObject({ status: 'FAILED', attemptsCount: 1, lastHttpStatus: null });
    expect(payload.delivery.lastError).toMatch(reason);
    // Refused before any request: no HTTP status, no time spent, no response excerpt.
    expect(payload.delivery.attempts).toEqual([{ status: 'FAILED', httpStatus: null, errorClass: 'url_blocked', responseExcerpt: null, durationMs: 0 }]);
    // The stand-in was asked for both record types, as a DoH JSON client asks.
    const queries = await receivedRequests(dohPath);
    expect(queries.map((q) => q.path)).toEqual([dohPath, dohPath]);
    for (const q of queries) expect(q.headers.accept).toBe('application/dns-json');
  });

  it('control: a name whose answers are all public passes the check (and DELIVERY_LOOPBACK_ONLY then keeps the tests from sending)', async () => {
    const { dohPath, dohUrl, host } = fresh();
    await setRecords(host, { A: ['93.184.215.14'], AAAA: ['2606:2800:21f:cb07:6820:80da:af6b:8b2c'] });
    expect(await checkResolution({ DESTINATION_DOH_URL: dohUrl, DELIVERY_LOOPBACK_ONLY: 'true' }, `https://${host}/hook`, PRODUCTION_POLICY)).toEqual({ kind: 'ok' });
    const payload = await sendTestEvent(`https://${host}/hook`, dohUrl);
    expect(payload.delivery.lastError).toBe('Destination url is blocked: DELIVERY_LOOPBACK_ONLY allows loopback addresses only');
    expect(await receivedRequests(dohPath)).toHaveLength(4);
    // A loopback answer is judged as a loopback literal is: allowed by ALLOW_LOCAL_DESTINATIONS (the tests' vars).
    await setRecords(host, { A: ['127.0.0.1'] });
    expect(await checkResolution({ DESTINATION_DOH_URL: dohUrl }, `https://${host}/hook`, guardPolicy({ ALLOW_LOCAL_DESTINATIONS: 'true' }))).toEqual({ kind: 'ok' });
  });

  it('asks nothing for IP literals and localhost, nor when DESTINATION_DOH_URL is unset', async () => {
    const { dohPath, dohUrl } = fresh();
    const local = guardPolicy({ ALLOW_LOCAL_DESTINATIONS: 'true' });
    const vars = { DESTINATION_DOH_URL: dohUrl, DELIVERY_LOOPBACK_ONLY: 'true' };
    for (const url of ['http://127.0.0.1:9/x', 'http://localhost:9/x', 'http://[::1]:9/x', 'https://93.184.215.14/x']) {
      expect(await checkResolution(vars, url, local), url).toEqual({ kind: 'ok' });
    }
    expect(await checkResolution({ DELIVERY_LOOPBACK_ONLY: 'true' }, 'https://internal-answers.example.com/x', local)).toEqual({ kind: 'ok' });
    expect(await receivedRequests(dohPath)).toEqual([]);
  });

  it('a lookup that fails refuses the attempt as a failure to retry; a resolver off loopback is refused under DELIVERY_LOOPBACK_ONLY', async () => {
    const { dohUrl, host } = fresh();
    await setRecords(host, { httpStatus: 503 });
    expect(await checkResolution({ DESTINATION_DOH_URL: dohUrl }, `https://${host}/x`, PRODUCTION_POLICY)).toEqual({ kind: 'failed', error: 'DNS check failed: the resolver answered HTTP 503 (A)' });
    const payload = await sendTestEvent(`https://${host}/hook`, dohUrl);
    expect(payload.delivery.attempts).toEqual([{ status: 'FAILED', httpStatus: null, errorClass: 'network_error', responseExcerpt: null, durationMs: 0 }]);
    expect(await checkResolution({ DESTINATION_DOH_URL: 'https://cloudflare-dns.com/dns-query', DELIVERY_LOOPBACK_ONLY: 'true' }, `https://${host}/x`, PRODUCTION_POLICY)).toEqual({
      kind: 'failed',
      error: 'DNS check failed: DELIVERY_LOOPBACK_ONLY allows a loopback DESTINATION_DOH_URL only',
    });
  });
});
