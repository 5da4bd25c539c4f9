/**
 * Tracked download counters (migration 0011): each link's `download_count`, its downloads per
 * UTC day (the release page's chart) and the instance's per UTC month (the admin figures).
 * They are written by the statements below, which the download buffer's flush commits in the
 * SAME transaction as the events they count (recordBufferedAuditEvents, src/audit/record.ts),
 * one UPDATE of each link and one upsert per (link, day) and per month, grouped per flush. They
 * count only the events the flush is about to store (a uuid already stored, from a repeated
 * flush, is not counted again), so they must run before the events' insert. Reads never scan
 * the audit log.
 */
import { EVENT_COLUMNS } from './audit_events';

/** The event type of a tracked download (GitLab's "Repository External Resource Download Started"). */
export const DOWNLOAD_EVENT_TYPE = 'release_external_artifact_download';

/** Positions of a buffered row ([uuid, ...EVENT_COLUMNS values], see bufferedEventStatements). */
const COLUMN = Object.fromEntries(EVENT_COLUMNS.split(',').map((c, i) => [c.trim(), i + 1])) as Record<string, number>;
const at = (name: string): string => `json_extract(value, '$[${COLUMN[name]}]')`;

/** SQL: the downloads of ?1 (buffered rows) not stored yet: (link_id, day). */
const FRESH = `WITH fresh AS MATERIALIZED (
  SELECT DISTINCT json_extract(value, '$[0]') AS uuid, ${at('target_id')} AS link_id, substr(${at('created_at')}, 1, 10) AS day
  FROM json_each(?1)
  WHERE ${at('event_type')} = '${DOWNLOAD_EVENT_TYPE}' AND ${at('target_type')} = 'Releases::Link'
    AND NOT EXISTS (SELECT 1 FROM audit_events e WHERE e.uuid = json_extract(value, '$[0]')))`;

/**
 * The counter statements of a flush (rows: [uuid, ...event row] as bufferedEventStatements takes
 * them), none when no row is a tracked download. To run right before the events' insert.
 */
export function downloadCountStatements(db: D1Database, rows: unknown[][]): D1PreparedStatement[] {
  if (!rows.some((r) => r[COLUMN.event_type] === DOWNLOAD_EVENT_TYPE)) return [];
  const json = JSON.stringify(rows);
  return [
    db
      .prepare(
        `${FRESH} UPDATE release_links SET download_count = download_count + c.n
         FROM (SELECT link_id, COUNT(*) AS n FROM fresh GROUP BY link_id) AS c WHERE release_links.id = c.link_id`,
      )
      .bind(json),
    db
      .prepare(
        `${FRESH} INSERT INTO release_link_download_days (link_id, day, downloads)
         SELECT f.link_id, f.day, COUNT(*) FROM fresh f JOIN release_links l ON l.id = f.link_id WHERE true GROUP BY f.link_id, f.day
         ON CONFLICT (link_id, day) DO UPDATE SET downloads = downloads + excluded.downloads`,
      )
      .bind(json),
    db
      .prepare(
        `${FRESH} INSERT INTO tracked_download_months (month, downloads)
         SELECT substr(day, 1, 7), COUNT(*) FROM fresh WHERE true GROUP BY substr(day, 1, 7)
         ON CONFLICT (month) DO UPDATE SET downloads = downloads + excluded.downloads`,
      )
      .bind(json),
  ];
}

/** Downloads of one link on one day. */
export interface LinkDownloadDay {
  linkId: number;
  day: string;
  downloads: number;
}

/** The daily downloads of links between two days (YYYY-MM-DD, both included): primary-key ranges. */
export async function linkDownloadDays(db: D1Database, linkIds: number[], from: string, to: string): Promise<LinkDownloadDay[]> {
  if (linkIds.length === 0) return [];
  const { results } = await db
    .prepare(
      `SELECT link_id, day, downloads FROM release_link_download_days
       WHERE link_id IN (SELECT value FROM json_each(?1)) AND day >= ?2 AND day <= ?3 ORDER BY link_id, day`,
    )
    .bind(JSON.stringify(linkIds), from, to)
    .all<{ link_id: number; day: string; downloads: number }>();
  return results.map((r) => ({ linkId: r.link_id, day: r.day, downloads: r.downloads }));
}

/** The instance's figures of one month. */
export interface InstanceMonth {
  month: string;
  auditCsvExports: number;
  trackedDownloads: number;
}

/**
 * Per month from `fromMonth` (YYYY-MM) on: CSV exports of the audit log (audit_events_exported
 * of format csv, not the verifier's JSON exports, through its partial index) and tracked downloads (the monthly counter). Months without either
 * are absent. One round trip.
 */
export async function instanceMonths(db: D1Database, fromMonth: string): Promise<InstanceMonth[]> {
  const [exports, downloads] = await db.batch([
    db
      .prepare(
        `SELECT substr(created_at, 1, 7) AS month, COUNT(*) AS n FROM audit_events INDEXED BY audit_events_exported_created
         WHERE event_type = 'audit_events_exported' AND created_at >= ?1 AND coalesce(json_extract(details, '$.format'), 'csv') = 'csv'
         GROUP BY substr(created_at, 1, 7)`,
      )
      .bind(`${fromMonth}-01`),
    db.prepare('SELECT month, downloads AS n FROM tracked_download_months WHERE month >= ?1').bind(fromMonth),
  ]);
  const months = new Map<string, InstanceMonth>();
  const of = (month: string) => months.get(month) ?? months.set(month, { month, auditCsvExports: 0, trackedDownloads: 0 }).get(month)!;
  for (const r of exports.results as { month: string; n: number }[]) of(r.month).auditCsvExports = r.n;
  for (const r of downloads.results as { month: string; n: number }[]) of(r.month).trackedDownloads = r.n;
  return [...months.values()].sort((a, b) => a.month.localeCompare(b.month));
}
