/**
 * The verifiable audit log's part of the scheduled job (every minute): append the new events'
 * leaves (bounded), re-hash one slice of the log against the latest checkpoint
 * (src/audit/integrity.ts), then sign a checkpoint if the log grew by more than checkpoint
 * events (src/audit/checkpoints.ts). A summary line, or null when nothing happened.
 */
import type { Env } from '../env';
import { appendPendingLeaves } from './log_builder';
import { checkIntegrity } from './integrity';
import { issueCheckpoint } from './checkpoints';

export async function runAuditLogJobs(env: Env, ctx: Pick<ExecutionContext, 'waitUntil'> | null): Promise<string | null> {
  const { appended, size } = await appendPendingLeaves(env);
  const check = await checkIntegrity(env, ctx);
  const outcome = await issueCheckpoint(env, ctx, { scheduled: true });
  const parts: string[] = [];
  if (appended > 0) parts.push(`appended ${appended} leaves (tree size ${size})`);
  if (check.failure) parts.push(`integrity failure: ${check.failure}`);
  if (outcome.kind === 'issued') parts.push(`signed checkpoint ${outcome.checkpoint.treeSize}`);
  if (outcome.kind === 'no_key' && appended > 0) parts.push('no checkpoint: AUDIT_LOG_SIGNING_KEY is not set');
  return parts.length > 0 ? parts.join('; ') : null;
}
