/**
 * `GET /admin/audit_events/stats?months=12` (ours, not in GitLab): the instance's figures per
 * UTC month, the oldest first, the current month last: CSV exports of the audit log (every
 * export is audited as `audit_events_exported`; counted through a partial index of those events
 * alone, so months older than the audit log's retention, or moved to the cold archive, count none:
 * the archive's counts have no month, and decoding every chunk of two years per request is out of
 * the Worker's budget) and tracked downloads (a
 * monthly counter kept in the download flush's transaction). Administrators only.
 */
import { instanceMonths } from '../db/download_counts';
import type { ApiRouter } from './context';
import { badRequestMessage, json } from '../web/errors';
import { requireAllowed } from './access';

/** Months a request may ask for. */
export const MAX_STATS_MONTHS = 24;
const DEFAULT_STATS_MONTHS = 12;

/** The month (YYYY-MM) `n` months before the one of `now`. */
function monthsBefore(now: Date, n: number): string {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - n, 1)).toISOString().slice(0, 7);
}

function monthsParam(url: URL): number {
  const raw = url.searchParams.get('months');
  if (raw === null || raw === '') return DEFAULT_STATS_MONTHS;
  const n = /^\d{1,3}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= MAX_STATS_MONTHS)) throw badRequestMessage(`months must be an integer from 1 to ${MAX_STATS_MONTHS}`);
  return n;
}

export function registerAdminStatsRoutes(router: ApiRouter): void {
  router.get('/admin/audit_events/stats', async (request, app) => {
    await requireAllowed(app, 'read_instance_audit_events');
    const months = monthsParam(new URL(request.url));
    const now = new Date();
    const found = new Map((await instanceMonths(app.env.DB, monthsBefore(now, months - 1))).map((m) => [m.month, m]));
    return json({
      months: Array.from({ length: months }, (_, i) => {
        const month = monthsBefore(now, months - 1 - i);
        const m = found.get(month);
        return { month, audit_csv_exports: m?.auditCsvExports ?? 0, tracked_downloads: m?.trackedDownloads ?? 0 };
      }),
    });
  });
}
