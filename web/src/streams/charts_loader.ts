/**
 * Loads the charts bundle (/-/ui/charts.js: uPlot and streams/chart.ts) once, on first use, with
 * a `<script>` from our own origin (what the CSP's `script-src 'self'` allows).
 */
import { h } from '../dom';
import type { renderDeliveryCharts } from './chart';

export interface ChartsApi {
  renderDeliveryCharts: typeof renderDeliveryCharts;
}

declare global {
  interface Window {
    /** Set by /-/ui/charts.js when it runs. */
    auditEventsCharts?: ChartsApi;
  }
}

export const CHARTS_JS = '/-/ui/charts.js';

let loading: Promise<ChartsApi> | null = null;

export function loadCharts(): Promise<ChartsApi> {
  if (window.auditEventsCharts) return Promise.resolve(window.auditEventsCharts);
  loading ??= new Promise<ChartsApi>((resolve, reject) => {
    const script = h('script', { src: CHARTS_JS });
    script.addEventListener('load', () => (window.auditEventsCharts ? resolve(window.auditEventsCharts) : reject(new Error('The charts script did not start.'))));
    script.addEventListener('error', () => {
      loading = null;
      script.remove();
      reject(new Error('The charts script could not be loaded.'));
    });
    document.head.appendChild(script);
  });
  return loading;
}
