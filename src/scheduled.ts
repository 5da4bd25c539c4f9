import type { Env } from './env';
import { sweepOutbox } from './delivery/fanout';

/** The Cron Trigger: enqueue events whose dispatch did not finish (the outbox sweep). */
export async function handleScheduled(_controller: ScheduledController, env: Env, _ctx: ExecutionContext): Promise<void> {
  const swept = await sweepOutbox(env);
  if (swept > 0) console.log(`outbox sweep dispatched ${swept} events`);
}
