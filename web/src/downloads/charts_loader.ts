/**
 * The download charts, from the one lazily loaded charts bundle (/-/ui/charts.js, loaded by the
 * streams' loader; web/src/charts.ts includes downloads/chart.ts), so app.js stays small.
 */
import { loadCharts } from '../streams/charts_loader';
import type { DownloadChartsApi } from './chart';

export async function loadDownloadCharts(): Promise<DownloadChartsApi> {
  await loadCharts();
  const api = window.auditEventsDownloadCharts;
  if (!api) throw new Error('The charts script has no download charts.');
  return api;
}
