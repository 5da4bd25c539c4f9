import type { Env } from './env';
import { sweepOutbox } from './delivery/fanout';
import { applyAuditRetention } from './audit/retention';
import { pruneDeliveryLog } from './delivery/retention';

/** The Cron Trigger: enqueue events whose dispatch did not finish (the outbox sweep). */
export async function handleScheduled(_controller: ScheduledController, env: Env, _ctx: ExecutionContext): Promise<void> {
  const swept = await sweepOutbox(env);
  if (swept > 0) console.log(`outbox sweep dispatched ${swept} events`);
  // Audit log retention (AUDIT_RETENTION_DAYS; off when unset): see src/audit/retention.ts.
  const retention = await applyAuditRetention(env, _ctx);
  if (retention.deleted > 0) console.log(`audit retention removed ${retention.deleted} events created before ${retention.cutoff}`);
  // Delivery log retention: attempts older than 30 days (src/delivery/retention.ts).
  const pruned = await pruneDeliveryLog(env);
  if (pruned > 0) console.log(`delivery log retention removed ${pruned} attempts`);
}
