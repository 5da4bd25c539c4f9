import type { Env } from './env';
import { sweepOutbox } from './audit/outbox';
import { applyAuditRetention } from './audit/retention';
import { applyArchiveRetention } from './audit/archive_retention';
import { pruneDeliveryLog } from './delivery/retention';
import { sweepStaleDeliveries } from './delivery/stale';
import { expirePausedDeliveries } from './delivery/pause';
import { runAuditLogJobs } from './audit/log_jobs';
import { archiveRunSummary, runArchiveMove } from './audit/archive_run';
import { runArchiveSeal } from './audit/archive_seal';
import { collectScheduledEvidence } from './releases/evidence';

/** One housekeeping job of the Cron Trigger: its name and what it does. */
interface Job {
  name: string;
  run: (env: Env, ctx: ExecutionContext) => Promise<string | null>;
}

const JOBS: Job[] = [
  {
    // Events whose dispatch did not finish (the outbox): enqueue their deliveries.
    name: 'outbox sweep',
    run: async (env) => {
      const swept = await sweepOutbox(env);
      return swept > 0 ? `dispatched ${swept} events` : null;
    },
  },
  {
    // Pending deliveries whose queue message was lost (src/delivery/stale.ts): re-send from D1.
    name: 'stale delivery sweep',
    run: async (env) => {
      const resent = await sweepStaleDeliveries(env);
      return resent > 0 ? `re-sent ${resent} deliveries` : null;
    },
  },
  {
    // Paused destinations' deliveries past DELIVERY_PAUSE_RETENTION_DAYS that no lane holds (src/delivery/pause.ts).
    name: 'paused delivery bound',
    run: async (env) => {
      const failed = await expirePausedDeliveries(env);
      return failed > 0 ? `dead-lettered ${failed} deliveries of paused destinations` : null;
    },
  },
  {
    // The verifiable audit log (src/audit/log_jobs.ts): append new events' leaves, re-hash a
    // slice against the last checkpoint, sign a checkpoint when the log grew. Before retention,
    // so that an event gets its leaf before retention may remove it.
    name: 'audit log tree',
    run: (env, ctx) => runAuditLogJobs(env, ctx),
  },
  {
    // The cold audit log (src/audit/archive_run.ts): events past AUDIT_HOT_DAYS, or the oldest
    // while D1's audit data is above AUDIT_HOT_MAX_MB, move to R2. After the tree builder (only
    // events with their leaf move), before retention. Then segments whose chunks are all cold are
    // sealed (src/audit/archive_seal.ts): their chunk rows, counts and inner nodes leave D1.
    name: 'audit archive',
    run: async (env, ctx) => {
      const moved = archiveRunSummary(await runArchiveMove(env, ctx));
      const sealed = await runArchiveSeal(env, ctx);
      const done = [moved ?? '', sealed.length > 0 ? `sealed ${sealed.length} segment${sealed.length === 1 ? '' : 's'} (leaves ${sealed[0].firstLeaf} to ${sealed[sealed.length - 1].lastLeaf})` : ''];
      return done.filter((s) => s !== '').join('; ') || null;
    },
  },
  {
    // Release evidence (src/releases/evidence.ts), after the checkpoint: releases whose creation
    // a checkpoint now covers get their evidence at the first such checkpoint.
    name: 'release evidence',
    run: async (env, ctx) => {
      const collected = await collectScheduledEvidence(env, ctx);
      return collected > 0 ? `collected evidence of ${collected} releases` : null;
    },
  },
  {
    // Audit log retention (AUDIT_RETENTION_DAYS; off when unset): the hot events in D1
    // (src/audit/retention.ts), then the cold archive's chunks in R2 (src/audit/archive_retention.ts).
    name: 'audit retention',
    run: async (env, ctx) => {
      const r = await applyAuditRetention(env, ctx);
      const cold = await applyArchiveRetention(env, ctx);
      const done = [
        r.deleted > 0 ? `removed ${r.deleted} events created before ${r.cutoff}` : '',
        cold.chunks > 0
          ? `deleted ${cold.chunks} archive objects (${cold.events} events${cold.segments > 0 ? `, ${cold.segments} sealed segments` : ''}) whose newest event was created before ${cold.cutoff}`
          : '',
      ].filter((s) => s !== '');
      return done.length > 0 ? done.join('; ') : null;
    },
  },
  {
    // Delivery log retention: attempts older than 30 days (src/delivery/retention.ts).
    name: 'delivery log retention',
    run: async (env) => {
      const pruned = await pruneDeliveryLog(env);
      return pruned > 0 ? `removed ${pruned} attempts` : null;
    },
  },
];

/**
 * The Cron Trigger (every minute). Each job runs on its own: one that fails is logged and the
 * others still run; the invocation fails afterwards so the failure shows in Workers Logs.
 */
export async function handleScheduled(_controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
  const failed: string[] = [];
  for (const job of JOBS) {
    try {
      const summary = await job.run(env, ctx);
      if (summary) console.log(`${job.name}: ${summary}`);
    } catch (err) {
      failed.push(job.name);
      console.error(`${job.name} failed`, err instanceof Error ? err.stack ?? err.message : err);
    }
  }
  if (failed.length > 0) throw new Error(`scheduled jobs failed: ${failed.join(', ')}`);
}
