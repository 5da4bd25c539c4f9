/**
 * Making one audit event's insert fail, for the one-transaction tests: a temporary trigger on
 * audit_events that RAISEs for events of one type whose target_details is one value, so no other
 * test's writes are touched.
 */
import { env } from 'cloudflare:workers';
import { unique } from './api';

const triggers: string[] = [];

/** Make the insert of the event `eventType` whose target_details is `target` fail, until dropped; returns the trigger's name. */
export async function refuseEvent(eventType: string, target: string): Promise<string> {
  const name = `refuse_${unique('t')}`;
  await env.DB.prepare(
    `CREATE TRIGGER ${name} BEFORE INSERT ON audit_events
     WHEN NEW.event_type = '${eventType}' AND NEW.target_details = '${target}'
     BEGIN SELECT RAISE(ABORT, 'audit event refused by the test'); END`,
  ).run();
  triggers.push(name);
  return name;
}

/** Drop one refusal (the event is written again). */
export async function allowEvent(trigger: string): Promise<void> {
  await env.DB.prepare(`DROP TRIGGER IF EXISTS ${trigger}`).run();
}

/** Drop every refusal still in place (call after each test). */
export async function allowAllEvents(): Promise<void> {
  for (const name of triggers.splice(0)) await allowEvent(name);
}
