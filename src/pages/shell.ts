/**
 * The HTML shell of every page: landmarks, the sign-in state area, and the data the client
 * script needs (which page, which group, project or release, the event type catalogue). No
 * inline script or style (the Content-Security-Policy forbids them); everything else is built
 * by /-/ui/app.js (web/src/) with DOM APIs and textContent.
 */
import { AUDIT_EVENT_TYPES } from '../audit/catalogue';
import { pageData, titleOf, type PageRoute } from './routes';

/** Escape text for an HTML text node or a double-quoted attribute value. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The client's files (public/-/ui/, built by scripts/build-web.mjs; revalidated by ETag). */
const CSS = '/-/ui/app.css';
const JS = '/-/ui/app.js';

function htmlDocument(title: string, bodyAttributes: string, main: string, tail = ''): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="/favicon.ico">
<link rel="stylesheet" href="${CSS}">
<script src="${JS}" defer></script>
</head>
<body ${bodyAttributes}>
<a class="skip-link" href="#main">Skip to content</a>
<header class="top" role="banner">
<a class="brand" href="/">Audit events</a>
<nav aria-label="Account" id="account"></nav>
</header>
<main id="main" tabindex="-1">
${main}
</main>
${tail}</body>
</html>
`;
}

/** The full HTML document for a page route. */
export function renderShell(route: PageRoute, extra: Record<string, string> = {}): string {
  const title = titleOf(route);
  const data = Object.entries({ ...pageData(route), ...extra })
    .map(([k, v]) => ` data-${k}="${escapeHtml(v)}"`)
    .join('');
  const options = AUDIT_EVENT_TYPES.map((t) => `<option value="${escapeHtml(t.name)}" label="${escapeHtml(t.description)}" data-category="${escapeHtml(t.feature_category)}"></option>`).join('');
  return htmlDocument(
    title,
    `data-page="${escapeHtml(route.kind)}"${data}`,
    `<nav aria-label="Breadcrumb" id="breadcrumbs"></nav>
<h1 id="page-title">${escapeHtml(title)}</h1>
<noscript><p>These pages need JavaScript; the same data is available from the REST and GraphQL APIs.</p></noscript>
<div id="app"></div>`,
    `<datalist id="event-types">${options}</datalist>\n`,
  );
}

/** The 404 page of every path that names nothing (or a group, project, user or release that does not exist). */
export function renderNotFound(): string {
  return htmlDocument(
    '404 Page Not Found',
    'data-page="not_found"',
    `<h1 id="page-title">404 Page Not Found</h1>
<p>Nothing lives at this address: the group, project, user or release it names does not exist (or the address is mistyped).</p>
<p><a href="/">Go to the start page</a></p>
<div id="app"></div>`,
  );
}
