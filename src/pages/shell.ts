/**
 * The HTML shell of every page: landmarks, the sign-in state area, and the data the client
 * script needs (which page, which group or project, the event type catalogue). No inline
 * script or style (the Content-Security-Policy forbids them); everything else is built by
 * /-/ui/app.js with DOM APIs and textContent.
 */
import { AUDIT_EVENT_TYPES } from '../audit/catalogue';
import type { PageRoute } from './routes';

/** Escape text for an HTML text node or a double-quoted attribute value. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function titleOf(route: PageRoute): string {
  switch (route.kind) {
    case 'sign_in':
      return 'Sign in';
    case 'group_audit_events':
      return `Audit events · ${route.fullPath}`;
    case 'project_audit_events':
      return `Audit events · ${route.fullPath}`;
    case 'admin_audit_events':
      return 'Audit events · Admin area';
    case 'project_releases':
      return `Releases · ${route.fullPath}`;
  }
}

/** The full HTML document for a page route; asset URLs carry a content hash for cache busting. */
export function renderShell(route: PageRoute, assets: { css: string; js: string }): string {
  const fullPath = 'fullPath' in route ? route.fullPath : '';
  const options = AUDIT_EVENT_TYPES.map((t) => `<option value="${escapeHtml(t.name)}"></option>`).join('');
  const title = escapeHtml(titleOf(route));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="stylesheet" href="${escapeHtml(assets.css)}">
<script src="${escapeHtml(assets.js)}" defer></script>
</head>
<body data-page="${escapeHtml(route.kind)}" data-full-path="${escapeHtml(fullPath)}">
<a class="skip-link" href="#main">Skip to content</a>
<header class="top" role="banner">
<a class="brand" href="/-/sign_in">Audit events</a>
<nav aria-label="Account" id="account"></nav>
</header>
<main id="main" tabindex="-1">
<h1 id="page-title">${title}</h1>
<noscript><p>These pages need JavaScript; the same data is available from the REST and GraphQL APIs.</p></noscript>
<div id="app"></div>
</main>
<datalist id="event-types">${options}</datalist>
</body>
</html>
`;
}
