/**
 * The charts bundle, /-/ui/charts.js (built minified by scripts/build-web.mjs): uPlot and the
 * delivery charts, fetched only when a delivery log first opens (streams/charts_loader.ts), so
 * that app.js stays small.
 */
import { renderDeliveryCharts } from './streams/chart';
import type { ChartsApi } from './streams/charts_loader';
// The download charts (release and admin pages) ride in the same bundle: downloads/chart.ts.
import './downloads/chart';

const api: ChartsApi = { renderDeliveryCharts };
window.auditEventsCharts = api;
