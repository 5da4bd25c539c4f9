/**
 * Downloads over time (ours; GitLab has no download counts): per UTC day, per link of a release,
 * from the daily counters the download buffer's flush keeps (src/db/download_counts.ts). A window
 * is at most MAX_WINDOW_DAYS days, read by primary-key ranges; the audit log is never scanned.
 */
import { linkDownloadDays } from '../db/download_counts';
import type { Release } from '../db/releases';

/** The longest window the chart may ask for (days, both ends included). */
export const MAX_WINDOW_DAYS = 90;
/** The window when none is given: the last 30 days, today included. */
export const DEFAULT_WINDOW_DAYS = 30;

const DAY_MS = 86_400_000;

/** A day (YYYY-MM-DD) `n` days after another. */
export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
}

/** Days from `from` to `to`, both included (YYYY-MM-DD). */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / DAY_MS) + 1;
}

/** One link's downloads per day of the window (every day present, 0 when none). */
export interface LinkDownloadSeries {
  id: number;
  name: string;
  downloadCount: number;
  days: { date: string; count: number }[];
}

/** The daily downloads of each link of a release between two days (valid, at most MAX_WINDOW_DAYS apart). */
export async function releaseDownloadSeries(db: D1Database, release: Release, from: string, to: string): Promise<LinkDownloadSeries[]> {
  const rows = await linkDownloadDays(db, release.links.map((l) => l.id), from, to);
  const counts = new Map(rows.map((r) => [`${r.linkId}/${r.day}`, r.downloads]));
  const dates = Array.from({ length: daysBetween(from, to) }, (_, i) => addDays(from, i));
  return release.links.map((l) => ({
    id: l.id,
    name: l.name,
    downloadCount: l.downloadCount,
    days: dates.map((date) => ({ date, count: counts.get(`${l.id}/${date}`) ?? 0 })),
  }));
}
