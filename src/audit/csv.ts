/**
 * The audit log as CSV (RFC 4180), streamed: rows are produced page by page while the client
 * reads, so a download of 100,000 events never holds more than one page in memory.
 * Cells are neutralised against formula injection per OWASP's "CSV Injection" guidance: every
 * cell is quoted, and a single quote is put before what a spreadsheet could evaluate, so that it
 * shows the text instead (see csvCell).
 */
import { streamingPayload, type AuditEvent } from './record';
import { toBase64 } from '../tlog/hash';
import { LEAF_VERSION, leafBytes } from '../tlog/leaf';
import { valueText } from './bounds';

/**
 * Signs a spreadsheet may read as the start of a formula: `=`, `+`, `-`, `@` (OWASP), `|` (DDE),
 * their full-width forms (U+FF1D, U+FF0B, U+FF0D, U+FF20, U+FF5C; which some spreadsheets read
 * as the ASCII signs), the small-form variants (U+FE66, U+FE62, U+FE63, U+FE6B) and the minus sign U+2212.
 */
const SIGN = '[=+\\-@|\\uFF1D\\uFF0B\\uFF0D\\uFF20\\uFF5C\\uFE66\\uFE62\\uFE63\\uFE6B\\u2212]';
/** What a spreadsheet may skip before a sign: whitespace, no-break and other Unicode spaces, control and format (zero-width) characters. */
const BLANK = '[\\s\\p{Z}\\p{Cc}\\p{Cf}]';
/** Where another locale's reader may start a field inside our cell: `;` and tab (other list separators) and line breaks. */
const SEPARATOR = '[;\\t\\r\\n]';
/** A cell a spreadsheet could evaluate: a tab or a line break first (OWASP), or a sign after any blanks. */
const FORMULA_AT_START = new RegExp(`^(?:[\\t\\r\\n]|${BLANK}*${SIGN})`, 'u');
/** A separator followed by a sign (after blanks that are not themselves separators): a field that could be evaluated once split there. */
const FORMULA_AFTER_SEPARATOR = new RegExp(`(${SEPARATOR})(?=(?:(?!${SEPARATOR})${BLANK})*${SIGN})`, 'gu');

/**
 * One cell: a single quote before the cell when it could start a formula, and after each `;`,
 * tab or line break that a formula follows (a spreadsheet set to split on them would otherwise
 * evaluate that part); then quoted, doubling quotes (RFC 4180 §2.5-2.7). Only quotes are added.
 */
export function csvCell(value: unknown): string {
  let s = value === null || value === undefined ? '' : typeof value === 'string' ? value : String(value);
  s = s.replace(FORMULA_AFTER_SEPARATOR, "$1'");
  if (FORMULA_AT_START.test(s)) s = `'${s}`;
  return `"${s.replace(/"/g, '""')}"`;
}

/** One record, CRLF-terminated (RFC 4180 §2.1). */
export function csvLine(cells: readonly unknown[]): string {
  return `${cells.map(csvCell).join(',')}\r\n`;
}

const present = (v: unknown): boolean => v !== undefined && v !== null && String(v) !== '';

/** "Changed <change> from <from> to <to>", dropping an empty side as GitLab's Audit::Details does. */
function changeText(change: unknown, from: unknown, to: unknown): string {
  const parts = [`Changed ${String(change)}`];
  if (present(from)) parts.push(`from ${valueText(from)}`);
  if (present(to)) parts.push(`to ${valueText(to)}`);
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

/**
 * The `Changes` cell: a JSON array of {"change","from","to"} (exact values, one per changed field),
 * or empty. `;` is written as the JSON escape `\u003b` (JSON already escapes tabs and line
 * breaks), so that csvCell finds no separator to neutralise inside it and the values stay exact.
 */
export function changesCell(details: Record<string, unknown> | null | undefined): string {
  const changes = recordedChanges(details);
  return changes.length === 0 ? '' : JSON.stringify(changes).replace(/;/g, '\\u003b');
}

/** created_at as UTC ISO 8601 (stored values already are; anything else is normalised if it parses). */
function utc(createdAt: string): string {
  const d = new Date(createdAt);
  return Number.isNaN(d.getTime()) ? createdAt : d.toISOString();
}

/** "<target type> <target id>" when an event names no target details. */
function targetText(e: AuditEvent): string {
  return e.targetDetails ?? (e.targetType ? `${e.targetType}${e.targetId !== null ? ` ${e.targetId}` : ''}` : '');
}

/**
 * The columns, in the order of GitLab's audit events page (Author, Action, Target, At) plus ours;
 * `Changes` (added by issue 15): what the event changed, see changesCell. A new column is one
 * entry here (header and cell together); every cell goes through csvCell.
 */
const COLUMNS: readonly { header: string; cell: (e: AuditEvent) => string }[] = [
  { header: 'Author', cell: (e) => e.authorName },
  { header: 'Action', cell: actionText },
  { header: 'Target', cell: targetText },
  { header: 'Entity', cell: (e) => e.entityPath ?? '' },
  { header: 'Event type', cell: (e) => e.eventType },
  { header: 'IP', cell: (e) => e.ipAddress ?? '' },
  { header: 'At', cell: (e) => utc(e.createdAt) },
  { header: 'Changes', cell: (e) => changesCell(e.details) },
  // The base64 of the event's leaf in the verifiable log (the RFC 8785 form of its streaming
  // payload), which the auditors' verifier checks; base64 of a JSON object starts "eyJ", so
  // formula neutralising never changes it.
  { header: 'leaf', cell: (e) => toBase64(leafBytes(streamingPayload(e), LEAF_VERSION)) },
];

/** The header row. */
export const CSV_HEADER: readonly string[] = COLUMNS.map((c) => c.header);

/** The CSV cells of one event. */
export function csvRow(e: AuditEvent): string[] {
  return COLUMNS.map((c) => c.cell(e));
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
