import { describe, expect, it, vi } from 'vitest';
import { env } from 'cloudflare:workers';
import type { ConsumerEnv as Env, DeliveryJob } from '../../src/env';
import { deliverJob } from '../../src/delivery/consumer';
import { retryDelaySeconds, parseRetryAfter } from '../../src/delivery/retry';
import { BREAKER_THRESHOLD, HALF_OPEN_PROBES, TIMEOUT_FAILURE_WEIGHT, breakerBaseCooldownSeconds, cooldownSeconds } from '../../src/delivery/breaker';
import { createGroup, unique } from '../support/api';
import { receivedRequests, receiverOrigin, verifyWithStandardWebhooks } from '../support/receiver';
import { attemptRows, deliveryRow, destinationRow, groupEntityOf, insertDestination, insertEventQuietly, newSecret } from './support';

let seq = 0;
/**
 * Run deliverJob (what a destination's lane runs for each due job, src/delivery/lane.ts) over
 * jobs with a test env, and report the outcomes as a queue result: 'ack' (the lane drops the job)
 * as an explicit ack, 'retry' (the lane keeps it, due after the delay) as a retry with its delay.
 */
async function runBatch(jobs: DeliveryJob[], opts: { env?: Env } = {}) {
  const ids = jobs.map(() => `m${++seq}`);
  const outcomes = await Promise.all(jobs.map((job) => deliverJob(opts.env ?? (env as unknown as Env), job)));
  const result = {
    explicitAcks: ids.filter((_, k) => outcomes[k].action === 'ack'),
    retryMessages: outcomes.flatMap((o, k) => (o.action === 'retry' ? [{ msgId: ids[k], delaySeconds: o.delaySeconds }] : [])),
  };
  return { result, ids };
}

/** A group, a destination on a fresh receiver path, and one quietly stored event of the group. */
async function setup(kind: string, extra: Parameters<typeof insertDestination>[0] extends infer O ? Partial<O> : never = {}) {
  const group = await createGroup();
  const path = `/${kind}/${unique('c')}`;
  const dest = await insertDestination({ namespaceId: group.id, url: `${receiverOrigin()}${path}`, ...extra });
  const event = await insertEventQuietly(groupEntityOf(group));
  return { group, path, dest, event, job: { eventId: event.id, destinationId: dest.id } };
}

describe('delivery consumer', () => {
  it('POSTs the signed payload with the streaming headers and acks on 2xx', async () => {
    const { path, dest, event, job } = await setup('ok', { headers: { 'X-Custom-One': 'one' }, inactiveHeaders: { 'X-Disabled': 'no' } });
    const { result, ids } = await runBatch([job]);
    expect(result.explicitAcks).toEqual(ids);
    expect(result.retryMessages).toEqual([]);
    const [req] = await receivedRequests(path);
    expect(req.method).toBe('POST');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['x-gitlab-event-streaming-token']).toBe(dest.token);
    expect(req.headers['x-gitlab-audit-event-type']).toBe('audit_operation');
    expect(req.headers['x-custom-one']).toBe('one');
    expect(req.headers['x-disabled']).toBeUndefined();
    expect(req.headers['webhook-id']).toBe(`msg_${event.id}_${dest.id}`);
    expect(Math.abs(Number(req.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
    expect(req.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    const body = JSON.parse(req.body);
    expect(Object.keys(body).sort()).toEqual(
      ['author_id', 'author_name', 'created_at', 'details', 'entity_id', 'entity_path', 'entity_type', 'event_type', 'id', 'ip_address', 'target_details', 'target_id', 'target_type'],
    );
    expect(body.id).toBe(String(event.id));
    expect(body.details.custom_message).toBe('delivery test');
    expect(body.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const verified = await verifyWithStandardWebhooks(dest.secret, req);
    expect(verified).toMatchObject({ ok: true });
    // A different secret must not verify (the check can fail).
    expect((await verifyWithStandardWebhooks(newSecret(), req)).ok).toBe(false);
    const d = await deliveryRow(event.id, dest.id);
    expect(d).toMatchObject({ status: 'delivered', attempts: 1, last_http_status: 200, last_error: null });
    expect(d!.delivered_at).not.toBeNull();
    const attempts = await attemptRows(d!.id);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ attempt: 1, status: 'delivered', http_status: 200, error_class: null });
  });

  it('lets a custom header set the content type', async () => {
    const { path, job } = await setup('ok', { headers: { 'Content-Type': 'application/vnd.siem+json' } });
    await runBatch([job]);
    const [req] = await receivedRequests(path);
    expect(req.headers['content-type']).toBe('application/vnd.siem+json');
  });

  it('signs with both secrets during a rotation; either verifies', async () => {
    const old = newSecret();
    const { path, dest, job } = await setup('ok', { previousSecret: { secret: old, expiresAt: new Date(Date.now() + 3600_000).toISOString() } });
    await runBatch([job]);
    const [req] = await receivedRequests(path);
    expect(req.headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect((await verifyWithStandardWebhooks(dest.secret, req)).ok).toBe(true);
    expect((await verifyWithStandardWebhooks(old, req)).ok).toBe(true);
  });

  it('stops signing with an expired previous secret', async () => {
    const old = newSecret();
    const { path, job } = await setup('ok', { previousSecret: { secret: old, expiresAt: new Date(Date.now() - 1000).toISOString() } });
    await runBatch([job]);
    const [req] = await receivedRequests(path);
    expect(req.headers['webhook-signature'].split(' ')).toHaveLength(1);
    expect((await verifyWithStandardWebhooks(old, req)).ok).toBe(false);
  });

  it('retries a failure with the scheduled delay and records the attempt', async () => {
    const { dest, event, job } = await setup('status/500');
    const { result, ids } = await runBatch([job]);
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages).toEqual([{ msgId: ids[0], delaySeconds: 1 }]);
    const d = await deliveryRow(event.id, dest.id);
    expect(d).toMatchObject({ status: 'pending', attempts: 1, run_attempts: 1, last_http_status: 500, last_error: 'HTTP 500' });
    const [a] = await attemptRows(d!.id);
    expect(a).toMatchObject({ status: 'failed', http_status: 500, error_class: 'http_5xx' });
    expect(a.response_excerpt).toBe('{"status":500}');
    expect((await destinationRow(dest.id))!.consecutive_failures).toBe(1);
  });

  it('dead-letters and marks the delivery failed after the last scheduled attempt', async () => {
    const { dest, event, job } = await setup('status/503');
    const dlq: DeliveryJob[] = [];
    const testEnv = { ...env, DELIVERIES_DLQ: { send: async (b: DeliveryJob) => void dlq.push(b) } } as unknown as Env;
    for (let i = 1; i <= 3; i++) {
      const { result } = await runBatch([job], { env: testEnv });
      expect(result.retryMessages).toHaveLength(1);
    }
    expect(dlq).toEqual([]);
    const { result, ids } = await runBatch([job], { env: testEnv });
    expect(result.explicitAcks).toEqual(ids);
    expect(result.retryMessages).toEqual([]);
    expect(dlq).toEqual([job]);
    const d = await deliveryRow(event.id, dest.id);
    expect(d).toMatchObject({ status: 'failed', attempts: 4, last_http_status: 503 });
    expect((await attemptRows(d!.id)).map((a) => a.attempt)).toEqual([1, 2, 3, 4]);
  });

  it('honours Retry-After when it asks for longer than the schedule', async () => {
    const { job } = await setup('retry-after/120');
    const { result } = await runBatch([job]);
    expect(result.retryMessages[0].delaySeconds).toBe(120);
  });

  it('deactivates the destination on 410 Gone and does not retry', async () => {
    const { dest, event, job } = await setup('status/410');
    const { result, ids } = await runBatch([job]);
    expect(result.explicitAcks).toEqual(ids);
    expect((await destinationRow(dest.id))!.active).toBe(0);
    expect(await deliveryRow(event.id, dest.id)).toMatchObject({ status: 'failed', last_http_status: 410 });
  });

  it('does not follow redirects: a 3xx is a failure', async () => {
    const { path, dest, event, job } = await setup('status/302');
    const { result } = await runBatch([job]);
    expect(result.retryMessages).toHaveLength(1);
    expect(await receivedRequests(path)).toHaveLength(1);
    const d = await deliveryRow(event.id, dest.id);
    expect((await attemptRows(d!.id))[0]).toMatchObject({ http_status: 302, error_class: 'redirect' });
  });

  it('times out slow receivers', async () => {
    const { dest, event, job } = await setup('slow/3000');
    const { result } = await runBatch([job], { env: { ...env, DELIVERY_TIMEOUT_MS: '300' } as unknown as Env });
    expect(result.retryMessages).toHaveLength(1);
    const d = await deliveryRow(event.id, dest.id);
    expect((await attemptRows(d!.id))[0]).toMatchObject({ http_status: null, error_class: 'timeout' });
  });

  it('counts a timeout as a fifth of the breaker threshold: five hanging attempts in a row open it', async () => {
    expect(TIMEOUT_FAILURE_WEIGHT).toBe(BREAKER_THRESHOLD / 5);
    const { dest, job } = await setup('slow/3000');
    const fast = { ...env, DELIVERY_TIMEOUT_MS: '300' } as unknown as Env;
    await runBatch([job], { env: fast });
    expect(await destinationRow(dest.id)).toMatchObject({ consecutive_failures: TIMEOUT_FAILURE_WEIGHT, breaker_open_until: null });
    // Three more timeouts (counted as if made): the fifth opens it.
    await env.DB.prepare('UPDATE streaming_destinations SET consecutive_failures = ?2 WHERE id = ?1').bind(dest.id, BREAKER_THRESHOLD - TIMEOUT_FAILURE_WEIGHT).run();
    await env.DB.prepare('UPDATE deliveries SET next_retry_at = NULL WHERE event_id = ?1 AND destination_id = ?2').bind(job.eventId, dest.id).run();
    await runBatch([job], { env: fast });
    const state = await destinationRow(dest.id);
    expect(state!.consecutive_failures).toBe(BREAKER_THRESHOLD);
    expect(Date.parse(state!.breaker_open_until!)).toBeGreaterThan(Date.now() + 50_000);
  });

  it('opens the breaker after consecutive failures and then delays without requests; success closes it', async () => {
    const { group, path, dest, job } = await setup('fail/1');
    await env.DB.prepare('UPDATE streaming_destinations SET consecutive_failures = ?2 WHERE id = ?1').bind(dest.id, BREAKER_THRESHOLD - 1).run();
    const first = await runBatch([job]);
    expect(first.result.retryMessages).toHaveLength(1);
    const state = await destinationRow(dest.id);
    expect(state!.consecutive_failures).toBe(BREAKER_THRESHOLD);
    const openFor = (Date.parse(state!.breaker_open_until!) - Date.now()) / 1000;
    expect(openFor).toBeGreaterThan(50);
    expect(openFor).toBeLessThanOrEqual(61);
    // Another event for the same destination waits without a request.
    const other = await insertEventQuietly(groupEntityOf(group));
    const second = await runBatch([{ eventId: other.id, destinationId: dest.id }]);
    expect(second.result.retryMessages).toHaveLength(1);
    expect(second.result.retryMessages[0].delaySeconds).toBeGreaterThanOrEqual(50);
    expect(await receivedRequests(path)).toHaveLength(1);
    expect(await attemptRows((await deliveryRow(other.id, dest.id))!.id)).toHaveLength(0);
    // Cool-down over: one probe goes out, succeeds (the receiver recovered) and closes the breaker.
    await env.DB.prepare('UPDATE streaming_destinations SET breaker_open_until = ?2 WHERE id = ?1').bind(dest.id, new Date(Date.now() - 1000).toISOString()).run();
    const third = await runBatch([{ eventId: other.id, destinationId: dest.id }]);
    expect(third.result.explicitAcks).toHaveLength(1);
    expect(await destinationRow(dest.id)).toMatchObject({ consecutive_failures: 0, breaker_open_until: null });
  });

  it('opens the breaker for DELIVERY_BREAKER_COOLDOWN_SECONDS when that is set', async () => {
    const { dest, job } = await setup('status/500');
    await env.DB.prepare('UPDATE streaming_destinations SET consecutive_failures = ?2 WHERE id = ?1').bind(dest.id, BREAKER_THRESHOLD - 1).run();
    await runBatch([job], { env: { ...env, DELIVERY_BREAKER_COOLDOWN_SECONDS: '5' } as unknown as Env });
    const openFor = (Date.parse((await destinationRow(dest.id))!.breaker_open_until!) - Date.now()) / 1000;
    expect(openFor).toBeGreaterThan(2);
    expect(openFor).toBeLessThanOrEqual(5.1);
  });

  it('failures of attempts in flight when the breaker opened do not lengthen it; a failed probe doubles it', async () => {
    const { group, dest } = await setup('status/500');
    const openUntil = async () => Date.parse((await destinationRow(dest.id))!.breaker_open_until!) - Date.now();
    // Open: threshold reached.
    await env.DB.prepare('UPDATE streaming_destinations SET consecutive_failures = ?2 WHERE id = ?1').bind(dest.id, BREAKER_THRESHOLD - 1).run();
    const e1 = await insertEventQuietly(groupEntityOf(group));
    await runBatch([{ eventId: e1.id, destinationId: dest.id }]);
    const opened = await openUntil();
    expect(opened / 1000).toBeGreaterThan(50);
    expect(opened / 1000).toBeLessThanOrEqual(61);
    // An attempt that was in flight when it opened fails: count goes up, cool-down stays.
    const row = await env.DB.prepare('SELECT breaker_open_until AS u, breaker_trips AS t FROM streaming_destinations WHERE id = ?1').bind(dest.id).first<{ u: string; t: number }>();
    const { breakerFailureStatement } = await import('../../src/db/attempt_log');
    await breakerFailureStatement(env.DB, dest.id, false, 60).run();
    const after = await env.DB.prepare('SELECT breaker_open_until AS u, breaker_trips AS t, consecutive_failures AS f FROM streaming_destinations WHERE id = ?1').bind(dest.id).first<{ u: string; t: number; f: number }>();
    expect(after).toMatchObject({ u: row!.u, t: 1, f: BREAKER_THRESHOLD + 1 });
    // Cool-down over: half-open. A failed probe lets the next one go at once (no new cool-down),
    // until HALF_OPEN_PROBES probes in a row have failed: that re-opens the breaker for 120 s.
    expect(HALF_OPEN_PROBES).toBe(3);
    await env.DB.prepare('UPDATE streaming_destinations SET breaker_open_until = ?2 WHERE id = ?1').bind(dest.id, new Date(Date.now() - 1000).toISOString()).run();
    for (let probe = 1; probe < HALF_OPEN_PROBES; probe++) {
      const e = await insertEventQuietly(groupEntityOf(group));
      const { result } = await runBatch([{ eventId: e.id, destinationId: dest.id }]);
      expect(result.retryMessages).toHaveLength(1);
      expect(await attemptRows((await deliveryRow(e.id, dest.id))!.id)).toHaveLength(1); // it really went out
      const state = await env.DB.prepare('SELECT breaker_open_until AS u, breaker_trips AS t, breaker_probe_failures AS p FROM streaming_destinations WHERE id = ?1')
        .bind(dest.id).first<{ u: string; t: number; p: number }>();
      expect(state).toMatchObject({ t: 1, p: probe });
      expect(Date.parse(state!.u)).toBeLessThanOrEqual(Date.now());
    }
    const e2 = await insertEventQuietly(groupEntityOf(group));
    await runBatch([{ eventId: e2.id, destinationId: dest.id }]);
    const reopened = (await openUntil()) / 1000;
    expect(reopened).toBeGreaterThan(110);
    expect(reopened).toBeLessThanOrEqual(121);
    expect(await env.DB.prepare('SELECT breaker_trips AS t, breaker_probe_failures AS p FROM streaming_destinations WHERE id = ?1').bind(dest.id).first()).toEqual({ t: 2, p: 0 });
  });

  it('half-open: a successful probe after failed ones closes the breaker and forgets them; a probe whose breaker closed meanwhile is a plain failure', async () => {
    const { breakerFailureStatement, breakerSuccessStatement } = await import('../../src/db/attempt_log');
    const { dest } = await setup('status/500');
    const state = () =>
      env.DB.prepare('SELECT consecutive_failures AS f, breaker_open_until AS u, breaker_trips AS t, breaker_probe_failures AS p FROM streaming_destinations WHERE id = ?1')
        .bind(dest.id).first<{ f: number; u: string | null; t: number; p: number }>();
    await env.DB.prepare("UPDATE streaming_destinations SET consecutive_failures = ?2, breaker_trips = 1, breaker_open_until = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 seconds') WHERE id = ?1")
      .bind(dest.id, BREAKER_THRESHOLD).run();
    for (let i = 0; i < HALF_OPEN_PROBES - 1; i++) await breakerFailureStatement(env.DB, dest.id, true, 60).run();
    expect(await state()).toMatchObject({ t: 1, p: HALF_OPEN_PROBES - 1 });
    await breakerSuccessStatement(env.DB, dest.id).run();
    expect(await state()).toEqual({ f: 0, u: null, t: 0, p: 0 });
    // A probe's failure that reaches D1 after a success closed the breaker: counted, nothing opens.
    await breakerFailureStatement(env.DB, dest.id, true, 60).run();
    expect(await state()).toEqual({ f: 1, u: null, t: 0, p: 0 });
    // The next opening starts a fresh half-open: all HALF_OPEN_PROBES probes must fail again.
    await env.DB.prepare("UPDATE streaming_destinations SET consecutive_failures = ?2, breaker_trips = 1, breaker_open_until = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 seconds') WHERE id = ?1")
      .bind(dest.id, BREAKER_THRESHOLD).run();
    for (let i = 0; i < HALF_OPEN_PROBES - 1; i++) await breakerFailureStatement(env.DB, dest.id, true, 60).run();
    expect((await state())!.t).toBe(1);
    await breakerFailureStatement(env.DB, dest.id, true, 60).run();
    const reopened = await state();
    expect(reopened).toMatchObject({ t: 2, p: 0 });
    expect(Date.parse(reopened!.u!) - Date.now()).toBeGreaterThan(110_000);
  });

  it('behind an open breaker, waits without spending attempts past the retry window, and dead-letters after DELIVERY_MAX_WAIT_DAYS', async () => {
    const { group, path, dest } = await setup('status/500');
    const dlq: DeliveryJob[] = [];
    const testEnv = { ...env, DELIVERIES_DLQ: { send: async (b: DeliveryJob) => void dlq.push(b) } } as unknown as Env;
    await env.DB.prepare("UPDATE streaming_destinations SET consecutive_failures = ?2, breaker_trips = 1, breaker_open_until = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+60 seconds') WHERE id = ?1")
      .bind(dest.id, BREAKER_THRESHOLD).run();
    const age = async (eventId: number, ms: number) =>
      env.DB.prepare('UPDATE deliveries SET created_at = ?3 WHERE event_id = ?1 AND destination_id = ?2')
        .bind(eventId, dest.id, new Date(Date.now() - ms).toISOString()).run();
    // A delivery whose run began long past its retry window (test schedule 1,1,1 s with 2 s
    // timeouts: 11 s) still waits: the wait spends no attempt and no window.
    const old = await insertEventQuietly(groupEntityOf(group));
    const job = { eventId: old.id, destinationId: dest.id };
    await runBatch([job], { env: testEnv }); // creates its delivery row (waits)
    await age(old.id, 3600_000);
    const waited = await runBatch([job], { env: testEnv });
    expect(waited.result.retryMessages).toHaveLength(1);
    expect(waited.result.retryMessages[0].delaySeconds).toBeGreaterThanOrEqual(50);
    expect(dlq).toEqual([]);
    expect(await deliveryRow(old.id, dest.id)).toMatchObject({ status: 'pending', attempts: 0 });
    // After DELIVERY_MAX_WAIT_DAYS (default 7) of waiting it is given up.
    await age(old.id, 7.01 * 86_400_000);
    const given = await runBatch([job], { env: testEnv });
    expect(given.result.explicitAcks).toEqual(given.ids);
    expect(dlq).toEqual([job]);
    expect(await deliveryRow(old.id, dest.id)).toMatchObject({ status: 'failed', attempts: 0 });
    expect((await deliveryRow(old.id, dest.id))!.last_error).toMatch(/DELIVERY_MAX_WAIT_DAYS/);
    expect(await receivedRequests(path)).toHaveLength(0);
    // A redelivery starts a new run: its wait counts from then.
    const { resetDeliveryForRedelivery } = await import('../../src/db/deliveries');
    expect((await resetDeliveryForRedelivery(env.DB, old.id, dest.id)).runStartedAt).not.toBeNull();
    const again = await runBatch([job], { env: testEnv });
    expect(again.result.retryMessages).toHaveLength(1);
    // DELIVERY_MAX_WAIT_DAYS is read from the env.
    await env.DB.prepare('UPDATE deliveries SET run_started_at = ?3 WHERE event_id = ?1 AND destination_id = ?2')
      .bind(old.id, dest.id, new Date(Date.now() - 2 * 86_400_000).toISOString()).run();
    const short = await runBatch([job], { env: { ...testEnv, DELIVERY_MAX_WAIT_DAYS: '1' } as unknown as Env });
    expect(short.result.explicitAcks).toEqual(short.ids);
    expect(dlq).toEqual([job, job]);
  });

  it('a failing destination does not hold up a healthy one in the same batch', async () => {
    const bad = await setup('status/500');
    const good = await setup('ok');
    const { result, ids } = await runBatch([bad.job, good.job]);
    expect(result.retryMessages.map((r) => r.msgId)).toEqual([ids[0]]);
    expect(result.explicitAcks).toEqual([ids[1]]);
  });

  it('skips deleted destinations and holds the jobs of paused (inactive) ones, without a request', async () => {
    const { path, dest, event, job } = await setup('ok', { active: false });
    await env.DB.prepare(`INSERT INTO deliveries (event_id, destination_id, status, created_at, updated_at) VALUES (?1, ?2, 'pending', ?3, ?3)`)
      .bind(event.id, dest.id, new Date().toISOString()).run();
    const { result, ids } = await runBatch([job, { eventId: event.id, destinationId: 999_999_999 }]);
    expect(result.explicitAcks).toEqual([ids[1]]);
    expect(await deliverJob(env as unknown as Env, job)).toEqual({ action: 'hold', result: 'paused' });
    expect(await receivedRequests(path)).toHaveLength(0);
    // Paused: kept pending, untouched (src/delivery/pause.ts).
    expect(await deliveryRow(event.id, dest.id)).toMatchObject({ status: 'pending', attempts: 0, last_error: null });
  });

  it('re-checks the URL against the SSRF guard at delivery time', async () => {
    const { path, dest, event, job } = await setup('ok');
    const { result, ids } = await runBatch([job], { env: { ...env, ALLOW_LOCAL_DESTINATIONS: 'false' } as unknown as Env });
    expect(result.explicitAcks).toEqual(ids);
    expect(await receivedRequests(path)).toHaveLength(0);
    const d = await deliveryRow(event.id, dest.id);
    expect(d!.status).toBe('failed');
    expect(d!.last_error).toMatch(/blocked/);
    expect((await attemptRows(d!.id))[0]).toMatchObject({ error_class: 'url_blocked' });
  });

  it('acks a duplicate message of a delivered event without a second request', async () => {
    const { path, job } = await setup('ok');
    await runBatch([job]);
    const again = await runBatch([job]);
    expect(again.result.explicitAcks).toHaveLength(1);
    expect(await receivedRequests(path)).toHaveLength(1);
  });

  it('acks a second message of a delivery whose next attempt is already scheduled, without spending an attempt', async () => {
    const { path, dest, event, job } = await setup('status/500');
    const first = await runBatch([job]);
    expect(first.result.retryMessages).toHaveLength(1); // scheduled: next_retry_at is in the future
    const d = await deliveryRow(event.id, dest.id);
    await env.DB.prepare('UPDATE deliveries SET next_retry_at = ?2 WHERE id = ?1').bind(d!.id, new Date(Date.now() + 60_000).toISOString()).run();
    // A duplicate (e.g. a stale-sweep re-send racing the original) arrives early: dropped.
    const early = await runBatch([job]);
    expect(early.result.explicitAcks).toEqual(early.ids);
    expect(await receivedRequests(path)).toHaveLength(1);
    expect((await deliveryRow(event.id, dest.id))!.attempts).toBe(1);
    // The scheduled message, when its time has come, attempts again.
    await env.DB.prepare('UPDATE deliveries SET next_retry_at = ?2 WHERE id = ?1').bind(d!.id, new Date(Date.now() - 1000).toISOString()).run();
    const due = await runBatch([job]);
    expect(due.result.retryMessages).toHaveLength(1);
    expect(await receivedRequests(path)).toHaveLength(2);
    expect((await deliveryRow(event.id, dest.id))!.attempts).toBe(2);
  });
});

describe('retry policy', () => {
  it('follows the schedule with up to 10% jitter and stops after it', () => {
    const schedule = [5, 300, 1800];
    expect(retryDelaySeconds(schedule, 1, () => 0)).toBe(5);
    expect(retryDelaySeconds(schedule, 2, () => 0.999)).toBe(329);
    expect(retryDelaySeconds(schedule, 4)).toBeNull();
    expect(retryDelaySeconds([100_000], 1, () => 0)).toBe(43_200);
  });
  it('parses Retry-After seconds and HTTP dates, capped', () => {
    expect(parseRetryAfter('30')).toBe(30);
    expect(parseRetryAfter(new Date(Date.now() + 90_000).toUTCString())).toBeGreaterThanOrEqual(89);
    expect(parseRetryAfter('999999')).toBe(43_200);
    expect(parseRetryAfter('soon')).toBeNull();
  });
  it('doubles the breaker cool-down with each opening, up to ten minutes', () => {
    expect([0, 1, 2, 3, 5, 40].map((t) => cooldownSeconds(t))).toEqual([0, 60, 120, 240, 600, 600]);
    // DELIVERY_BREAKER_COOLDOWN_SECONDS sets the first cool-down; the longest is ten times it.
    expect([1, 2, 4, 5, 40].map((t) => cooldownSeconds(t, 5))).toEqual([5, 10, 40, 50, 50]);
  });
  it('reads DELIVERY_BREAKER_COOLDOWN_SECONDS, falling back to 60 s for anything but 1 to 3600 whole seconds', () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(breakerBaseCooldownSeconds({})).toBe(60);
    expect(breakerBaseCooldownSeconds({ DELIVERY_BREAKER_COOLDOWN_SECONDS: ' 5 ' })).toBe(5);
    for (const bad of ['0', '-5', '1.5', 'soon', '3601']) expect(breakerBaseCooldownSeconds({ DELIVERY_BREAKER_COOLDOWN_SECONDS: bad })).toBe(60);
    expect(spy).toHaveBeenCalledTimes(5);
    spy.mockRestore();
  });
});
