import { describe, expect, it, vi } from 'vitest';
import { env } from 'cloudflare:workers';
import { createExecutionContext, createScheduledController } from 'cloudflare:test';
import { handleScheduled } from '../src/scheduled';
import { recordAuditEvent, instanceEntity } from '../src/audit/record';
import type { Env } from '../src/env';
import { receiverOrigin, waitForRequests } from './support/receiver';
import { unique } from './support/api';

describe('cron trigger', () => {
  it('sweeps events left in the outbox (their enqueue failed) and delivers them', async () => {
    // An instance destination that only takes this test's event type, pointed at the receiver.
    const eventType = unique('sweep_test_').toLowerCase();
    const path = `/${unique('sweep')}`;
    const now = new Date().toISOString();
    const dest = await env.DB
      .prepare(
        `INSERT INTO streaming_destinations (scope, name, destination_url, verification_token, signing_secret, created_at, updated_at)
         VALUES ('instance', ?1, ?2, 'sweep-verification-token', 'whsec_c3dlZXAtdGVzdC1zZWNyZXQtYnl0ZXMtMzI=', ?3, ?3) RETURNING id`,
      )
      .bind(unique('d'), `${receiverOrigin()}${path}`, now)
      .first<{ id: number }>();
    await env.DB.prepare('INSERT INTO streaming_event_type_filters (destination_id, audit_event_type, created_at) VALUES (?1, ?2, ?3)').bind(dest!.id, eventType, now).run();

    // A queue that refuses: the event is stored, its outbox row stays.
    const refuse = () => Promise.reject(new Error('queue down'));
    const broken = { ...env, DELIVERIES: { send: refuse, sendBatch: refuse } } as unknown as Env;
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    const e = await recordAuditEvent(broken, null, { eventType, author: { id: 1, name: 'Administrator' }, entity: instanceEntity() });
    spy.mockRestore();
    const outbox = () => env.DB.prepare('SELECT event_id FROM audit_event_outbox WHERE event_id = ?1').bind(e.id).first();
    expect(await outbox()).not.toBeNull();

    // The sweep takes rows older than 30 s.
    await env.DB.prepare('UPDATE audit_event_outbox SET created_at = ?1 WHERE event_id = ?2').bind(new Date(Date.now() - 120_000).toISOString(), e.id).run();
    await handleScheduled(createScheduledController({ cron: '* * * * *' }) as ScheduledController, env, createExecutionContext());
    expect(await outbox()).toBeNull();
    const got = await waitForRequests(path, 1);
    expect(got).toHaveLength(1);
    expect(JSON.parse(got[0].body)).toMatchObject({ id: String(e.id), event_type: eventType });
    await env.DB.prepare('UPDATE streaming_destinations SET active = 0 WHERE id = ?1').bind(dest!.id).run();
  });

  it('runs every job even when one fails, then reports the failure', async () => {
    const db = env.DB;
    let calls = 0;
    // A DB whose first statement fails (the outbox sweep), and which works afterwards.
    const flaky = new Proxy(db, {
      get(target, prop) {
        if (prop === 'prepare') {
          return (sql: string) => {
            calls++;
            if (calls === 1) throw new Error('D1 is down');
            return target.prepare(sql);
          };
        }
        const v = Reflect.get(target, prop);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    await expect(
      handleScheduled(createScheduledController() as ScheduledController, { ...env, DB: flaky } as unknown as Env, createExecutionContext()),
    ).rejects.toThrow('scheduled jobs failed: outbox sweep');
    expect(calls).toBeGreaterThan(1); // later jobs still queried the database
    spy.mockRestore();
  });
});
