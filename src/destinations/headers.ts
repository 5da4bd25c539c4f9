/**
 * Custom HTTP headers of streaming destinations (GitLab's AuditEvents::Streaming::Headers
 * services): at most 20 per destination, keys unique per destination. Each change commits in one
 * D1 transaction together with its audit event; header values never go into one.
 */
import {
  countHeaders,
  deleteHeaderStatement,
  findHeader,
  findHeaderByKey,
  insertHeaderStatement,
  isUniqueViolation,
  updateHeaderStatement,
  type StreamingHeader,
} from '../db/destinations';
import { recordAuditEvent, recordAuditEventIfChanged } from '../audit/record';
import type { Owned, OwnedHeader } from './access';
import { destinationEvent, EVENT_TYPES, type ChangeContext } from './audit';
import { DESTINATION_LIMITS, headerErrors } from './rules';

/** A header after a change (the unchanged one, or null, when refused), and why refused. */
export interface HeaderResult {
  header: StreamingHeader | null;
  errors: string[];
}

const KEY_TAKEN = 'Key has already been taken';

/** GitLab's message for a destination's header limit. */
function headersLimitError(): string {
  return `Headers are limited to ${DESTINATION_LIMITS.headersPerDestination} per destination`;
}

/** Add a custom header to a destination. */
export async function createHeader(c: ChangeContext, owned: Owned, args: { key: string; value: string; active?: boolean | null }): Promise<HeaderResult> {
  const d = owned.destination;
  const errors = headerErrors(args.key, args.value);
  if ((await countHeaders(c.env.DB, d.id)) >= DESTINATION_LIMITS.headersPerDestination) errors.push(headersLimitError());
  if (errors.length === 0 && (await findHeaderByKey(c.env.DB, d.id, args.key))) errors.push(KEY_TAKEN);
  if (errors.length) return { header: null, errors };
  try {
    const event = await recordAuditEventIfChanged(
      c.env,
      c.ctx,
      destinationEvent(c, owned, EVENT_TYPES[d.scope].headerCreate, `Created custom HTTP header with key ${args.key}.`),
      insertHeaderStatement(c.env.DB, { destinationId: d.id, key: args.key, value: args.value, active: args.active ?? true }, DESTINATION_LIMITS.headersPerDestination),
    );
    // Another create took the last place between the count above and the insert.
    if (!event) return { header: null, errors: [headersLimitError()] };
  } catch (err) {
    if (isUniqueViolation(err)) return { header: null, errors: [KEY_TAKEN] };
    throw err;
  }
  return { header: await findHeaderByKey(c.env.DB, d.id, args.key), errors: [] };
}

/** Change a custom header's key, value or active flag. */
export async function updateHeader(
  c: ChangeContext,
  owned: OwnedHeader,
  args: { key?: string | null; value?: string | null; active?: boolean | null },
): Promise<HeaderResult> {
  const h = owned.header;
  const next = { id: h.id, key: args.key ?? h.key, value: args.value ?? h.value, active: args.active ?? h.active };
  const errors = headerErrors(next.key, next.value);
  if (errors.length === 0 && next.key.toLowerCase() !== h.key.toLowerCase()) {
    const other = await findHeaderByKey(c.env.DB, h.destinationId, next.key);
    if (other && other.id !== h.id) errors.push(KEY_TAKEN);
  }
  if (errors.length) return { header: h, errors };
  if (next.key === h.key && next.value === h.value && next.active === h.active) return { header: h, errors: [] };
  const changed = [next.key !== h.key && 'key', next.value !== h.value && 'value', next.active !== h.active && 'active'].filter(Boolean);
  const message =
    next.key !== h.key
      ? `Updated a custom HTTP header from key ${h.key} to have a key ${next.key}.`
      : `Updated custom HTTP header with key ${h.key}.`;
  try {
    await recordAuditEvent(c.env, c.ctx, destinationEvent(c, owned, EVENT_TYPES[owned.destination.scope].headerUpdate, message, { changed_attributes: changed }), [
      updateHeaderStatement(c.env.DB, next),
    ]);
  } catch (err) {
    if (isUniqueViolation(err)) return { header: h, errors: [KEY_TAKEN] };
    throw err;
  }
  return { header: await findHeader(c.env.DB, h.id), errors: [] };
}

/** Remove a custom header. */
export async function destroyHeader(c: ChangeContext, owned: OwnedHeader): Promise<void> {
  await recordAuditEvent(
    c.env,
    c.ctx,
    destinationEvent(c, owned, EVENT_TYPES[owned.destination.scope].headerDestroy, `Destroyed a custom HTTP header with key ${owned.header.key}.`),
    [deleteHeaderStatement(c.env.DB, owned.header.id)],
  );
}
