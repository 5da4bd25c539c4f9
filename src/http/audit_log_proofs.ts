/**
 * The verifiable audit log's API (issue 18):
 *   GET  /-/audit-log/verifier-key                               no authentication (text/plain)
 *   GET  /api/v4/audit_events/checkpoint[?tree_size=N]           any signed-in user (text/plain signed note)
 *   POST /api/v4/audit_events/checkpoint                         administrators: issue one now
 *   POST /api/v4/audit_events/integrity/acknowledge              administrators
 *   GET  /api/v4/audit_events/:id/inclusion_proof[?tree_size=N]  whoever may read the event
 *   GET  /api/v4/audit_events/inclusion_proofs?ids=1,2&tree_size=N   the same, up to 100 ids
 *   GET  /api/v4/audit_events/consistency_proof?first=M&second=N any signed-in user
 * Hashes are standard base64 with padding; `tree_size` defaults to the latest checkpoint's.
 */
import type { IRequest } from 'itty-router';
import type { Env } from '../env';
import { authorOf, clientIp } from '../audit/record';
import { appendPendingLeaves } from '../audit/log_builder';
import { issueCheckpoint } from '../audit/checkpoints';
import { acknowledgeIntegrityFailure } from '../audit/integrity';
import { logVerifierKey } from '../audit/log_signing';
import { consistencyProof, inclusionProofs, ProofError, proofTreeSize, type InclusionProof } from '../audit/proofs';
import { checkpointOfSize, integrityBlocked, latestCheckpoint, readIntegrityState } from '../db/audit_log_checkpoints';
import { ApiError, badRequestMessage, conflict, json, notFound } from '../web/errors';
import { param, type ApiRouter, type App } from './context';
import { requireAllowed } from './access';

/** The path of the log's note verifier key. */
export const VERIFIER_KEY_PATH = '/-/audit-log/verifier-key';

/** Most ids per inclusion_proofs request. */
export const MAX_PROOF_IDS = 100;

const TEXT = { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' };

/** GET /-/audit-log/verifier-key: the verifier key, one line; null for any other request. */
export async function handleVerifierKey(request: Request, env: Env, pathname: string): Promise<Response | null> {
  if (pathname !== VERIFIER_KEY_PATH || !['GET', 'HEAD'].includes(request.method)) return null;
  const key = await logVerifierKey(env);
  if (!key) return json({ message: '404 Audit log signing key Not Found' }, 404);
  return new Response(request.method === 'HEAD' ? null : `${key}\n`, { status: 200, headers: TEXT });
}

/** A size parameter: absent (undefined) or a whole number; anything else is 400. */
function sizeParam(request: IRequest, name: string): number | undefined {
  const raw = new URL(request.url).searchParams.get(name);
  if (raw === null || raw === '') return undefined;
  if (!/^\d{1,15}$/.test(raw)) throw badRequestMessage(`${name} must be a whole number`);
  return Number(raw);
}

/** The API's answer to a ProofError (anything else propagates). */
function asApiError(err: unknown): unknown {
  if (!(err instanceof ProofError)) return err;
  return err.kind === 'not_found' ? notFound(err.message) : badRequestMessage(err.message);
}

async function proofCall<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw asApiError(err);
  }
}

function proofJson(p: InclusionProof): Record<string, unknown> {
  return { leaf_index: p.leafIndex, tree_size: p.treeSize, leaf_hash: p.leafHash, hashes: p.hashes };
}

/** The ids of inclusion_proofs: 1 to 100 comma-separated whole numbers (repeats count once). */
function idsParam(request: IRequest): number[] {
  const raw = new URL(request.url).searchParams.get('ids');
  if (raw === null || raw.trim() === '') throw badRequestMessage('ids is missing');
  const parts = raw.split(',').map((s) => s.trim());
  if (parts.some((s) => !/^\d{1,15}$/.test(s))) throw badRequestMessage('ids must be comma-separated audit event ids');
  const ids = [...new Set(parts.map(Number))];
  if (ids.length > MAX_PROOF_IDS) throw badRequestMessage(`ids has more than ${MAX_PROOF_IDS} values`);
  return ids;
}

async function issueNow(request: IRequest, app: App): Promise<Response> {
  const actor = await requireAllowed(app, 'admin_audit_log');
  await appendPendingLeaves(app.env);
  const outcome = await issueCheckpoint(app.env, app.ctx, { scheduled: false, requestedBy: authorOf(actor.user), ipAddress: clientIp(request) });
  switch (outcome.kind) {
    case 'issued':
      return new Response(outcome.checkpoint.note, { status: 201, headers: TEXT });
    case 'current':
      if (!outcome.checkpoint) throw badRequestMessage('the audit log is empty');
      return new Response(outcome.checkpoint.note, { status: 200, headers: TEXT });
    case 'blocked':
      throw conflict(`409 Conflict - an audit log integrity failure waits for acknowledgement: ${outcome.failure}`);
    case 'no_key':
      throw new ApiError(503, { message: '503 Service Unavailable - AUDIT_LOG_SIGNING_KEY is not configured' });
  }
}

/** Register the routes under /api/v4 (before the audit log's `/audit_events/:id`). */
export function registerAuditLogProofRoutes(router: ApiRouter): void {
  router.get('/audit_events/checkpoint', async (request, app) => {
    await requireAllowed(app, 'read_audit_log_checkpoints');
    const size = sizeParam(request, 'tree_size');
    const checkpoint = size === undefined ? await latestCheckpoint(app.env.DB) : await checkpointOfSize(app.env.DB, size);
    if (!checkpoint) throw notFound('Checkpoint');
    return new Response(checkpoint.note, { status: 200, headers: TEXT });
  });
  router.post('/audit_events/checkpoint', issueNow);

  router.post('/audit_events/integrity/acknowledge', async (request, app) => {
    const actor = await requireAllowed(app, 'admin_audit_log');
    const before = await readIntegrityState(app.env.DB);
    const s = await acknowledgeIntegrityFailure(app.env, app.ctx, authorOf(actor.user), clientIp(request));
    if (integrityBlocked(before)) {
      // Checks resume from a checkpoint of the tree as stored now (see issueCheckpoint's `acknowledged`).
      await appendPendingLeaves(app.env);
      await issueCheckpoint(app.env, app.ctx, { scheduled: false, requestedBy: authorOf(actor.user), ipAddress: clientIp(request), acknowledged: true });
    }
    return json({ failed_at: s.failedAt, failure: s.failure, acknowledged_by: s.acknowledgedBy, acknowledged_at: s.acknowledgedAt });
  });

  router.get('/audit_events/consistency_proof', async (request, app) => {
    await requireAllowed(app, 'read_audit_log_checkpoints');
    const first = sizeParam(request, 'first');
    if (first === undefined) throw badRequestMessage('first is missing');
    const requested = sizeParam(request, 'second');
    return proofCall(async () => {
      const second = await proofTreeSize(app.env.DB, requested);
      return json({ first, second, hashes: await consistencyProof(app.env, first, second) });
    });
  });

  router.get('/audit_events/inclusion_proofs', async (request, app) => {
    await requireAllowed(app, 'use_api');
    const ids = idsParam(request);
    const requested = sizeParam(request, 'tree_size');
    return proofCall(async () => {
      const proofs = await inclusionProofs(app.env, app.actor, ids, requested);
      return json(proofs.map((p) => ({ id: p.id, ...proofJson(p) })));
    });
  });

  router.get('/audit_events/:id/inclusion_proof', async (request, app) => {
    await requireAllowed(app, 'use_api');
    const raw = param(request, 'id');
    if (!/^\d{1,15}$/.test(raw)) throw badRequestMessage('id must be an audit event id');
    const requested = sizeParam(request, 'tree_size');
    return proofCall(async () => {
      const [proof] = await inclusionProofs(app.env, app.actor, [Number(raw)], requested);
      return json(proofJson(proof));
    });
  });
}
