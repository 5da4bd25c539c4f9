/**
 * Who signs the audit log's checkpoints: the origin line (EXTERNAL_URL's host and `/audit-log`),
 * the Ed25519 key from the secret AUDIT_LOG_SIGNING_KEY (base64 of the 32-byte seed), the note
 * verifier key published at GET /-/audit-log/verifier-key, and reading back the root a kept
 * checkpoint signed. Also the audit events the log records about itself, and their author.
 */
import type { Env } from '../env';
import { fromBase64, type Bytes } from '../tlog/hash';
import { verifierKeyFromSeed, verifyNote } from '../tlog/note';
import { parseCheckpoint } from '../tlog/checkpoint';
import type { StoredCheckpoint } from '../db/audit_log_checkpoints';

/** The checkpoint's own audit event: streamed to instance destinations, so an outside system witnesses every checkpoint. */
export const CHECKPOINT_EVENT = 'audit_log_checkpoint_issued';
/** The integrity check found the stored log no longer matching its signed checkpoints. */
export const INTEGRITY_FAILURE_EVENT = 'audit_log_integrity_failure';
/** An administrator acknowledged an integrity failure: checkpoints resume. */
export const INTEGRITY_ACKNOWLEDGED_EVENT = 'audit_log_integrity_acknowledged';

/** The author of the events the log records about itself (not a user: GitLab's id -1 convention). */
export const LOG_AUTHOR = { id: -1, name: 'Audit log' } as const;

/** The origin when EXTERNAL_URL is unset (the local server's default address). */
export const DEFAULT_ORIGIN = '127.0.0.1:8787/audit-log';

/** The checkpoints' origin line: EXTERNAL_URL's host (with its port, if any) followed by `/audit-log`. */
export function logOrigin(env: Pick<Env, 'EXTERNAL_URL'>): string {
  const raw = (env.EXTERNAL_URL ?? '').trim();
  if (raw === '') return DEFAULT_ORIGIN;
  try {
    return `${new URL(raw).host}/audit-log`;
  } catch {
    return DEFAULT_ORIGIN;
  }
}

/** The 32-byte Ed25519 seed of AUDIT_LOG_SIGNING_KEY; null when it is unset or not the base64 of 32 bytes. */
export function signingSeed(env: Pick<Env, 'AUDIT_LOG_SIGNING_KEY'>): Bytes | null {
  const seed = fromBase64((env.AUDIT_LOG_SIGNING_KEY ?? '').trim());
  return seed && seed.length === 32 ? seed : null;
}

/** The note verifier key of the log (`<origin>+<key id>+<base64 of 0x01 || public key>`), or null without a usable key. */
export async function logVerifierKey(env: Pick<Env, 'AUDIT_LOG_SIGNING_KEY' | 'EXTERNAL_URL'>): Promise<string | null> {
  const seed = signingSeed(env);
  return seed ? verifierKeyFromSeed(logOrigin(env), seed) : null;
}

/**
 * The root hash a kept checkpoint signed, read from its note after verifying the signature with
 * the log's key (not from the stored root_hash column, which whoever edits the table could
 * change along with the tree). An error when the note does not verify or is not a checkpoint
 * of that size.
 */
export async function signedRoot(verifierKey: string, checkpoint: StoredCheckpoint): Promise<Bytes | { error: string }> {
  const verified = await verifyNote(checkpoint.note, verifierKey);
  if ('error' in verified) return { error: `checkpoint ${checkpoint.treeSize}: ${verified.error}` };
  const body = parseCheckpoint(verified.text);
  if ('error' in body) return { error: `checkpoint ${checkpoint.treeSize}: ${body.error}` };
  if (body.size !== checkpoint.treeSize) return { error: `checkpoint ${checkpoint.treeSize} signs tree size ${body.size}` };
  return body.rootHash;
}
