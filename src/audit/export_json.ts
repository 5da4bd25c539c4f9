/**
 * The audit log as a JSON export (issue 18): an array of `{ "id", "leaf_version", "payload" }`,
 * each payload the exact streaming payload an HTTP destination receives for the event, so that
 * the auditors' verifier (scripts/verify-audit-log.mjs) can recompute its leaf in the verifiable
 * log. Streamed page by page as the CSV export is (src/audit/csv.ts): memory stays flat.
 */
import type { PageReader } from './csv';
import { streamingPayload, type AuditEvent } from './record';
import { LEAF_VERSION } from '../tlog/leaf';

/** One element of the JSON export. */
export function exportItem(e: AuditEvent): Record<string, unknown> {
  return { id: e.id, leaf_version: LEAF_VERSION, payload: streamingPayload(e) };
}

/** The export's text in pieces: "[", then one piece per page of events, then "]". */
async function* exportPieces(readPage: PageReader): AsyncGenerator<string> {
  yield '[';
  let cursor: number | undefined;
  let separator = '';
  for (;;) {
    const { events, hasMore } = await readPage(cursor);
    if (events.length > 0) {
      cursor = events[events.length - 1].id;
      yield separator + events.map((e) => JSON.stringify(exportItem(e))).join(',');
      separator = ',';
    }
    if (!hasMore || events.length === 0) break;
  }
  yield ']\n';
}

/**
 * A stream of the JSON export; the next page is queried only when the consumer has taken the
 * previous one (backpressure). A failure after the first byte aborts the body, so the client
 * sees a broken download rather than a truncated array that still parses.
 */
export function auditJsonStream(readPage: PageReader): ReadableStream<Uint8Array> {
  const pieces = exportPieces(readPage);
  const encoder = new TextEncoder();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const next = await pieces.next();
          if (next.done) controller.close();
          else controller.enqueue(encoder.encode(next.value));
        } catch (err) {
          console.error('audit JSON export failed', err instanceof Error ? err.message : err);
          controller.error(new Error('audit log export failed'));
        }
      },
    },
    { highWaterMark: 0 },
  );
}
