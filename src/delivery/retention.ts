/**
 * Retention of the delivery log: attempts older than DELIVERY_ATTEMPT_RETENTION_DAYS (30) are
 * removed by the Cron Trigger, in bounded chunks so one run stays short. The deliveries rows
 * (one per event and destination, with their final status and counts) are kept.
 */
import type { Env } from '../env';
import { pruneDeliveryAttempts } from '../db/deliveries';

/** Days delivery attempts are kept. */
export const DELIVERY_ATTEMPT_RETENTION_DAYS = 30;
/** Most attempts removed per cron run (the rest go on the next minute). */
const MAX_PRUNED_PER_RUN = 20_000;

/** Remove delivery attempts past retention; returns how many were removed. */
export async function pruneDeliveryLog(env: Pick<Env, 'DB'>, now: number = Date.now()): Promise<number> {
  const before = new Date(now - DELIVERY_ATTEMPT_RETENTION_DAYS * 86_400_000).toISOString();
  let total = 0;
  while (total < MAX_PRUNED_PER_RUN) {
    const n = await pruneDeliveryAttempts(env.DB, before, 5000);
    total += n;
    if (n < 5000) break;
  }
  return total;
}
