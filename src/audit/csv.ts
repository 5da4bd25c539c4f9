/**
 * The audit log as CSV (RFC 4180), streamed: rows are produced page by page while the client
 * reads, so a download of 100,000 events never holds more than one page in memory.
 * Cells are neutralised against formula injection (OWASP "CSV injection"): a cell starting
 * with =, +, -, @, a tab or a carriage return is prefixed with a single quote, so that a
 * spreadsheet shows the text instead of evaluating it.
 */
import { streamingPayload, type AuditEvent } from './record';
import { toBase64 } from '../tlog/hash';
import { LEAF_VERSION, leafBytes } from '../tlog/leaf';

/**
 * The columns, in the order of GitLab's audit events page (Author, Action, Target, At) plus ours;
 * `Changes` (added by issue 15): what the event changed, see changesCell; `leaf` (last, issue
 * 18): the base64 of the event's leaf in the verifiable log (the RFC 8785 form of its streaming
 * payload), which the auditors' verifier checks; base64 of a JSON object starts "eyJ", so
 * formula neutralising never changes it.
 */
export const CSV_HEADER = ['Author', 'Action', 'Target', 'Entity', 'Event type', 'IP', 'At', 'Changes', 'leaf'] as const;

const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/** One cell: neutralised, then quoted when it holds a quote, comma or line break (RFC 4180 §2). */
export function csvCell(value: unknown): string {
  let s = value === null || value === undefined ? '' : typeof value === 'string' ? value : String(value);
  if (FORMULA_START.test(s)) s = `'${s}`;
  return NEEDS_QUOTES.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** One record, CRLF-terminated (RFC 4180 §2.1). */
export function csvLine(cells: readonly unknown[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}

const present = (v: unknown): boolean => v !== undefined && v !== null && String(v) !== '';

/** "Changed <change> from <from> to <to>", dropping an empty side as GitLab's Audit::Details does. */
function changeText(change: unknown, from: unknown, to: unknown): string {
  const parts = [`Changed ${String(change)}`];
  if (present(from)) parts.push(`from ${String(from)}`);
  if (present(to)) parts.push(`to ${String(to)}`);
  return parts.join(' ');
}

/**
 * The "Action" of an event as GitLab's audit page words it: the custom message; or the change
 * text; or "Added <x>" / "Removed <x>"; otherwise the event type.
 */
export function actionText(event: Pick<AuditEvent, 'details' | 'eventType'>): string {
  const d = event.details ?? {};
  if (present(d.custom_message)) return String(d.custom_message);
  if (present(d.change)) return changeText(d.change, d.from, d.to);
  if (Array.isArray(d.changes) && d.changes.length > 0) {
    const texts = d.changes
      .filter((c): c is Record<string, unknown> => !!c && typeof c === 'object' && present((c as Record<string, unknown>).change))
      .map((c) => changeText(c.change, c.from, c.to));
    if (texts.length > 0) return texts.join('; ');
  }
  if (present(d.add)) return `Added ${String(d.add)}${present(d.as) ? ` as ${String(d.as)}` : ''}`;
  if (present(d.remove)) return `Removed ${String(d.remove)}`;
  return event.eventType;
}

/** One change an event records: the field (GitLab's `change`, our releases' `field`), its old and new value. */
export interface RecordedChange {
  change: string;
  from: unknown;
  to: unknown;
}

/**
 * What an event changed, from its details: GitLab's single `change`/`from`/`to`, or a `changes`
 * list (items naming the field as `change` or `field`). Empty when it records none.
 */
export function recordedChanges(details: Record<string, unknown> | null | undefined): RecordedChange[] {
  const d = details ?? {};
  if (present(d.change)) return [{ change: String(d.change), from: d.from ?? null, to: d.to ?? null }];
  if (!Array.isArray(d.changes)) return [];
  return d.changes
    .filter((c): c is Record<string, unknown> => !!c && typeof c === 'object' && (present(c.change) || present(c.field)))
    .map((c) => ({ change: String(present(c.change) ? c.change : c.field), from: c.from ?? null, to: c.to ?? null }));
}

/** The `Changes` cell: a JSON array of {"change","from","to"} (exact values, one per changed field), or empty. */
export function changesCell(details: Record<string, unknown> | null | undefined): string {
  const changes = recordedChanges(details);
  return changes.length === 0 ? '' : JSON.stringify(changes);
}

/** created_at as UTC ISO 8601 (stored values already are; anything else is normalised if it parses). */
function utc(createdAt: string): string {
  const d = new Date(createdAt);
  return Number.isNaN(d.getTime()) ? createdAt : d.toISOString();
}

/** The CSV cells of one event. */
export function csvRow(e: AuditEvent): string[] {
  const target = e.targetDetails ?? (e.targetType ? `${e.targetType}${e.targetId !== null ? ` ${e.targetId}` : ''}` : '');
  return [
    e.authorName,
    actionText(e),
    target,
    e.entityPath ?? '',
    e.eventType,
    e.ipAddress ?? '',
    utc(e.createdAt),
    changesCell(e.details),
    toBase64(leafBytes(streamingPayload(e), LEAF_VERSION)),
  ];
}

/** Reads one page of events after a cursor (the id of the last event already written). */
export type PageReader = (afterId: number | undefined) => Promise<{ events: AuditEvent[]; hasMore: boolean }>;

/**
 * A stream of the header row and then every event, one page per pull: the next page is only
 * queried when the consumer has taken the previous one (backpressure), so memory stays flat.
 */
export function auditCsvStream(readPage: PageReader): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let headerSent = false;
  let cursor: number | undefined;
  let done = false;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!headerSent) {
          headerSent = true;
          controller.enqueue(encoder.encode(csvLine(CSV_HEADER)));
          return;
        }
        if (done) {
          controller.close();
          return;
        }
        try {
          const { events, hasMore } = await readPage(cursor);
          if (events.length > 0) {
            cursor = events[events.length - 1].id;
            controller.enqueue(encoder.encode(events.map((e) => csvLine(csvRow(e))).join('')));
          }
          if (!hasMore || events.length === 0) {
            done = true;
            controller.close();
          }
        } catch (err) {
          // The status line is already sent; abort the body so the client sees a broken download
          // rather than a silently truncated file. The cause stays in the log.
          console.error('audit CSV export failed', err instanceof Error ? err.message : err);
          controller.error(new Error('audit log export failed'));
        }
      },
    },
    { highWaterMark: 0 },
  );
}
