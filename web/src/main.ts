/**
 * The client of the web pages (bundled by scripts/build-web.mjs into /-/ui/app.js). The Worker
 * renders each page's shell and names the page in `<body data-page>`; this script fills #app
 * with DOM APIs and textContent only (never innerHTML with data), reading and writing through
 * the public REST v4 and GraphQL APIs with the token kept in sessionStorage.
 */
import { loadUser, renderAccount } from './account';
import { byId } from './dom';
import { route } from './router';

function boot(): void {
  const page = document.body.getAttribute('data-page') || '';
  const app = byId('app');
  renderAccount(page);
  void loadUser(page).then(() => route(app, page, document.body.dataset));
}

boot();
