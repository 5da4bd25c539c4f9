/**
 * The stylesheet of the log and streams views (/-/ui/views.css: web/views.css with uPlot's
 * stylesheet, bundled by scripts/build-web.mjs), linked once, when a view first renders. A
 * `<link>` to our own origin is what the CSP's `style-src 'self'` allows.
 */
import { h } from './dom';

export const VIEWS_CSS = '/-/ui/views.css';

export function useViewStyles(): void {
  if (document.querySelector(`link[href="${VIEWS_CSS}"]`)) return;
  document.head.appendChild(h('link', { rel: 'stylesheet', href: VIEWS_CSS }));
}
